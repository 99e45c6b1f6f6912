package profile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/driver/modbus"
)

// loadStrict loads a built-in profile through the Modbus driver's own strict
// parser, so a key the driver does not know fails here too.
func loadStrict(t *testing.T, name string) *modbus.Profile {
	t.Helper()
	data, src, err := Builtin().Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	doc, err := modbus.ParseProfile(data, src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return doc
}

// modbusNames lists the built-in profiles of the Modbus driver (the others
// are checked against their drivers in driver_test.go).
func modbusNames(t *testing.T) []string {
	t.Helper()
	sums, err := Builtin().Summaries()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range sums {
		if s.Driver == "modbus" {
			out = append(out, s.Name)
		}
	}
	return out
}

// words is the number of registers a value of type typ occupies.
func words(typ string) int {
	switch typ {
	case "int32", "uint32", "float32":
		return 2
	case "int64", "uint64", "float64":
		return 4
	default:
		return 1
	}
}

func TestNamesAreUniqueSlugs(t *testing.T) {
	names := Builtin().Names()
	want := []string{"ambus-net", "cfos-mqtt-meter", "demo-room", "fronius-solar-api", "huawei-sun2000", "janitza-umg96rm", "keba-p30", "senertec-dachs", "sma-stp", "wallbox-sim"}
	if !slices.Equal(names, want) {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	slugRE := regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	for _, n := range names {
		if !slugRE.MatchString(n) {
			t.Errorf("profile name %q is not a slug", n)
		}
	}
}

func TestBuiltinProfilesParseStrictly(t *testing.T) {
	validTables := map[string]bool{"": true, "holding": true, "input": true}
	snakeRE := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, name := range modbusNames(t) {
		t.Run(name, func(t *testing.T) {
			doc := loadStrict(t, name)
			if doc.Name != name || doc.Driver != "modbus" || doc.Description == "" || doc.Sign == "" || doc.Unit == nil {
				t.Fatalf("header = name %q driver %q description %q sign %q unit %v; want all set, name %q, driver modbus",
					doc.Name, doc.Driver, doc.Description, doc.Sign, doc.Unit, name)
			}
			used := map[string]string{} // table/address -> datapoint
			seen := map[string]bool{}
			for _, r := range doc.Registers {
				if !snakeRE.MatchString(r.Name) || seen[r.Name] {
					t.Errorf("datapoint name %q is not snake_case or not unique", r.Name)
				}
				seen[r.Name] = true
				if !validTables[r.Table] {
					t.Errorf("%s: table %q", r.Name, r.Table)
				}
				for a := range words(r.Type) {
					key := fmt.Sprintf("%s/%d", r.Table, int(r.Address)+a)
					if other, ok := used[key]; ok {
						t.Errorf("%s overlaps %s at %s", r.Name, other, key)
					}
					used[key] = r.Name
				}
			}
		})
	}
}

func TestLoadFilePath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mine.yaml")
	content := []byte("name: mine\ndriver: modbus\n")
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	data, src, err := Builtin().Load(p)
	if err != nil || src != p || !bytes.Equal(data, content) {
		t.Fatalf("Load(%q) = %q, %q, %v; want the file content and its path", p, data, src, err)
	}
}

func TestLoadBuiltinSource(t *testing.T) {
	_, src, err := Builtin().Load("sma-stp")
	if err != nil || src != "builtin/sma-stp.yaml" {
		t.Fatalf("Load(sma-stp) source = %q, %v; want builtin/sma-stp.yaml", src, err)
	}
}

func TestLoadUnknownNamesBuiltins(t *testing.T) {
	for _, name := range []string{"no-such-profile", "", filepath.Join(t.TempDir(), "missing.yaml")} {
		_, _, err := Builtin().Load(name)
		if err == nil {
			t.Fatalf("Load(%q): no error", name)
		}
		msg := err.Error()
		if !strings.Contains(msg, name) || !strings.Contains(msg, "ambus-net, cfos-mqtt-meter, demo-room, fronius-solar-api, huawei-sun2000, janitza-umg96rm, keba-p30, senertec-dachs, sma-stp, wallbox-sim") {
			t.Errorf("Load(%q) error %q: want the name and the list of built-in profiles", name, msg)
		}
	}
}
