package model

import "testing"

// FuzzParseWrite: any payload is a value or an error, and a value passes
// CheckWrite only inside the datapoint's limits.
func FuzzParseWrite(f *testing.F) {
	for _, s := range []string{`22.5`, `{"value": 1}`, `"x"`, `[1]`, `{"value": {}}`, `1e400`, `{"value": -0}`} {
		f.Add([]byte(s))
	}
	lo, hi := 15.0, 30.0
	dp := Datapoint{Name: "setpoint", Meta: Meta{Kind: Actuator, Format: ContinuousNumeric, Min: &lo, Max: &hi}}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseWrite(data)
		if err != nil {
			return
		}
		got, err := dp.CheckWrite(v)
		if err != nil {
			return
		}
		if x := got.(float64); x < lo || x > hi {
			t.Fatalf("%q accepted as %v outside [15, 30]", data, x)
		}
	})
}
