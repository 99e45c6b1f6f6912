package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// hermeticEnv unsets every GRIDBOX_* override, so that the environment of
// the test run cannot change what check reports.
func hermeticEnv(t *testing.T) {
	for _, o := range config.EnvOverrides() {
		if _, ok := os.LookupEnv(o.Var); ok {
			t.Setenv(o.Var, "") // restores the value after the test
			os.Unsetenv(o.Var)
		}
	}
}

// checkGolden runs `gridbox check -c cfg` and compares its stderr with the
// golden file; -update rewrites the golden file instead.
func checkGolden(t *testing.T, cfg, golden string) string {
	t.Helper()
	hermeticEnv(t)
	code, out, errs := runCmd("check", "-c", cfg)
	if code != exitUsage || out != "" {
		t.Fatalf("exit %d, stdout %q; want exit 2 and nothing on stdout; stderr:\n%s", code, out, errs)
	}
	if *update {
		if err := os.WriteFile(golden, []byte(errs), 0o644); err != nil {
			t.Fatal(err)
		}
		return errs
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if errs != string(want) {
		t.Errorf("gridbox check -c %s printed:\n%s\nwant (%s):\n%s", cfg, errs, golden, want)
	}
	return errs
}

// errLineRE is the form of every error line: FILE:LINE: [key.path: ]message.
var errLineRE = regexp.MustCompile(`^testdata/[a-z_]+\.yaml:([1-9][0-9]*): ([a-z_]+(\[[0-9]+\])?(\.[a-z_]+(\[[0-9]+\])?)*: )?\S.*$`)

// TestCheckGoldenEveryKind: one config with mistakes of every kind, found by
// different phases of check (YAML keys and types, value validation, the
// driver's register checks, the profile), is reported in one run, every
// error with its own line and key path, sorted by line. A device whose other
// keys are wrong still has its profile checked (devices[1]), and a device
// with a bad id still has its driver settings checked (devices[0]).
func TestCheckGoldenEveryKind(t *testing.T) {
	got := checkGolden(t, "testdata/check_all.yaml", "testdata/check_all.golden")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if last := lines[len(lines)-1]; last != "gridbox: 9 config error(s)" {
		t.Errorf("last line %q, want the count of 9 errors", last)
	}
	prev := 0
	for _, l := range lines[:len(lines)-1] {
		m := errLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("not in the form FILE:LINE: key.path: message: %q", l)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if n < prev {
			t.Errorf("not sorted by line: %q after line %d", l, prev)
		}
		prev = n
	}
	if strings.Count(got, `profile "sma-stpp"`) != 1 {
		t.Errorf("the profile error must name the profile exactly once:\n%s", got)
	}
}

// TestCheckGoldenSyntaxError: a YAML syntax error on line 2 is reported at
// line 2 (yaml.v3 itself says "line 1" for this one) in the FILE:LINE: form.
func TestCheckGoldenSyntaxError(t *testing.T) {
	got := checkGolden(t, "testdata/check_syntax.yaml", "testdata/check_syntax.golden")
	if !strings.HasPrefix(got, "testdata/check_syntax.yaml:2: not valid YAML: ") {
		t.Errorf("want the error at line 2, got:\n%s", got)
	}
}

// TestCheckMissingDriverOnce: a device without driver is found by the config
// and by the device checks; check prints it once.
func TestCheckMissingDriverOnce(t *testing.T) {
	hermeticEnv(t)
	path := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(path, []byte("http: {auth: none}\ndevices:\n  - id: m\n    url: tcp://h:502\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd("check", "-c", path)
	if want := path + ":3: devices[0].driver: missing\ngridbox: 1 config error(s)\n"; code != exitUsage || errs != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, errs, want)
	}
}
