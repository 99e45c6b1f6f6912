package computed

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

func TestCompile(t *testing.T) {
	vals := map[string]float64{"grid/ac_power": 1000, "pv/ac_power": 3000, "battery/battery_power": 500, "cp-001/ac_power": 7000}
	for _, tt := range []struct {
		src  string
		want float64
		refs string
	}{
		{"grid/ac_power + pv/ac_power - battery/battery_power", 3500, "battery/battery_power grid/ac_power pv/ac_power"},
		{"grid/ac_power+pv/ac_power-battery/battery_power", 3500, "battery/battery_power grid/ac_power pv/ac_power"},
		{`dp("cp-001/ac_power") / 1000`, 7, "cp-001/ac_power"},
		{`max(grid/ac_power, 0) + (pv/ac_power > 2000 ? 1 : 0)`, 1001, "grid/ac_power pv/ac_power"},
		{`len("pv/ac_power") + grid/ac_power`, 1011, "grid/ac_power"}, // a string is not a reference
	} {
		e, err := Compile(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		got, err := e.Eval(vals)
		if err != nil || got != tt.want || strings.Join(e.Refs(), " ") != tt.refs {
			t.Errorf("%s = %v, %v, refs %v; want %v, refs %s", tt.src, got, err, e.Refs(), tt.want, tt.refs)
		}
	}
}

// TestConfigErrors: an expression error is a config error at
// computed[i].expr with line and column in the expression as written.
func TestConfigErrors(t *testing.T) {
	c := &Config{Items: []Item{
		{Name: "home/power", Expr: "grid/ac_power + pv/ac_power"},
		{Name: "home/bad", Expr: "grid/ac_power + * 2"},
		{Name: "home/dash", Expr: "pv/ac_power + cp-001/ac_power"},
		{Name: "home/text", Expr: "grid/ac_power > 0"},
		{Name: "home/multi", Expr: "grid/ac_power +\n  foo"},
		{Name: "Home", Expr: "grid/x"},
		{Name: "home/power", Expr: "1 + 2"},
		{Name: "home/quote", Expr: "dp(grid)"},
	}}
	want := []string{
		"items[1].expr: line 1, column 17: unexpected token Operator(\"*\")",
		"items[2].expr: line 1, column 15: unknown name cp",
		"items[3].expr: the result must be a number",
		"items[4].expr: line 2, column 3: unknown name foo",
		"items[5].name: \"Home\": want <device>/<name>",
		"items[6].name: home/power is computed twice (also items[0])",
		"items[6].expr: reads no datapoint",
		"items[7].expr: line 1, column 1: dp takes one datapoint in quotes",
	}
	errs := c.Validate()
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(errs), len(want), config.Errors(errs))
	}
	for i, e := range errs {
		if got := e.Path + ": " + e.Msg; !strings.HasPrefix(got, want[i]) {
			t.Errorf("error %d:\n got %s\nwant %s…", i, got, want[i])
		}
	}
}

func TestCycle(t *testing.T) {
	c := &Config{Items: []Item{
		{Name: "home/a", Expr: "grid/p + home/b"},
		{Name: "home/b", Expr: "home/c * 2"},
		{Name: "home/c", Expr: "home/b + 1"},
	}}
	errs := c.Validate()
	if len(errs) != 1 || errs[0].Path != "items[1].expr" || errs[0].Msg != "reads itself: home/b → home/c → home/b" {
		t.Fatalf("errors %v", config.Errors(errs))
	}
}

// TestComputer: values follow the inputs; a stale input makes the result
// stale, a null input makes it bad; a computed datapoint may read another;
// a computed device id that is a configured device is refused.
func TestComputer(t *testing.T) {
	b := bus.New()
	sensor := model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W"}
	for _, d := range []string{"grid", "pv"} {
		if err := b.AddDevice(model.DeviceState{Device: d}, []model.Datapoint{{Name: "ac_power", Meta: sensor}}, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &Config{Items: []Item{
		{Name: "home/power", Expr: "grid/ac_power + pv/ac_power", Unit: "W", Role: "consumption_power"},
		{Name: "home/kw", Expr: "home/power / 1000", Unit: "kW"},
	}}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(config.Errors(errs))
	}
	c, err := New(b, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _, ok := b.Datapoint("home", "power"); !ok || p.Unit != "W" || p.Role != "consumption_power" || p.Kind != model.Sensor {
		t.Fatalf("home/power in the catalog: %+v %v", p, ok)
	}
	sub := b.Subscribe("computed", bus.Options{States: true, Events: true})
	watch := b.Subscribe("test", bus.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx, sub) }()
	defer func() { cancel(); <-done }()

	b.Publish(model.Value{Device: "grid", Name: "ac_power", Value: 1000.0, Time: 10, Quality: model.Good},
		model.Value{Device: "pv", Name: "ac_power", Value: 2500.0, Time: 20, Quality: model.Good})
	next := func(name string, value any, q model.Quality) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case v := <-watch.Values:
				if v.Device == "home" && v.Name == name && v.Value == value && v.Quality == q {
					return
				}
			case <-deadline:
				t.Fatalf("no home/%s %v %s", name, value, q)
			}
		}
	}
	next("power", 3500.0, model.Good)
	next("kw", 3.5, model.Good)
	b.MarkStale("pv", 30)
	next("power", 3500.0, model.Stale)
	next("kw", 3.5, model.Stale)
	b.Publish(model.Value{Device: "grid", Name: "ac_power", Value: nil, Time: 40, Quality: model.Good})
	next("power", nil, model.Bad)

	if _, err := New(b, &Config{Items: []Item{{Name: "grid/x", Expr: "pv/ac_power"}}}, nil); err == nil || !strings.Contains(err.Error(), "configured device") {
		t.Fatalf("computed on a configured device: %v", err)
	}
}

// TestSampleAndDocs: sample.yaml and the examples of the README and
// docs/computed.md are valid sections.
func TestSampleAndDocs(t *testing.T) {
	for _, f := range []string{"sample.yaml", "README.md", "../docs/computed.md"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		if _, rest, ok := strings.Cut(src, "```yaml\n"); ok {
			src, _, _ = strings.Cut(rest, "```")
		}
		var doc struct {
			Computed []Item `yaml:"computed"`
		}
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil || len(doc.Computed) == 0 {
			t.Fatalf("%s: %v (%d items)", f, err, len(doc.Computed))
		}
		c := &Config{Items: doc.Computed}
		if errs := c.Validate(); len(errs) > 0 {
			t.Errorf("%s: %v", f, config.Errors(errs))
		}
	}
}
