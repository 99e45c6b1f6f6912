package mqttsrc

import (
	"testing"

	"github.com/gridbox/gridbox/model"
)

// FuzzExtract: any payload is read into values or refused with a kind,
// never a panic; every extracted value converts or errs.
func FuzzExtract(f *testing.F) {
	for _, seed := range []string{`21.5`, `on`, `{"power_w": 1234}`, `{"a": {"b": [1, {"c": null}]}}`, `{"power_w": 12`, `"340"`} {
		f.Add([]byte(seed), "power_w")
	}
	f.Fuzz(func(t *testing.T, payload []byte, path string) {
		for _, s := range []*spec{{}, {path: []string{path}}, {path: []string{"a", "0"}}} {
			vals, err := s.extract("x", payload)
			if err != nil {
				if _, ok := err.(*badPayload); !ok {
					t.Fatalf("error %T: %v", err, err)
				}
				continue
			}
			for name, raw := range vals {
				if name == "" {
					t.Fatalf("empty name from %q", payload)
				}
				for _, f := range []model.Format{model.ContinuousNumeric, model.Bool, model.GenericText, infer(raw)} {
					_, _ = convert(f, raw, 0.5)
				}
			}
		}
	})
}
