package knx

import (
	"bytes"
	"strings"
	"testing"
)

// specCases are byte values from the KNX specification (volume 3/7/2,
// datapoint types) and its worked examples. data is the value part after
// the APCI byte; for 1.x–3.x the low six bits of the APCI byte itself.
var specCases = []struct {
	dpt  string
	data []byte
	want any
}{
	{"1.001", []byte{0x01}, true},
	{"1.001", []byte{0x00}, false},
	{"2.001", []byte{0x03}, 3.0},
	{"3.007", []byte{0x0b}, 3.0},  // increase, step code 3
	{"3.007", []byte{0x01}, -1.0}, // decrease, step code 1
	{"3.007", []byte{0x00}, 0.0},  // break
	{"5.001", []byte{0xff}, 100.0},
	{"5.001", []byte{0x00}, 0.0},
	{"5.001", []byte{0x33}, 20.0},
	{"5.003", []byte{0xff}, 360.0},
	{"5.004", []byte{0x64}, 100.0},
	{"5.010", []byte{0xc8}, 200.0},
	{"6.010", []byte{0x80}, -128.0},
	{"7.001", []byte{0xff, 0xff}, 65535.0},
	{"7.013", []byte{0x01, 0xf4}, 500.0},
	{"8.001", []byte{0xff, 0xfe}, -2.0},
	{"9.001", []byte{0x0c, 0x1a}, 21.0},       // E=1, M=1050
	{"9.001", []byte{0x8a, 0x24}, -30.0},      // E=1, M=-1500
	{"9.001", []byte{0x00, 0x00}, 0.0},        // zero
	{"9.001", []byte{0x87, 0xff}, -0.01},      // E=0, M=-1
	{"9.004", []byte{0x7f, 0xfe}, 670433.28},  // largest (0x7fff is "invalid")
	{"9.001", []byte{0xf8, 0x00}, -671088.64}, // smallest
	{"9.001", []byte{0x7f, 0xff}, nil},        // invalid data
	{"12.001", []byte{0xff, 0xff, 0xff, 0xff}, 4294967295.0},
	{"13.010", []byte{0xff, 0xff, 0xff, 0xff}, -1.0},
	{"13.013", []byte{0x00, 0x01, 0xe2, 0x40}, 123456.0},
	{"14.056", []byte{0x41, 0xa8, 0x00, 0x00}, 21.0},
	{"14.019", []byte{0xbf, 0xc0, 0x00, 0x00}, -1.5},
	{"16.000", []byte("KNX is OK\x00\x00\x00\x00\x00"), "KNX is OK"},
	{"16.001", []byte("Gr\xfc\xdfe\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "Grüße"},
	{"17.001", []byte{0x3f}, 63.0},
	{"20.102", []byte{0x02}, 2.0},
}

// telegramData is data as in a telegram: small types in the APCI byte,
// others after it.
func telegramData(d DPT, b []byte) []byte {
	if d.codec.small {
		return b
	}
	return append([]byte{0}, b...)
}

func TestDecodeSpecValues(t *testing.T) {
	for _, c := range specCases {
		d, err := ParseDPT(c.dpt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Decode(telegramData(d, c.data))
		if err != nil || got != c.want {
			t.Errorf("%s % x: got %v (%T), %v; want %v", c.dpt, c.data, got, got, err, c.want)
		}
	}
}

// TestEncodeSpecValues checks that encoding the decoded value gives the
// spec's bytes back (9.x: the smallest exponent, as the spec's examples).
func TestEncodeSpecValues(t *testing.T) {
	for _, c := range specCases {
		if c.want == nil {
			continue
		}
		d, _ := ParseDPT(c.dpt)
		got, err := d.Encode(c.want)
		if want := telegramData(d, c.data); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s %v: got % x, %v; want % x", c.dpt, c.want, got, err, want)
		}
	}
}

func TestEncodeRounds(t *testing.T) {
	for _, c := range []struct {
		dpt  string
		v    any
		want []byte
	}{
		{"5.001", 50.0, []byte{0, 0x80}},         // 127.5 rounds up
		{"9.001", 21.5, []byte{0, 0x0c, 0x33}},   // M=1075, E=1
		{"9.001", 1000.0, []byte{0, 0x36, 0x1b}}, // E=6, M=1563: 1000.32
		{"1.001", 1.0, []byte{1}},                // numbers work for bools
		{"16.000", "", make([]byte, 15)},         // all padding
		{"3.007", 7.0, []byte{0x0f}},             // increase by 7
	} {
		d, _ := ParseDPT(c.dpt)
		got, err := d.Encode(c.v)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s %v: got % x, %v; want % x", c.dpt, c.v, got, err, c.want)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, c := range []struct {
		dpt  string
		v    any
		want string
	}{
		{"5.001", 101.0, "out of 0..100"},
		{"5.010", 2.5, "whole number"},
		{"7.001", -1.0, "out of 0..65535"},
		{"9.001", 700000.0, "out of"},
		{"16.000", "Grüße", "not ASCII"},
		{"16.001", "fifteen chars!!", "longer than 14"},
		{"1.001", "on", "want a number"},
		{"14.056", "x", "want a number"},
		{"3.007", 8.0, "out of -7..7"},
	} {
		d, _ := ParseDPT(c.dpt)
		_, err := d.Encode(c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "dpt "+d.String()) {
			t.Errorf("%s %v: err %v; want it to name the dpt and say %q", c.dpt, c.v, err, c.want)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, c := range []struct {
		dpt  string
		data []byte
		want string
	}{
		{"9.001", []byte{0, 0x0c}, "want 2 data bytes, got 1"},
		{"1.001", []byte{0, 1}, "want 1 byte"},
		{"14.056", []byte{0, 0x7f, 0xc0, 0, 0}, "not a finite number"},
		{"16.000", append([]byte{0, 0xe4}, make([]byte, 13)...), "not ASCII"},
		{"17.001", []byte{0, 0x40}, "reserved bits"},
	} {
		d, _ := ParseDPT(c.dpt)
		_, err := d.Decode(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s % x: err %v; want %q", c.dpt, c.data, err, c.want)
		}
	}
}

func TestParseDPT(t *testing.T) {
	for in, want := range map[string]string{
		"9.001": "9.001", "9.1": "9.001", "9": "9.000", "DPST-3-7": "3.007", "dpst-9-1": "9.001",
		"DPT-14": "14.000", "12.1200": "12.1200",
	} {
		d, err := ParseDPT(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDPT(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for in, want := range map[string]string{
		"": "not a number", "10.001": "main type 10 is not supported", "9.x": "not a number",
		"DPST-9": "want DPST-<main>-<sub>", "1.2.3": "want <main>.<sub>", "-1": "not a number",
	} {
		if _, err := ParseDPT(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDPT(%q): err %v; want %q", in, err, want)
		}
	}
}

func TestDPTMeta(t *testing.T) {
	d, _ := ParseDPT("9.001")
	m := d.Meta()
	if m.Unit != "°C" || m.Format != "continuous_numeric" || *m.Min != -671088.64 || *m.Max != 670433.28 {
		t.Errorf("9.001 meta %+v", m)
	}
	d, _ = ParseDPT("1.001")
	if m := d.Meta(); m.Format != "bool" || m.Min != nil {
		t.Errorf("1.001 meta %+v", m)
	}
	d, _ = ParseDPT("5.001")
	if m := d.Meta(); m.Unit != "%" || *m.Max != 100 {
		t.Errorf("5.001 meta %+v", m)
	}
}

func TestParseGA(t *testing.T) {
	for in, want := range map[string]uint16{
		"1/2/3": 1<<11 | 2<<8 | 3, "31/7/255": 0xffff, "0/0/0": 0, "1/234": 1<<11 | 234, "2345": 2345,
	} {
		ga, err := ParseGA(in)
		if err != nil || uint16(ga) != want {
			t.Errorf("ParseGA(%q) = %d, %v; want %d", in, ga, err, want)
		}
	}
	if s := GAString(1<<11 | 2<<8 | 3); s != "1/2/3" {
		t.Errorf("GAString = %s", s)
	}
	for in, want := range map[string]string{
		"": "missing", "32/0/0": "0..31", "1/8/0": "0..7", "1/2/256": "0..255", "1/2048": "0..2047",
		"1/2/3/4": "not a group address", "a/b/c": "not a number", "65536": "0..65535",
	} {
		if _, err := ParseGA(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseGA(%q): err %v; want %q", in, err, want)
		}
	}
}
