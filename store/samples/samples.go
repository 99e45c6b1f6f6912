// Package samples holds what gridbox's two history stores — the embedded
// SQLite store (package store) and the PostgreSQL store (store/postgres) —
// share about their samples table: how a value is encoded into its columns
// and decoded back, the batching loop that feeds it from the bus, the ingest
// metrics (the same names in both stores, so a dashboard works with either),
// and the limits of a history query.
//
// It depends on model, bus and prometheus only, never on a store, so both
// stores can import it without a cycle.
package samples

import (
	"fmt"
	"log/slog"
	"math"

	"github.com/gridbox/gridbox/model"
)

// Value kinds stored in samples.kind: they keep the JSON type of a value.
const (
	KindNull   = 0
	KindNumber = 1
	KindString = 2
	KindBool   = 3
)

// Quality codes stored in samples.q.
const (
	QGood  = 0
	QStale = 1
	QBad   = 2
)

// Columns are the columns of one value in the samples table, as written.
type Columns struct {
	Num  any // float64 or nil (also for NaN, which JSON cannot carry)
	Txt  any // string or nil
	Kind int16
	Q    int16
}

// Encode converts a value and its quality to columns. A number is stored in
// Num, a bool as 0 or 1 in Num, a string in Txt; NaN is stored as NULL. It
// reports false for a value whose Go type is not a JSON scalar.
func Encode(v any, q model.Quality) (Columns, bool) {
	c := Columns{Q: QualityCode(q)}
	switch x := v.(type) {
	case nil:
		c.Kind = KindNull
	case string:
		c.Kind, c.Txt = KindString, x
	case bool:
		c.Kind, c.Num = KindBool, 0.0
		if x {
			c.Num = 1.0
		}
	default:
		f, ok := model.AsFloat(x)
		if !ok {
			return c, false
		}
		c.Kind = KindNumber
		if !math.IsNaN(f) {
			c.Num = f
		}
	}
	return c, true
}

// EncodeAll encodes vals with Encode and mk, skipping values of unsupported
// types: the first of them is logged, all are counted as dropped on m.
func EncodeAll[R any](vals []model.Value, log *slog.Logger, m *Metrics, mk func(v *model.Value, c Columns) R) []R {
	out := make([]R, 0, len(vals))
	var bad int
	for i := range vals {
		v := &vals[i]
		c, ok := Encode(v.Value, v.Quality)
		if !ok {
			if bad == 0 {
				log.Warn("value of unsupported type not stored", "datapoint", v.Key(), "type", fmt.Sprintf("%T", v.Value))
			}
			bad++
			continue
		}
		out = append(out, mk(v, c))
	}
	m.Dropped(bad)
	return out
}

// QualityCode maps a quality to samples.q; an empty quality counts as good.
func QualityCode(q model.Quality) int16 {
	switch q {
	case model.Stale:
		return QStale
	case model.Bad:
		return QBad
	}
	return QGood
}

// Stored are the columns of one value as read back: scan num, txt, kind and
// q into &Num, &Txt, &Kind and &Q.
type Stored struct {
	Num  *float64
	Txt  *string
	Kind int16
	Q    int16
}

// Value rebuilds the JSON-typed value. A number stored as NULL was NaN,
// which JSON cannot carry; it comes back as null.
func (s *Stored) Value() any {
	switch s.Kind {
	case KindNumber:
		if s.Num != nil {
			return *s.Num
		}
	case KindString:
		if s.Txt != nil {
			return *s.Txt
		}
		return ""
	case KindBool:
		return s.Num != nil && *s.Num != 0
	}
	return nil
}

// Quality maps samples.q back to a quality.
func (s *Stored) Quality() model.Quality {
	switch s.Q {
	case QStale:
		return model.Stale
	case QBad:
		return model.Bad
	}
	return model.Good
}
