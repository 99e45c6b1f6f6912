package profile

import (
	"testing"
)

// FuzzSummarize feeds arbitrary profile documents (a user's profile file or
// a built-in one) to the summary parser of `gridbox profiles`: an error,
// never a panic. The built-in profiles are the seed corpus.
func FuzzSummarize(f *testing.F) {
	lib := Builtin()
	for _, name := range lib.Names() {
		data, _, err := lib.Load(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("name: x\nregisters: [{name: a, kind: setting}]\ndetect: [{name: d, registers: [{name: b}]}]\n"))
	f.Add([]byte("registers: {a: 1}\n"))
	f.Add([]byte("- - - :\n\t"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := summarize(data, "fuzz.yaml")
		if err != nil {
			return
		}
		for _, d := range s.Datapoints {
			if d.Kind == "" {
				t.Fatalf("datapoint %q without kind", d.Name)
			}
		}
	})
}
