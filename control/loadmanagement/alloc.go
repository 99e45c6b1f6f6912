package loadmanagement

import (
	"math"
	"sort"
)

// demand is one charger as the allocator sees it.
type demand struct {
	on       [3]bool // the phases it draws on
	min, max float64 // whole amps
	prio     float64 // higher first
}

// phaseCount is how many phases d draws on.
func (d demand) phaseCount() float64 {
	n := 0.0
	for _, on := range d.on {
		if on {
			n++
		}
	}
	return n
}

// fits reports whether a more amps fit on every phase of d and in budget
// (amps × phases; negative = no budget).
func (d demand) fits(a float64, avail [3]float64, budget float64) bool {
	for p, on := range d.on {
		if on && avail[p] < a {
			return false
		}
	}
	return budget < 0 || budget >= a*d.phaseCount()
}

// take subtracts a amps of d from avail and budget.
func (d demand) take(a float64, avail *[3]float64, budget *float64) {
	for p, on := range d.on {
		if on {
			avail[p] -= a
		}
	}
	if *budget >= 0 {
		*budget -= a * d.phaseCount()
	}
}

// allocate distributes avail (A per phase) and budget (amps × phases over
// all chargers; negative = none) among ds in whole amps. In priority order
// each charger first gets its minimum if that fits — else 0, never less
// than the minimum; then the rest goes equally (one amp at a time, round by
// round) or, with priority, to each charger up to its maximum in turn.
func allocate(ds []demand, avail [3]float64, budget float64, priority bool) []float64 {
	out := make([]float64, len(ds))
	order := make([]int, len(ds))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ds[order[a]].prio > ds[order[b]].prio })
	var granted []int
	for _, i := range order {
		d := ds[i]
		if d.max < d.min || d.min <= 0 || !d.fits(d.min, avail, budget) {
			continue
		}
		d.take(d.min, &avail, &budget)
		out[i] = d.min
		granted = append(granted, i)
	}
	if priority {
		for _, i := range granted {
			d := ds[i]
			extra := d.max - out[i]
			for p, on := range d.on {
				if on {
					extra = min(extra, math.Floor(avail[p]))
				}
			}
			if budget >= 0 {
				extra = min(extra, math.Floor(budget/d.phaseCount()))
			}
			if extra > 0 {
				d.take(extra, &avail, &budget)
				out[i] += extra
			}
		}
		return out
	}
	for more := true; more; {
		more = false
		for _, i := range granted {
			if d := ds[i]; out[i]+1 <= d.max && d.fits(1, avail, budget) {
				d.take(1, &avail, &budget)
				out[i]++
				more = true
			}
		}
	}
	return out
}
