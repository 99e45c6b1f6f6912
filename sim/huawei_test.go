package sim

import (
	"errors"
	"strings"
	"testing"

	"github.com/simonvetter/modbus"
)

// TestHuaweiVariants: the probe registers tell what is attached, and the
// registers of a missing component do not exist.
func TestHuaweiVariants(t *testing.T) {
	for _, c := range []struct {
		name           string
		meter, battery bool
	}{
		{"huawei-sun2000", true, true},
		{"huawei-sun2000:pv", false, false},
		{"huawei-sun2000:meter", true, false},
		{"huawei-sun2000:battery", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startTest(t, c.name)
			cl := dial(t, s.Addr(), 1)
			status, err := cl.ReadRegister(hwMeterStatus, modbus.HOLDING_REGISTER)
			if err != nil || (status == 1) != c.meter {
				t.Fatalf("meter status = %d, %v; meter %v", status, err, c.meter)
			}
			model, err := cl.ReadRegister(hwBatModel, modbus.HOLDING_REGISTER)
			if err != nil || (model != 0) != c.battery {
				t.Fatalf("battery model = %d, %v; battery %v", model, err, c.battery)
			}
			_, err = cl.ReadRegisters(hwMeterPower, 2, modbus.HOLDING_REGISTER)
			if (err == nil) != c.meter || (err != nil && !errors.Is(err, modbus.ErrIllegalDataAddress)) {
				t.Fatalf("meter power: %v", err)
			}
			_, err = cl.ReadRegister(hwBatSoC, modbus.HOLDING_REGISTER)
			if (err == nil) != c.battery {
				t.Fatalf("battery soc: %v", err)
			}
		})
	}
	if _, err := start(t.Context(), "huawei-sun2000:ev", "127.0.0.1:0", 0, nil, 0); err == nil || !strings.Contains(err.Error(), "huawei-sun2000:pv") {
		t.Fatalf("unknown variant: %v", err)
	}
	if _, err := start(t.Context(), "sma-stp:pv", "127.0.0.1:0", 0, nil, 0); err == nil {
		t.Fatal("sma-stp:pv: no error")
	}
}

// TestMbpollReadsHuawei: an independent master reads the meter power with
// Huawei's sign (export positive) and the battery's state of charge.
func TestMbpollReadsHuawei(t *testing.T) {
	s := startTest(t, "huawei-sun2000")
	vals, out, err := mbpoll(t, s.Addr(), "-a", "1", "-r", "37114", "-t", "4:int", "-B")
	wantValues(t, "meter power (export positive)", vals, out, err, map[string]string{"37114": "1500"})
	vals, out, err = mbpoll(t, s.Addr(), "-a", "1", "-r", "37761", "-t", "4")
	wantValues(t, "battery SoC ×0.1 %", vals, out, err, map[string]string{"37761": "553"})
	vals, out, err = mbpoll(t, s.Addr(), "-a", "1", "-r", "32081", "-t", "4:int", "-B")
	wantValues(t, "AC power", vals, out, err, map[string]string{"32081": "5000"})
}

// TestHuaweiOneClient: a new connection closes the previous one, like the
// real inverter.
func TestHuaweiOneClient(t *testing.T) {
	s := startTest(t, "huawei-sun2000")
	first := dial(t, s.Addr(), 1)
	if _, err := first.ReadRegister(hwMeterStatus, modbus.HOLDING_REGISTER); err != nil {
		t.Fatal(err)
	}
	second := dial(t, s.Addr(), 1)
	if _, err := second.ReadRegister(hwMeterStatus, modbus.HOLDING_REGISTER); err != nil {
		t.Fatal(err)
	}
	if _, err := first.ReadRegister(hwMeterStatus, modbus.HOLDING_REGISTER); err == nil {
		t.Fatal("the first client still reads after a second one connected")
	}
}

// TestHuaweiStrict: strict, a request sent right after the connect is
// ignored (the client times out); one sent after the quiet time is answered.
func TestHuaweiStrict(t *testing.T) {
	s := startTest(t, "huawei-sun2000:pv,strict")
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + s.Addr(), Timeout: 2 * hwQuiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadRegister(hwACPower+1, modbus.HOLDING_REGISTER); err == nil {
		t.Fatal("a request right after the connect was answered")
	}
	// The timeout closed nothing on the simulator's side: the connection is
	// past its quiet time now.
	if v, err := c.ReadRegister(hwACPower+1, modbus.HOLDING_REGISTER); err != nil || v != hwACWatts {
		t.Fatalf("after the quiet time: %d, %v", v, err)
	}
}
