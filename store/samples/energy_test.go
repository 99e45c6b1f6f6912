package samples

import (
	"errors"
	"testing"

	"github.com/gridbox/gridbox/model"
)

// TestEnergySplitsAtBoundary: a line crossing a bucket boundary is split
// where it crosses, hand-computed: 0 W at 0:59:30 rising to 120 W at
// 1:00:30 crosses 1:00 at 60 W, so 30 s·30 W = 0.25 Wh before and
// 30 s·90 W = 0.75 Wh after; a constant 1 kW over the next hour is 1 kWh,
// and an hour without values that a line crosses has its share.
func TestEnergySplitsAtBoundary(t *testing.T) {
	const h = int64(3_600_000)
	pts := []Point{{h - 30_000, 0}, {h + 30_000, 120}, {2 * h, 1000}, {3 * h, 1000}, {5 * h, 0}}
	bl := BucketList{IV: h}
	for _, p := range pts {
		bl.Add(p.T, Single(p.T, p.V))
	}
	spans := bl.Out
	got := Energy(spans, nil, nil, 0, 6*h, h, 1, 100)
	// 1h bucket: 0.75 Wh + line 120→1000 W over 59.5 min = 59.5/60·560 Wh;
	// 1000→0 W over 3h..5h: 750 Wh, 250 Wh; the bucket of the last value: 0
	want := []float64{0.25, 0.75 + 59.5/60*560, 1000, 750, 250, 0}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v Wh", got, want)
	}
	for i, w := range want {
		if g := got[i].Value.(float64); got[i].Time != int64(i)*h || g < w-1e-9 || g > w+1e-9 {
			t.Errorf("bucket %d: got %v, want %v Wh at %d", i, got[i], w, int64(i)*h)
		}
	}
	// the range cut at 3:30 and 4:30, with the values around it outside
	cut := Energy(nil, &Point{3 * h, 1000}, &Point{5 * h, 0}, 3*h+h/2, 4*h+h/2-1, h, 1e3, 100)
	if len(cut) != 2 || cut[0].Value.(float64) != 0.5*(750+500)/2*1e3 || cut[1].Value.(float64) != 0.5*(500+250)/2*1e3 {
		t.Errorf("cut range in kW: got %v", cut)
	}
	if lim := Energy(spans, nil, nil, 0, 6*h, h, 1, 2); len(lim) != 2 || lim[1].Value.(float64) != got[1].Value.(float64) {
		t.Errorf("limit 2: got %v, want the first two of %v", lim, got)
	}
}

// TestEnergyScale: W, kW and MW convert to Wh; another unit is refused on
// agg; a datapoint the catalog does not know is taken as W.
func TestEnergyScale(t *testing.T) {
	units := map[string]string{"pv/p": "kW", "m/e": "kWh", "g/p": "W", "x/mw": "MW"}
	of := func(d, n string) (string, bool) { u, ok := units[d+"/"+n]; return u, ok }
	for key, want := range map[[2]string]float64{{"pv", "p"}: 1e3, {"g", "p"}: 1, {"x", "mw"}: 1e6, {"gone", "p"}: 1} {
		if got, err := EnergyScale(of, model.HistoryQuery{Device: key[0], Name: key[1]}); err != nil || got != want {
			t.Errorf("%v: got %v, %v, want %v", key, got, err, want)
		}
	}
	var qe *model.QueryError
	if _, err := EnergyScale(of, model.HistoryQuery{Device: "m", Name: "e"}); !errors.As(err, &qe) || qe.Field != "agg" {
		t.Errorf("kWh: got %v, want a QueryError on agg", err)
	}
}
