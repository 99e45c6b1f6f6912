package devstat

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"NEQ0123456:1_SET_TEMPERATURE": "neq0123456_1_set_temperature",
		"Kitchen Sensor/temp":          "kitchen_sensor_temp",
		"Shelly-1":                     "shelly-1",
		"-_x":                          "x",
		"__a__b__":                     "a_b",
		"ü":                            "",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMalformedSharesOneVector(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMalformed(reg, "keba", "wb1"), NewMalformed(reg, "keba", "wb2")
	a.Add("json")
	a.Add("json")
	b.Add("type")
	if a.Total() != 2 || b.Total() != 1 {
		t.Fatalf("totals %d %d", a.Total(), b.Total())
	}
	want := `
# HELP gridbox_driver_malformed_total Malformed device answers (bad JSON/XML, truncated, wrong type, oversized), by driver, device and kind.
# TYPE gridbox_driver_malformed_total counter
gridbox_driver_malformed_total{device="wb1",driver="keba",kind="json"} 2
gridbox_driver_malformed_total{device="wb2",driver="keba",kind="type"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gridbox_driver_malformed_total"); err != nil {
		t.Error(err)
	}
}
