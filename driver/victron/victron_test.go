package victron_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/victron"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
)

const portal = "e0ff50a097c0"

var fullRE = regexp.MustCompile(`^R {"keepalive-options":\[{"full-publish-completed-echo":"gx-\d+"}\]}$`)

// initial is the scripted GX's state: "<path> <N payload>" lines.
const initial = `grid/30/Ac/Power {"value": 1234}
battery/512/Soc {"value": 55.5}
battery/512/Dc/0/Power {"value": -300}
battery/512/ProductName {"value": "SmartShunt"}
vebus/276/Mode {"value": 3}
hub4/0/AcPowerSetpoint {"value": 0, "min": -5000, "max": 5000}
system/0/Relay/0/State {"value": null}
`

// gx is the scripted GX (testdata/gx.sh) on a private Mosquitto.
type gx struct {
	addr, state, log string
}

func startGX(t *testing.T) *gx {
	t.Helper()
	for _, tool := range []string{"mosquitto_sub", "mosquitto_pub", "jq"} {
		testenv.Tool(t, tool)
	}
	g := &gx{addr: mqttcli.StartBroker(t, ""), state: filepath.Join(t.TempDir(), "state"), log: filepath.Join(t.TempDir(), "requests")}
	if err := os.WriteFile(g.state, []byte(initial), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(g.addr, ":")
	cmd := exec.Command("/bin/sh", "testdata/gx.sh", host, port, portal, g.state, g.log)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	return g
}

// requests are the lines the GX logged: "R <payload>" and "W <path> <payload>".
func (g *gx) requests() []string {
	b, _ := os.ReadFile(g.log)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (g *gx) pub(t *testing.T, path, payload string) {
	t.Helper()
	if err := mqttcli.Publish(t, g.addr, "N/"+portal+"/"+path, payload); err != nil {
		t.Fatal(err)
	}
}

func f(v float64) *float64 { return &v }

// run starts the driver for the GX on a bus, as the gateway does.
func run(t *testing.T, g *gx, c *victron.Config) *bus.Bus {
	t.Helper()
	b := bus.New()
	c.ID, c.Driver, c.Broker = "gx", "victron", "mqtt://"+g.addr
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	dev, err := victron.NewDevice(c, driver.Env{Log: slog.New(slog.DiscardHandler), Catalog: b})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddDevice(model.DeviceState{Device: "gx", Driver: "victron"}, dev.Datapoints(), dev.(bus.Writer), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = dev.Run(ctx, b) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return b
}

func last(b *bus.Bus, dev, name string) (model.Datapoint, model.Value, bool) {
	dp, v, has, ok := b.Datapoint(dev, name)
	return dp, v, has && ok
}

// TestGX: against a scripted GX, the driver learns the portal id, asks for
// a full publish with an echo token and then extends liveness without one;
// N paths become devices per service/instance; null is a bad value, zero
// bytes remove datapoints and devices; malformed messages are counted; W
// writes go out only within the actuator's limits.
func TestGX(t *testing.T) {
	g := startGX(t)
	c := victron.NewConfig()
	c.KeepAlive = 1e9
	c.Actuators = []victron.Actuator{{Path: "hub4/0/AcPowerSetpoint", Name: "ess_setpoint",
		Meta: model.Meta{Unit: "W", Min: f(-5000), Max: f(5000)}}}
	b := run(t, g, c)

	testenv.Eventually(t, 30*time.Second, "the GX's paths as devices", func() bool {
		_, v, ok := last(b, "gx-battery-512", "soc")
		_, _, ok2 := last(b, "gx-hub4-0", "acpowersetpoint")
		_, _, ok3 := last(b, "gx-vebus-276", "mode")
		_, _, ok4 := last(b, "gx-battery-512", "productname")
		_, _, ok5 := last(b, "gx", "ess_setpoint")
		return ok && v.Value == 55.5 && ok2 && ok3 && ok4 && ok5
	})
	dp, v, _ := last(b, "gx-grid-30", "ac_power")
	if v.Value != 1234.0 || v.Quality != model.Good || dp.Role != "grid_power" || dp.Unit != "W" || dp.Kind != model.Sensor {
		t.Errorf("grid power: %+v %+v", dp, v)
	}
	if _, v, _ := last(b, "gx-battery-512", "productname"); v.Value != "SmartShunt" {
		t.Errorf("product name: %+v", v)
	}
	if _, v, _ := last(b, "gx-vebus-276", "mode"); v.Value != 3.0 {
		t.Errorf("vebus mode: %+v", v)
	}
	if _, _, ok := last(b, "gx-system-0", "relay_0_state"); ok {
		t.Error("a path that was only ever null became a datapoint")
	}
	if _, v, _ := last(b, "gx", "ess_setpoint"); v.Value != 0.0 {
		t.Errorf("actuator's value from its N path: %+v", v)
	}

	// keep-alives: the first asks for a full publish with an echo token; once
	// it completed, the next ones only extend liveness.
	testenv.Eventually(t, 30*time.Second, "a suppress-republish keep-alive", func() bool {
		r := g.requests()
		return len(r) >= 2 && r[len(r)-1] == `R {"keepalive-options":["suppress-republish"]}`
	})
	// (the first may be sent before the script subscribed: then the next one asks again)
	if r := g.requests(); !fullRE.MatchString(r[0]) {
		t.Errorf("first keep-alive: %q", r[0])
	}
	testenv.Eventually(t, 30*time.Second, "the GX's heartbeat", func() bool {
		_, v, ok := last(b, "gx", "heartbeat")
		return ok && v.Value.(float64) > 1e9
	})

	// null: not available; zero bytes: gone.
	g.pub(t, "battery/512/Soc", `{"value": null}`)
	testenv.Eventually(t, 20*time.Second, "null as a bad value", func() bool {
		_, v, ok := last(b, "gx-battery-512", "soc")
		return ok && v.Quality == model.Bad && v.Value == nil
	})
	g.pub(t, "battery/512/Dc/0/Power", "")
	testenv.Eventually(t, 20*time.Second, "the datapoint removed", func() bool {
		_, _, _, ok := b.Datapoint("gx-battery-512", "dc_0_power")
		return !ok
	})
	g.pub(t, "battery/512/Soc", "")
	g.pub(t, "battery/512/ProductName", "")
	testenv.Eventually(t, 20*time.Second, "the device removed", func() bool {
		_, ok := b.Device("gx-battery-512")
		return !ok
	})

	// malformed: counted and shown in the GX's state.
	g.pub(t, "grid/30/Ac/Power", `1234`)
	g.pub(t, "grid/30/Ac/Power", `{"val": 1}`)
	g.pub(t, "grid/30/Ac/Power", `{"value": "text"}`)
	testenv.Eventually(t, 20*time.Second, "malformed messages counted", func() bool {
		st, _ := b.Device("gx")
		return strings.Contains(st.Error, "malformed (type, 3 so far)")
	})
	if _, v, _ := last(b, "gx-grid-30", "ac_power"); v.Value != 1234.0 {
		t.Errorf("a malformed message changed the value: %+v", v)
	}

	// writes: within the limits a W goes out and the GX's N comes back.
	ctx := bus.WithSource(context.Background(), "test")
	if _, err := b.Write(ctx, "gx", "ess_setpoint", 9000.0); err == nil {
		t.Error("a write beyond max went through")
	}
	if _, err := b.Write(ctx, "gx", "ess_setpoint", -100.0); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the written value back from the GX", func() bool {
		_, v, ok := last(b, "gx-hub4-0", "acpowersetpoint")
		return ok && v.Value == -100.0
	})
	var writes []string
	for _, r := range g.requests() {
		if strings.HasPrefix(r, "W ") {
			writes = append(writes, r)
		}
	}
	if len(writes) != 1 || writes[0] != `W hub4/0/AcPowerSetpoint {"value":-100}` {
		t.Errorf("writes the GX got: %q", writes)
	}
}

func minMax(lo, hi float64) model.Meta { return model.Meta{Min: f(lo), Max: f(hi)} }
