package docpath

import (
	"errors"
	"testing"

	"github.com/gridbox/gridbox/model"
)

func TestGet(t *testing.T) {
	tests := []struct {
		format, doc, path string
		want              any
		err               error
	}{
		{JSON, `{"Body":{"Data":{"Inverters":{"1":{"P":12}},"A":[1,{"x":"y"}],"N":null}}}`, "Body.Data.Inverters.1.P", 12.0, nil},
		{JSON, `{"Body":{"Data":{"A":[1,{"x":"y"}]}}}`, "Body.Data.A.1.x", "y", nil},
		{JSON, `{"Body":{"Data":{"N":null}}}`, "Body.Data.N", nil, nil},
		{JSON, `{"Body":{"Data":{}}}`, "Body.Data.P", nil, ErrMissing},
		{JSON, `{"A":[1]}`, "A.3", nil, ErrMissing},
		{JSON, `{"A":1}`, "A.b", nil, ErrMissing},
		{YAML, "a:\n  b: [1, 2]\n  7: x\n", "a.b.1", 2.0, nil},
		{YAML, "a:\n  7: x\n", "a.7", "x", nil},
		{XML, `<s:Envelope xmlns:s="u"><s:Body><R><Heat>1.5</Heat><M id="3"/><M>x</M></R></s:Body></s:Envelope>`, "soap:Envelope/soap:Body/R/Heat", 1.5, nil},
		{XML, `<s:Envelope xmlns:s="u"><s:Body><R><Heat>1.5</Heat></R></s:Body></s:Envelope>`, "Body/R/Heat", 1.5, nil},
		{XML, `<E><R><M id="3"/><M>x</M></R></E>`, "E/R/M[1]", "x", nil},
		{XML, `<E><R><M id="3"/><M>x</M></R></E>`, "R.M.@id", 3.0, nil},
		{XML, `<E><R/></E>`, "R/Q", nil, ErrMissing},
		{KeyValue, "a.b=1\nc=on\nd=\n", "a.b", 1.0, nil},
		{KeyValue, "a.b=1\nc=on\nd=\n", "c", "on", nil},
		{KeyValue, "a.b=1\nc=on\nd=\n", "d", nil, nil},
		{KeyValue, "a=1\n", "z", nil, ErrMissing},
	}
	for _, tc := range tests {
		d, err := Parse(tc.format, []byte(tc.doc))
		if err != nil {
			t.Fatalf("%s %q: %v", tc.format, tc.doc, err)
		}
		got, err := d.Get(tc.path)
		if !errors.Is(err, tc.err) || (tc.err == nil && got != tc.want) {
			t.Errorf("%s Get(%q) = %v, %v; want %v, %v", tc.format, tc.path, got, err, tc.want, tc.err)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ format, doc string }{
		{JSON, `{"a":`}, {JSON, `{"a":1} x`}, {JSON, ``},
		{XML, `<a><b></a>`}, {XML, ``}, {XML, `<a/><b/>`},
		{KeyValue, "novalue\n"}, {YAML, "a: [1"},
	} {
		if _, err := Parse(tc.format, []byte(tc.doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s %q: err %v, want ErrMalformed", tc.format, tc.doc, err)
		}
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		v      any
		f      model.Format
		scale  float64
		want   any
		errors bool
	}{
		{10.0, model.ContinuousNumeric, -1, -10.0, false},
		{"2.5", model.ContinuousNumeric, 0, 2.5, false},
		{nil, model.ContinuousNumeric, 2, nil, false},
		{"abc", model.ContinuousNumeric, 0, nil, true},
		{map[string]any{}, model.ContinuousNumeric, 0, nil, true},
		{1.0, model.Bool, 0, true, false},
		{"false", model.Bool, 0, false, false},
		{2.0, model.Bool, 0, nil, true},
		{3.0, model.GenericText, 0, "3", false},
	}
	for _, tc := range tests {
		got, err := Convert(tc.v, tc.f, tc.scale, 0)
		var te *TypeError
		if (err != nil) != tc.errors || (err != nil && !errors.As(err, &te)) || got != tc.want {
			t.Errorf("Convert(%v, %s) = %v, %v", tc.v, tc.f, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":null}]}`, `<a><b x="1">2</b></a>`, "k=v\n", "a: 1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, format := range []string{JSON, XML, KeyValue, YAML} {
			d, err := Parse(format, []byte(s))
			if err != nil {
				continue
			}
			for _, p := range []string{"a", "a.b", "a/b/@x", "a.0.b", "k"} {
				v, _ := d.Get(p)
				_, _ = Convert(v, model.ContinuousNumeric, 1, 0)
			}
		}
	})
}
