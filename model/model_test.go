package model

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr(f float64) *float64 { return &f }

func TestParseWrite(t *testing.T) {
	cases := []struct {
		in   string
		want any
		err  string
	}{
		{`22.5`, 22.5, ""},
		{`{"value": 22.5}`, 22.5, ""},
		{` {"value": "eco"} `, "eco", ""},
		{`true`, true, ""},
		{`null`, nil, ""},
		{`{"value": null}`, nil, ""},
		{``, nil, "payload is empty"},
		{` `, nil, "payload is empty"},
		{`{"value": 1, "value": 2}`, nil, `"value" more than once`},
		{`{"Value": 1}`, nil, `keys are case-sensitive`},
		{`{"vaLue": 1}`, nil, `keys are case-sensitive`},
		{`22 23`, nil, "data after"},
		{`{"value": 1} 2`, nil, "data after"},
		{`{"value": 1e400}`, nil, "64-bit float"},
		{`{"value": [1]}`, nil, "JSON scalar"},
		{`{"value": 1`, nil, "truncated"},
		{`abc`, nil, "not JSON"},
		{`[1,2]`, nil, "array"},
		{`{"val": 1}`, nil, `unknown key "val"`},
		{`{}`, nil, `no "value" key`},
		{`{"value": 1, "extra": 2}`, nil, `unknown key "extra"`},
		{`{"value": {"a": 1}}`, nil, "JSON scalar"},
	}
	for _, c := range cases {
		got, err := ParseWrite([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseWrite(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseWrite(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestCheckWrite(t *testing.T) {
	setpoint := Datapoint{Name: "setpoint", Meta: Meta{Kind: Actuator, Format: ContinuousNumeric, Min: ptr(15), Max: ptr(30)}}
	mode := Datapoint{Name: "mode", Meta: Meta{Kind: Actuator, Format: DiscreteText, Allowed: []any{"eco", "comfort"}}}
	level := Datapoint{Name: "level", Meta: Meta{Kind: Actuator, Format: DiscreteNumeric, Allowed: []any{0.0, 1.0, 2.0}}}
	on := Datapoint{Name: "enabled", Meta: Meta{Kind: Actuator, Format: Bool}}
	temp := Datapoint{Name: "temperature", Meta: Meta{Kind: Sensor, Format: ContinuousNumeric}}
	cases := []struct {
		dp      Datapoint
		v       any
		want    any
		err     string
		isRange bool
	}{
		{setpoint, 26.0, 26.0, "", false},
		{setpoint, 15, 15.0, "", false},
		{setpoint, 30.0, 30.0, "", false},
		{setpoint, 40.0, nil, "above max 30", true},
		{setpoint, 14.9, nil, "below min 15", true},
		{setpoint, "26", nil, "want a number, got a string", false},
		{setpoint, nil, nil, "want a number, got null", false},
		{mode, "eco", "eco", "", false},
		{mode, "turbo", nil, `"turbo" not in allowed values`, true},
		{mode, 1.0, nil, "want a string", false},
		{level, 2.0, 2.0, "", false},
		{level, 3.0, nil, "not in allowed values", true},
		{on, true, true, "", false},
		{on, 1.0, nil, "want a bool", false},
		{temp, 20.0, nil, "sensor", false},
	}
	for _, c := range cases {
		got, err := c.dp.CheckWrite(c.v)
		if c.err != "" {
			var re *RangeError
			if err == nil || !strings.Contains(err.Error(), c.err) || errors.As(err, &re) != c.isRange {
				t.Errorf("%s ← %v: error %v, want %q (range error %v)", c.dp.Name, c.v, err, c.err, c.isRange)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s ← %v = %v, %v; want %v", c.dp.Name, c.v, got, err, c.want)
		}
	}
	if _, err := temp.CheckWrite(1.0); !errors.Is(err, ErrNotWritable) {
		t.Errorf("sensor write: %v", err)
	}
}

func TestCheckMeta(t *testing.T) {
	cases := []struct {
		dp  Datapoint
		err string
	}{
		{Datapoint{Name: "ok", Meta: Meta{Kind: Sensor, Format: GenericNumeric}}, ""},
		{Datapoint{Name: "Bad Name", Meta: Meta{Kind: Sensor, Format: GenericNumeric}}, "not a slug"},
		{Datapoint{Name: "x", Meta: Meta{Kind: "meter", Format: GenericNumeric}}, "kind"},
		{Datapoint{Name: "x", Meta: Meta{Kind: Sensor, Format: "numeric"}}, "format"},
		{Datapoint{Name: "x", Meta: Meta{Kind: Sensor, Format: ContinuousNumeric, Min: ptr(5), Max: ptr(1)}}, "above max"},
		{Datapoint{Name: "x", Meta: Meta{Kind: Sensor, Format: GenericText, Min: ptr(1)}}, "non-numeric"},
	}
	for _, c := range cases {
		err := c.dp.CheckMeta()
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%+v: %v, want %q", c.dp, err, c.err)
		}
	}
}

func TestHistoryQueryCheck(t *testing.T) {
	cases := []struct {
		q   HistoryQuery
		err string
	}{
		{HistoryQuery{From: 0, To: 10}, ""},
		{HistoryQuery{From: 0, To: 10, Interval: time.Minute, Agg: "mean"}, ""},
		{HistoryQuery{From: 10, To: 0}, "before from"},
		{HistoryQuery{From: 0, To: 10, Interval: time.Minute, Agg: "median"}, `agg "median"`},
		{HistoryQuery{From: 0, To: 10, Interval: time.Microsecond, Agg: "mean"}, "below 1ms"},
	}
	for _, c := range cases {
		err := c.q.Check()
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%+v: %v, want %q", c.q, err, c.err)
		}
	}
}

func TestShort(t *testing.T) {
	if got := Short("abc"); got != "abc" {
		t.Errorf("Short(abc) = %q", got)
	}
	exact := strings.Repeat("é", ShortLen)
	if got := Short(exact); got != exact {
		t.Errorf("Short cut a string of %d characters: %q", ShortLen, got)
	}
	if got := Short(exact + "ü"); got != exact+"…" {
		t.Errorf("Short(%d characters) = %q, want the first %d and …", ShortLen+1, got, ShortLen)
	}
	if got := Short([]byte(strings.Repeat("x", 100<<10))); got != strings.Repeat("x", ShortLen)+"…" {
		t.Errorf("Short(100 kB of bytes) = %q", got)
	}
	if got := Short(12.5); got != "12.5" {
		t.Errorf("Short(12.5) = %q", got)
	}
}
