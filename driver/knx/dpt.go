package knx

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// DPT is a KNX datapoint type: main number and subtype, like 9.001.
type DPT struct {
	Main, Sub int
	codec     *codec
}

// String gives the DPT in the dotted form, like "9.001".
func (d DPT) String() string { return fmt.Sprintf("%d.%03d", d.Main, d.Sub) }

// ParseDPT reads a DPT in the forms "9.001", "9.1", "9" (main number only,
// subtype 0), "DPST-9-1" and "DPT-9" (as ETS exports them). The main
// number must be one gridbox decodes.
func ParseDPT(s string) (DPT, error) {
	main, sub, err := splitDPT(strings.TrimSpace(s))
	if err != nil {
		return DPT{}, fmt.Errorf("dpt %q: %w", s, err)
	}
	c, ok := codecs[main]
	if !ok {
		return DPT{}, fmt.Errorf("dpt %q: main type %d is not supported (supported: %s)", s, main, supportedMains())
	}
	return DPT{Main: main, Sub: sub, codec: c}, nil
}

func splitDPT(s string) (main, sub int, err error) {
	var parts []string
	switch up := strings.ToUpper(s); {
	case strings.HasPrefix(up, "DPST-"):
		parts = strings.Split(s[5:], "-")
		if len(parts) != 2 {
			return 0, 0, fmt.Errorf("want DPST-<main>-<sub>")
		}
	case strings.HasPrefix(up, "DPT-"):
		parts = []string{s[4:]}
	default:
		parts = strings.Split(s, ".")
		if len(parts) > 2 {
			return 0, 0, fmt.Errorf("want <main>.<sub> like 9.001")
		}
	}
	main, err = atoi(parts[0], 9999)
	if err == nil && len(parts) == 2 {
		sub, err = atoi(parts[1], 99999)
	}
	return main, sub, err
}

func atoi(s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a number in 0..%d", s, max)
	}
	return n, nil
}

func supportedMains() string {
	return "1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 14, 16, 17, 20"
}

// Meta returns the datapoint metadata the DPT implies: format, unit and
// the range a write may set.
func (d DPT) Meta() model.Meta {
	m := model.Meta{Format: d.codec.format, Unit: units[d.String()]}
	if d.codec.format.Numeric() {
		lo, hi := d.codec.limits(d.Sub)
		m.Min, m.Max = &lo, &hi
	}
	if d.Main == 16 || d.Main == 1 {
		m.Min, m.Max = nil, nil
	}
	return m
}

// Decode turns the application data of a group telegram into a value:
// bool for 1.x, string for 16.x, float64 otherwise; nil for 9.x's
// "invalid" 0x7FFF. data is as in the telegram after the APCI: for 1.x,
// 2.x and 3.x one byte whose low six bits hold the value; for the others a
// first byte (the APCI's low bits, 0) followed by the value's bytes.
func (d DPT) Decode(data []byte) (any, error) {
	c := d.codec
	if c.small {
		if len(data) != 1 {
			return nil, fmt.Errorf("dpt %s: want 1 byte (6 bits), got %d", d, len(data))
		}
		return c.decode(d.Sub, data)
	}
	if len(data) != c.size+1 {
		return nil, fmt.Errorf("dpt %s: want %d data bytes, got %d", d, c.size, len(data)-1)
	}
	return c.decode(d.Sub, data[1:])
}

// Encode turns a value into the application data of a group write, in the
// form Decode reads.
func (d DPT) Encode(v any) ([]byte, error) {
	b, err := d.codec.encode(d.Sub, v)
	if err != nil {
		return nil, fmt.Errorf("dpt %s: %w", d, err)
	}
	if d.codec.small {
		return b, nil
	}
	return append([]byte{0}, b...), nil
}

// Raw shows a telegram's application data as hex, like "0c 1a".
func Raw(data []byte) string {
	var sb strings.Builder
	for i, b := range data {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", b)
	}
	return sb.String()
}

// units are the units of the subtypes gridbox names; others have none.
var units = map[string]string{
	"5.001": "%", "5.003": "°", "5.004": "%", "5.010": "",
	"6.001": "%",
	"7.002": "ms", "7.005": "s", "7.006": "min", "7.007": "h", "7.012": "mA", "7.013": "lx", "7.600": "K",
	"8.002": "ms", "8.005": "s", "8.010": "%",
	"9.001": "°C", "9.002": "K", "9.003": "K/h", "9.004": "lx", "9.005": "m/s", "9.006": "Pa",
	"9.007": "%", "9.008": "ppm", "9.010": "s", "9.011": "ms", "9.020": "mV", "9.021": "mA",
	"9.024": "kW", "9.025": "l/h", "9.027": "°F", "9.028": "km/h",
	"12.100": "s", "12.101": "min", "12.102": "h", "12.1200": "l", "12.1201": "m³",
	"13.002": "m³/h", "13.010": "Wh", "13.011": "VAh", "13.012": "varh", "13.013": "kWh",
	"13.014": "kVAh", "13.015": "kvarh", "13.016": "MWh", "13.100": "s",
	"14.007": "°", "14.019": "A", "14.027": "V", "14.031": "J", "14.033": "Hz", "14.056": "W",
	"14.057": "", "14.065": "m/s", "14.068": "°C", "14.069": "K", "14.076": "m³", "14.077": "m³/s",
}
