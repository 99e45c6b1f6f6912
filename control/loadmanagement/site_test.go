package loadmanagement

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
)

// TestRandomLoadSteps (acceptance): a simulated site — grid meter, three
// wallbox simulators, one of them switching phases — under 1000 random
// load steps on simulated time. After every cycle (the wallboxes having
// followed) no phase exceeds the limit unless the other load alone does
// (then every charger on it draws nothing), so an overload lasts at most the
// one cycle in which the load stepped; no charger is ever set between 0 and
// its minimum; a stale meter holds every charger at its minimum or 0.
func TestRandomLoadSteps(t *testing.T) {
	const siteMax = 50.0
	s := newSite(t, 3, func(c *Config) {
		c.SiteMaxCurrent = siteMax
		c.Chargers = []Charger{{Device: "wb1", Priority: 1}, {Device: "wb2"}, {Device: "wb3", SwitchPhases: "wb3/phases", MaxCurrent: 20}}
		c.MinSwitchInterval = config.Duration(10 * time.Second)
		c.RaiseDelay = config.Duration(2 * time.Second)
	})
	rng := rand.New(rand.NewPCG(42, 1))
	prc, overloads, staleCycles, switches, busy := 100.0, 0, 0, 0, 0
	start := time.Now()
	for step := range 1000 {
		s.mutate(rng, &prc)
		phasesBefore := s.boxes[2].Phases()
		writes := s.cycle()
		if s.boxes[2].Phases() != phasesBefore {
			switches++
		}
		for _, w := range writes {
			checkWrite(t, step, w)
		}
		if s.stale {
			staleCycles++
			for i, w := range s.boxes {
				if a := w.MaxCurrent(); w.Enabled() && a != 6 && a != 0 {
					t.Fatalf("step %d: meter stale but %s allows %v A", step, s.ids[i], a)
				}
			}
			continue
		}
		limit := siteMax * prc / 100
		cur := s.currents()
		charging := 0
		for _, w := range s.boxes {
			if w.Power() > 0 {
				charging++
			}
		}
		if charging >= 2 {
			busy++
		}
		for p := range 3 {
			if cur[p] <= limit+1e-9 {
				continue
			}
			if s.base[p] <= limit {
				t.Fatalf("step %d: phase L%d at %.2f A > limit %.2f A after the cycle (other load %.2f A; writes %v; %v)", step, p+1, cur[p], limit, s.base[p], writes, s.reasons())
			}
			if cur[p] != s.base[p] {
				t.Fatalf("step %d: other load alone over the limit on L%d, yet the chargers draw %.2f A", step, p+1, cur[p]-s.base[p])
			}
			overloads++
		}
	}
	t.Logf("1000 steps in %v: %d cycles with two or more chargers charging, %d stale cycles, %d phase switches, %d phase-cycles where the other load alone exceeded the limit",
		time.Since(start), busy, staleCycles, switches, overloads)
	if staleCycles == 0 || switches == 0 || busy < 300 {
		t.Fatalf("the random run did not exercise stale meters (%d), phase switches (%d) and shared charging (%d)", staleCycles, switches, busy)
	}
}

// mutate makes one random change of the site: a load step (often large),
// noise, vehicles plugged or unplugged, the percentage input, or the meter
// going stale for a few cycles.
func (s *site) mutate(rng *rand.Rand, prc *float64) {
	switch r := rng.IntN(100); {
	case r < 30:
		for p := range 3 {
			s.base[p] = float64(rng.IntN(350)) / 10
		}
	case r < 35:
		s.boxes[rng.IntN(3)].SetVehicle([]float64{0, 10, 16, 32}[rng.IntN(4)])
	case r < 38:
		*prc = []float64{100, 90, 80, 70}[rng.IntN(4)]
		s.input("max_total_cur_prc", *prc)
	case r < 40:
		s.stale = true
	default:
		for p := range 3 {
			s.base[p] = max(0, s.base[p]+float64(rng.IntN(21)-10)/10)
		}
	}
	if s.stale && rng.IntN(3) == 0 {
		s.stale = false
	}
}

// checkWrite fails on a max_current write between 0 and the 6 A minimum.
func checkWrite(t *testing.T, step int, w string) {
	t.Helper()
	key, val, _ := strings.Cut(w, "=")
	if !strings.HasSuffix(key, "/max_current") {
		return
	}
	a, err := strconv.ParseFloat(val, 64)
	if err != nil || (a > 0 && a < 6) || a != float64(int(a)) {
		t.Fatal(fmt.Sprintf("step %d: %s: want 0 or a whole number of amps ≥ 6", step, w))
	}
}
