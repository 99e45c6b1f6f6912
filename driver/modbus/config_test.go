package modbus

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/profile"
	"gopkg.in/yaml.v3"
)

func decodeConfig(t *testing.T, src string) (*Config, []config.FieldError) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	c := NewConfig()
	if errs := config.Decode(doc.Content[0], c, ""); len(errs) > 0 {
		return c, errs
	}
	return c, c.Validate()
}

func TestConfigDefaults(t *testing.T) {
	c, errs := decodeConfig(t, `{id: m, driver: modbus, url: "tcp://127.0.0.1:502", registers: [{name: p, address: 1, type: int16}]}`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.Interval.D() != 5*time.Second || c.Timeout.D() != time.Second || c.Retries != 2 ||
		c.Backoff.D() != 500*time.Millisecond || c.MaxGap != 10 || c.MaxRegisters != 125 ||
		c.WriteGap() != time.Second || c.Pause != 0 || c.Disconnect || c.Unit != nil {
		t.Fatalf("defaults wrong: %+v", c)
	}
	if got := c.unitID(nil); got != 1 {
		t.Fatalf("unit without profile = %d, want 1", got)
	}
	five := 5
	if got := c.unitID(&Profile{Unit: &five}); got != 5 {
		t.Fatalf("unit from profile = %d, want 5", got)
	}
	zero := 0
	c.Unit = &zero
	if got := c.unitID(&Profile{Unit: &five}); got != 0 {
		t.Fatalf("explicit unit 0 = %d, want 0", got)
	}
}

func TestConfigBackoff(t *testing.T) {
	c := NewConfig()
	c.Interval = config.Duration(3 * time.Second)
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	for i, w := range want {
		if got := c.backoff(i); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i, got, w)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // "path: message part"
	}{
		{"ok profile only", `{url: "tcp://h:502", profile: sma-stp}`, nil},
		{"rtu accepted", `{url: "rtu:///dev/ttyUSB0?baud=9600&parity=E", profile: x}`, nil},
		{"rtuovertcp accepted", `{url: "rtuovertcp://10.0.0.2:4001", profile: x}`, nil},
		{"missing url and registers", `{}`, []string{"url: missing", "registers: no registers"}},
		{"bad scheme", `{url: "http://h:80", profile: x}`, []string{"url: ", "unsupported scheme"}},
		{"bad port", `{url: "tcp://h:99999", profile: x}`, []string{"url: ", "port"}},
		{"unit in url", `{url: "tcp://h:502?unit=3", profile: x}`, []string{"url: set the unit id"}},
		{"bad rtu query", `{url: "rtu:///dev/x?speed=9600", profile: x}`, []string{"url: ", "unknown query parameter"}},
		{"unit range", `{url: "tcp://h", unit: 248, profile: x}`, []string{"unit: 248 is out of 0..247"}},
		{"negative unit", `{url: "tcp://h", unit: -1, profile: x}`, []string{"unit: -1 is out of"}},
		{"timing", `{url: "tcp://h", profile: x, interval: 0s, timeout: 0s, retries: 11, max_gap: -1, max_registers: 126}`,
			[]string{"interval: 0s: must be positive", "timeout: 0s: must be positive", "retries: 11", "max_gap: -1", "max_registers: 126"}},
		{"negative durations", `{url: "tcp://h", profile: x, interval: -5s, timeout: -1ms, backoff: -1s, pause: -2ms, write_gap: -3s}`,
			[]string{"interval: -5s: must be positive", "timeout: -1ms: must be positive", "backoff: -1s: must not be negative",
				"pause: -2ms: must not be negative", "write_gap: -3s: must not be negative"}},
		{"zero where zero means none", `{url: "tcp://h", profile: x, backoff: 0s, pause: 0s, write_gap: 0s}`, nil},
		{"register problems", `
url: tcp://h
registers:
  - {name: ok, address: 1, type: int16}
  - {name: Bad Name, address: 2, type: int16}
  - {name: t, table: flash, address: 3, type: int16}
  - {name: u, address: 4, type: int24}
  - {name: o, address: 5, type: int32, order: XYZW}
  - {name: ok, address: 6, type: int16}
  - {name: b, address: 7, type: int32, bit: 3}
  - {name: w, table: input, address: 8, type: int16, kind: actuator}
  - {name: m, address: 9, type: int16, min: 5, max: 1}
  - {name: s, address: 10, type: string}
  - {name: c, table: coil, address: 11, type: uint16}
  - {name: k, address: 12, type: int16, map: {zz: 1}}
  - {name: f, address: 13, type: int16, format: fancy}
  - {name: x, address: 65535, type: int32}
  - {name: d, table: discrete, address: 1, kind: actuator}
  - {name: bit16, address: 14, type: uint16, bit: 16}
  - {name: mk, address: 15, type: float32, mask: 3}
  - {name: st, address: 16, type: string, length: 2, order: CDAB}
  - {name: tx, address: 17, type: uint16, format: discrete_text}
  - {name: ty, address: 18}
`, []string{
			"registers[1].name: \"Bad Name\" is not a valid name",
			"registers[2].table: unknown table \"flash\"",
			"registers[3].type: unknown type \"int24\"",
			"registers[4].order: unknown order \"XYZW\"",
			"registers[5].name: duplicate name \"ok\"",
			"registers[6].bit: bit needs a 16-bit integer or bool type, not int32",
			"registers[7].kind: input table is read-only",
			"registers[8].min: min 5 is above max 1",
			"registers[9].length: a string needs length 1..125",
			"registers[10].type: coil table holds bits",
			"registers[11].map.zz: key \"zz\" is not a decimal",
			"registers[12].format: unknown format \"fancy\"",
			"registers[13].address: 65535 + 2 registers runs past 65535",
			"registers[14].kind: discrete table is read-only",
			"registers[15].bit: bit 16 is out of 0..15",
			"registers[16].mask: mask/shift need an integer type",
			"registers[17].order: order CDAB is not supported for strings",
			"registers[18].format: format discrete_text needs a map with text values",
			"registers[19].type: missing",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := decodeConfig(t, tc.yaml)
			got := make([]string, len(errs))
			for i, e := range errs {
				got[i] = e.Path + ": " + e.Msg
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
					t.Errorf("missing error %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(tc.want) && !(len(tc.want) > 0 && tc.want[0] == "url: ") {
				t.Errorf("got %d errors, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
		})
	}
}

func TestConfigUnknownKey(t *testing.T) {
	_, errs := decodeConfig(t, "url: tcp://h\nprofile: x\nintervall: 5s\n")
	if len(errs) != 1 || errs[0].Path != "intervall" || errs[0].Line != 3 {
		t.Fatalf("errs = %v, want one for intervall on line 3", errs)
	}
}

func TestMergeRegisters(t *testing.T) {
	prof := []Register{{Name: "a", Address: 1}, {Name: "b", Address: 2}}
	inline := []Register{{Name: "b", Address: 20}, {Name: "c", Address: 3}}
	got := mergeRegisters(prof, inline)
	want := []Register{{Name: "a", Address: 1}, {Name: "b", Address: 20}, {Name: "c", Address: 3}}
	if len(got) != len(want) {
		t.Fatalf("merged %v", got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Address != want[i].Address {
			t.Fatalf("merged[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestWriteMultipleOnlyForActuators(t *testing.T) {
	c := testConfig("d", "tcp://127.0.0.1:502", 1, []Register{{Name: "t", Address: 1, Type: "uint16", WriteMultiple: true}})
	errs := c.Validate()
	if len(errs) != 1 || errs[0].Path != "registers[0].write_multiple" {
		t.Fatalf("errors %v", errs)
	}
}

// TestConfigProfileErrors: a profile that cannot be loaded or parsed is
// reported under the key "profile", naming the profile once (its source says
// which profile) or the profile file's own line and key.
func TestConfigProfileErrors(t *testing.T) {
	src := mapSource{"demo-room": demoRoomProfile, "broken": "name: broken\ndriver: modbus\nregisters:\n  - {name: a, address: 1, type: int99}\n"}
	cases := []struct {
		profile string
		src     driver.ProfileSource
		want    string // "path: message"
	}{
		{"demo-room", src, ""},
		{"", nil, ""},
		{"missing", src, `profile: unknown profile "missing"`},
		{"missing", profile.Builtin(), `profile: profile "missing": no built-in profile and no file of that name`},
		{"broken", src, `profile: broken.yaml:4: registers[0].type: unknown type "int99"`},
		{"demo-room", nil, `profile: profile "demo-room": no profile source`},
	}
	for _, c := range cases {
		cfg := NewConfig()
		cfg.Profile = c.profile
		errs := cfg.CheckProfile(c.src)
		var got string
		if len(errs) > 1 {
			t.Errorf("%s: %d errors, want at most one: %v", c.profile, len(errs), config.Errors(errs))
		}
		if len(errs) > 0 {
			got = errs[0].Path + ": " + errs[0].Msg
		}
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("%s: got %q, want %q", c.profile, got, c.want)
		}
		if strings.Count(got, `"`+c.profile+`"`) > 1 {
			t.Errorf("%s: profile named twice: %q", c.profile, got)
		}
	}
}
