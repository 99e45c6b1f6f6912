package bemcom

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// TestPyJSON: REST values are encoded as Python's json.dumps encodes them.
func TestPyJSON(t *testing.T) {
	for v, want := range map[any]string{24.0: "24.0", 22.5: "22.5", -3.0: "-3.0", 0.0: "0.0", 1e16: "1e+16", 1.5e-05: "1.5e-05",
		123456.789: "123456.789", "abc": `"abc"`, true: "true", nil: "null"} {
		if got := pyJSON(v); got != want {
			t.Errorf("pyJSON(%#v) = %s, want %s", v, got, want)
		}
	}
}

func TestParseInterval(t *testing.T) {
	for s, want := range map[string]time.Duration{"15 minutes": 15 * time.Minute, "1 hour": time.Hour, "30 seconds": 30 * time.Second,
		"2 days": 48 * time.Hour, "1 week": 7 * 24 * time.Hour, "15m": 15 * time.Minute} {
		if got, err := parseInterval(s); err != nil || got != want {
			t.Errorf("parseInterval(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "fifteen minutes", "15 fortnights", "-1 hour", "0 minutes"} {
		if _, err := parseInterval(s); err == nil {
			t.Errorf("parseInterval(%q) accepted", s)
		}
	}
}

func TestSlugAndFormats(t *testing.T) {
	for in, want := range map[string]string{"read_holding_registers__1__19000": "read_holding_registers__1__19000",
		"2/3/111": "2_3_111", "station__report 2__State": "station__report_2__state", "_x": "x_x", "Demo-Connector": "demo-connector"} {
		if got := slug(in); got != want || !model.ValidID(got) {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
	for ex, want := range map[any]model.Format{"22": model.GenericNumeric, 1.5: model.GenericNumeric, true: model.Bool, "on": model.GenericText} {
		if got := formatOf(ex); got != want {
			t.Errorf("formatOf(%#v) = %s, want %s", ex, got, want)
		}
	}
	if coerce("21.5", model.GenericNumeric) != 21.5 || coerce("x", model.GenericNumeric) != "x" || coerce("21", model.GenericText) != "21" {
		t.Error("coerce")
	}
}

// TestIDsStable: ids survive a reopen and are never reused.
func TestIDsStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids.json")
	a, err := openIDs(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"room/temperature", "room/setpoint", "pv/power"} {
		if id, err := a.id(k); err != nil || id != i+1 {
			t.Fatalf("id(%s) = %d, %v; want %d", k, id, err, i+1)
		}
	}
	b, err := openIDs(path)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := b.id("room/setpoint"); id != 2 {
		t.Errorf("room/setpoint after reopen: id %d, want 2", id)
	}
	if id, _ := b.id("new/one"); id != 4 {
		t.Errorf("a new datapoint after reopen: id %d, want 4", id)
	}
	if k, ok := b.lookup(3); !ok || k != "pv/power" {
		t.Errorf("lookup(3) = %q, %v", k, ok)
	}
	if err := writeFile(path, `{"a/b": 0}`); err != nil {
		t.Fatal(err)
	}
	if _, err := openIDs(path); err == nil || !strings.Contains(err.Error(), "not positive") {
		t.Errorf("a zero id was accepted: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Roles: []string{"api"}, Devices: []string{"room"}, Connectors: []string{"modbus-tcp"}, Controller: "ctl", Heartbeat: config.Duration(time.Second)}
	if errs := good.Validate(); len(errs) != 0 {
		t.Errorf("good config: %v", errs)
	}
	bad := Config{Roles: []string{"broker"}, Devices: []string{"Room"}, Connectors: []string{"a/b"}, Controller: "#", Heartbeat: config.Duration(time.Millisecond)}
	paths := map[string]bool{}
	for _, e := range bad.Validate() {
		paths[e.Path] = true
	}
	for _, p := range []string{"roles[0]", "devices[0]", "connectors[0]", "controller", "heartbeat"} {
		if !paths[p] {
			t.Errorf("no error at %s: %v", p, paths)
		}
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
