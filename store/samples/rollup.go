package samples

import "math"

// Rollup resolutions in ms, finest first, the same in both stores. Each
// divides the next, so a bucket of one level nests in exactly one bucket of
// every coarser level, and a query interval divisible by a resolution is
// divisible by every finer one.
var RollupRes = [...]int64{60_000, 900_000, 3_600_000, 86_400_000}

// RollupNames are the resolutions as written in config and metric labels.
var RollupNames = [...]string{"1m", "15m", "1h", "1d"}

// Acc is the aggregate of the good numeric values of one bucket: what a
// rollups row holds. It combines with another Acc of disjoint values.
type Acc struct {
	N           int64
	Sum, Mn, Mx float64
	FT, LT      int64 // timestamps of the first and last value
	FV, LV      float64
	E           float64 // integral (value·ms) of the lines between the values, from FT to LT
}

// Single is the Acc of one value.
func Single(ts int64, v float64) Acc {
	return Acc{N: 1, Sum: v, Mn: v, Mx: v, FT: ts, LT: ts, FV: v, LV: v}
}

// Merge adds o's values to a. The values of a and o do not interleave in
// time (every caller merges in time order), so the integral of the two is
// both integrals plus the line joining them; were they to interleave, E
// becomes NaN rather than wrong.
func (a *Acc) Merge(o Acc) {
	if a.N == 0 {
		*a = o
		return
	}
	switch {
	case o.FT >= a.LT:
		a.E += o.E + Trapezoid(Point{a.LT, a.LV}, Point{o.FT, o.FV})
	case o.LT <= a.FT:
		a.E += o.E + Trapezoid(Point{o.LT, o.LV}, Point{a.FT, a.FV})
	default:
		a.E = math.NaN()
	}
	a.N += o.N
	a.Sum += o.Sum
	a.Mn, a.Mx = min(a.Mn, o.Mn), max(a.Mx, o.Mx)
	if o.FT < a.FT {
		a.FT, a.FV = o.FT, o.FV
	}
	if o.LT > a.LT {
		a.LT, a.LV = o.LT, o.LV
	}
}

// Value answers agg (not energy: see Energy); mean is sum / count.
func (a *Acc) Value(agg string) float64 {
	switch agg {
	case "mean":
		return a.Sum / float64(a.N)
	case "min":
		return a.Mn
	case "max":
		return a.Mx
	case "sum":
		return a.Sum
	case "count":
		return float64(a.N)
	case "first":
		return a.FV
	}
	return a.LV
}

// FloorTo is the start of the bucket of length r holding ts (floors also
// for negative ts).
func FloorTo(ts, r int64) int64 { return ts - ((ts%r)+r)%r }

// EndOf is the last ms of the bucket [b, b+r), saturating at MaxInt64.
func EndOf(b, r int64) int64 {
	if b > math.MaxInt64-(r-1) {
		return math.MaxInt64
	}
	return b + r - 1
}

// Bucket is one aggregated bucket starting at B.
type Bucket struct {
	B int64
	A Acc
}

// BucketList accumulates Accs fed in time order into buckets of length IV.
// With Max > 0 it stops (Add returns false) once a bucket beyond the first
// Max has started.
type BucketList struct {
	IV  int64
	Max int
	Out []Bucket
}

// Add merges a, whose values start at key, into its bucket.
func (l *BucketList) Add(key int64, a Acc) bool {
	b := FloorTo(key, l.IV)
	if n := len(l.Out); n > 0 && l.Out[n-1].B == b {
		l.Out[n-1].A.Merge(a)
		return true
	}
	if l.Max > 0 && len(l.Out) >= l.Max {
		return false
	}
	l.Out = append(l.Out, Bucket{B: b, A: a})
	return true
}

// Segment is a part of a query range answered by one level (-1: raw).
type Segment struct {
	Level    int
	From, To int64 // raw: ms; rollups: first and last bucket start
}

// Plan splits [from, to] into segments in time order: whole buckets of
// level l where they fit, the cut edges by finer levels, raw at the end.
func Plan(from, to int64, l int, out []Segment) []Segment {
	if l < 0 {
		return append(out, Segment{-1, from, to})
	}
	r := RollupRes[l]
	first := FloorTo(from, r)
	if first != from {
		if first > math.MaxInt64-r {
			return Plan(from, to, l-1, out)
		}
		first += r
	}
	last := FloorTo(to, r)
	if EndOf(last, r) != to {
		last -= r
	}
	if first > last {
		return Plan(from, to, l-1, out)
	}
	if from < first {
		out = Plan(from, first-1, l-1, out)
	}
	out = append(out, Segment{l, first, last})
	if end := EndOf(last, r); end < to {
		out = Plan(end+1, to, l-1, out)
	}
	return out
}

// Coarsest is the index of the coarsest resolution dividing iv, or -1.
func Coarsest(iv int64) int {
	for l := len(RollupRes) - 1; l >= 0; l-- {
		if iv%RollupRes[l] == 0 {
			return l
		}
	}
	return -1
}

// Span is an inclusive range of bucket starts of one level.
type Span struct{ First, Last int64 }

// RunsOf turns sorted bucket starts (duplicates allowed) of resolution r
// into runs of consecutive buckets.
func RunsOf(bs []int64, r int64) []Span {
	var out []Span
	for _, b := range bs {
		if n := len(out); n > 0 && (b == out[n-1].Last || b == out[n-1].Last+r) {
			out[n-1].Last = b
			continue
		}
		out = append(out, Span{b, b})
	}
	return out
}

// ParentRuns maps runs of level l to the runs of level l+1 holding them.
// runs are sorted, so the parents are too; touching ones are merged.
func ParentRuns(runs []Span, l int) []Span {
	r := RollupRes[l+1]
	var out []Span
	for _, s := range runs {
		p := Span{FloorTo(s.First, r), FloorTo(s.Last, r)}
		if n := len(out); n > 0 && p.First <= out[n-1].Last+r {
			out[n-1].Last = max(out[n-1].Last, p.Last)
			continue
		}
		out = append(out, p)
	}
	return out
}
