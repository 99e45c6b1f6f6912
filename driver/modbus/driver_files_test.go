package modbus

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
	"github.com/gridbox/gridbox/model"
)

// fileSource is a driver.ProfileSource over files on disk.
type fileSource struct{}

func (fileSource) Load(name string) ([]byte, string, error) {
	b, err := os.ReadFile(name)
	return b, name, err
}

// regImage is what the test server serves: unit → table → address → value.
type regImage map[uint8]map[string]map[uint16]any

func (im regImage) put(unit uint8, table string, addr uint16, vals ...uint16) {
	if im[unit] == nil {
		im[unit] = map[string]map[uint16]any{}
	}
	if im[unit][table] == nil {
		im[unit][table] = map[uint16]any{}
	}
	for i, v := range vals {
		im[unit][table][addr+uint16(i)] = v
	}
}

func (im regImage) putBits(unit uint8, addr uint16, bits ...bool) {
	im.put(unit, "coil", 0)
	delete(im[unit]["coil"], 0)
	for i, b := range bits {
		im[unit]["coil"][addr+uint16(i)] = b
	}
}

// serve loads the image into a modbustest server.
func (im regImage) serve(s *modbustest.Server) {
	tables := map[string]modbustest.Table{"holding": modbustest.Holding, "input": modbustest.Input}
	for unit, ts := range im {
		img := s.Unit(unit)
		for name, regs := range ts {
			for addr, v := range regs {
				if b, ok := v.(bool); ok {
					img.SetBits(modbustest.Coil, addr, b)
				} else {
					img.Set(tables[name], addr, v.(uint16))
				}
			}
		}
	}
}

// words splits a 32- or 64-bit pattern into registers, high word first.
func words(u uint64, n int) []uint16 {
	out := make([]uint16, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = uint16(u)
		u >>= 16
	}
	return out
}

func reversed(r []uint16) []uint16 {
	out := make([]uint16, len(r))
	for i, v := range r {
		out[len(r)-1-i] = v
	}
	return out
}

// reference runs the independent Python decoder (testdata/driverfiles/reference.py).
func reference(t *testing.T, kind, file string, im regImage, unit uint8) map[string]any {
	t.Helper()
	py := requireTool(t, "python3")
	js := map[string]map[string]map[string]any{}
	for u, ts := range im {
		us := strconv.Itoa(int(u))
		js[us] = map[string]map[string]any{}
		for name, regs := range ts {
			js[us][name] = map[string]any{}
			for a, v := range regs {
				js[us][name][strconv.Itoa(int(a))] = v
			}
		}
	}
	imgFile := filepath.Join(t.TempDir(), "image.json")
	b, _ := json.Marshal(js)
	if err := os.WriteFile(imgFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/driverfiles/reference.py", kind, file, imgFile, strconv.Itoa(int(unit))).Output()
	if err != nil {
		t.Fatalf("reference.py: %v", err)
	}
	var want map[string]any
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("reference.py output %s: %v", out, err)
	}
	return want
}

// pollFile runs a device with profile file against the image through the
// real driver and returns its values after the first complete poll.
func pollFile(t *testing.T, file string, im regImage, unit int) (*Device, map[string]any) {
	t.Helper()
	srv := startServer(t)
	im.serve(srv)
	cfg := testConfig("dev", srv.URL(), unit, nil)
	cfg.Profile = file
	drv := New()
	t.Cleanup(func() { _ = drv.Close() })
	dev := newTestDevice(t, drv, cfg, driver.Env{Profiles: fileSource{}})
	sink := newSink()
	runDevice(t, dev, sink)
	waitFor(t, "a poll", func() bool { return sink.state().Online })
	got := map[string]any{}
	for _, p := range dev.Datapoints() {
		v, ok := sink.value(p.Name)
		if !ok || v.Quality != model.Good {
			t.Fatalf("%s: %+v (state %+v)", p.Name, v, sink.state())
		}
		got[p.Name] = v.Value
	}
	return dev, got
}

// compare checks got against the reference: the same names, numbers equal
// to float32 precision (the driver reads float32 as its shortest decimal).
func compare(t *testing.T, got, want map[string]any) {
	t.Helper()
	names := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	if g, w := names(got), names(want); !equalStrings(g, w) {
		t.Fatalf("datapoints %v, reference %v", g, w)
	}
	for name, w := range want {
		g := got[name]
		wf, wnum := w.(float64)
		gf, gnum := g.(float64)
		switch {
		case wnum && gnum:
			if math.Abs(gf-wf) > 1e-6*math.Max(1, math.Abs(wf)) {
				t.Errorf("%s = %v, reference %v", name, g, w)
			}
		case g != w:
			t.Errorf("%s = %#v, reference %#v", name, g, w)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDataloggerDriverFile: a datalogger JSON driver with bit fields (lsb
// and msb), lsr floats and doubles, value maps (to null and to a number),
// multiplier/offset and typecasts decodes, polled through the real driver,
// to what the independent Python decoder computes from the same registers.
func TestDataloggerDriverFile(t *testing.T) {
	im := regImage{}
	im.put(1, "holding", 100, words(uint64(math.Float32bits(1234.5)), 2)...)
	im.put(1, "holding", 102, reversed(words(math.Float64bits(8106606.25), 4))...)
	im.put(1, "holding", 106, reversed(words(uint64(math.Float32bits(2305.5)), 2))...)
	im.put(1, "holding", 108, 0xFF85)                        // int16 -123
	im.put(1, "holding", 110, words(123456789, 2)...)        // uint32
	im.put(1, "holding", 112, 0xFFFF, 0xFFFF)                // not available
	im.put(1, "holding", 114, 0x0000, 0x0001)                // mapped to 42
	im.put(1, "holding", 116, 0xACB6, 0x8000)                // bit fields
	im.put(1, "input", 118, words(uint64(0xFFFFFFF9), 2)...) // int32 -7
	im.put(1, "holding", 120, 1234, 7, 5)
	im.put(1, "holding", 200, 0b0100) // relay fault (bit 2) set, fan fault (bit 3) not
	file := "testdata/driverfiles/datalogger.json"
	want := reference(t, "datalogger", file, im, 1)
	_, got := pollFile(t, file, im, 1)
	compare(t, got, want)
	if got["yield_na"] != nil || got["grid_code"] != 42.0 || got["relay_fault"] != 3.0 || got["p_total"] != 1234.5 {
		t.Fatalf("spot checks: %v", got)
	}
}

// TestModbusConfigFile: a MODBUS_CONFIG with big- and little-endian struct
// formats, scaling factors, an input block, coils, a block with its own
// unit (winning over the device's) and a write block decodes to what the
// Python struct module computes; the write block is an actuator.
func TestModbusConfigFile(t *testing.T) {
	im := regImage{}
	f32 := func(x float32) []uint16 { return words(uint64(math.Float32bits(x)), 2) }
	im.put(1, "holding", 19000, append(append(f32(230.1), f32(2301.5)...), f32(-12.75)...)...)
	// "<hHf" at 300: each value's bytes little-endian.
	im.put(3, "holding", 300, 0x3930, 0x0200, 0x0000, 0x4048) // 12345, 2, float32 of bytes 00 00 40 48
	im.put(2, "holding", 400, 0xFFFE, 0xFFFF, 0x0000, 0x0065, 0x3C00)
	im.put(3, "input", 500, words(4000000000, 2)...)
	im.put(3, "input", 502, words(math.Float64bits(-0.5), 4)...)
	im.putBits(3, 10, true, false, true)
	im.put(1, "holding", 600, 21)
	file := "testdata/driverfiles/modbus_config.json"
	want := reference(t, "modbus_config", file, im, 3)
	dev, got := pollFile(t, file, im, 3)
	compare(t, got, want)
	if _, ok := got["read_holding_registers__2__402"]; !ok {
		t.Fatalf("the block unit should name the datapoint: %v", got)
	}
	back, err := dev.Write(context.Background(), "write_register__1__600", 22.0)
	if err != nil || back != 22.0 {
		t.Fatalf("write = %v, %v", back, err)
	}
}

// TestReadOnceModbusConfig: gridbox read of a MODBUS_CONFIG names its
// values with the unit read from (--unit), a block's own unit winning.
func TestReadOnceModbusConfig(t *testing.T) {
	srv := startServer(t)
	srv.Unit(5).Set(modbustest.Holding, 7, 0xFFFE)
	srv.Unit(2).Set(modbustest.Holding, 9, 3)
	src := mapSource{"mc": `{"read_holding_registers": [{"address": 7, "count": 1, "datatypes": ">h"},
		{"address": 9, "count": 1, "unit": 2, "datatypes": ">H", "scaling_factors": {"9": 0.5}}]}`}
	got := readAll(t, context.Background(), driver.ReadRequest{URL: srv.URL(), Unit: intp(5), Profile: "mc", Profiles: src})
	var lines []string
	for _, r := range got {
		lines = append(lines, show(r))
	}
	want := []string{
		"read_holding_registers__5__7|[7] 0xFFFE|-2|",
		"read_holding_registers__2__9|[9] 0x0003|1.5|",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("got  %q\nwant %q", lines, want)
	}
}
