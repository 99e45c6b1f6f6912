package modbus

import (
	"testing"

	"github.com/gridbox/gridbox/profile"
)

// FuzzParseProfile feeds arbitrary profile files to ParseProfile (a
// profile: path is outside input): an error naming the problem, never a
// panic. The built-in profiles are the seed corpus.
func FuzzParseProfile(f *testing.F) {
	lib := profile.Builtin()
	for _, name := range lib.Names() {
		data, _, err := lib.Load(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("name: x\ndriver: modbus\nregisters:\n  - {name: p, address: 1, type: int32, scale: 0.1, unit: W}\n"))
	f.Add([]byte("registers:\n  - {name: s, address: 65535, type: string, length: 200}\n"))
	f.Add([]byte("registers: [{name: b, table: coil, address: 3, type: bool, bit: 17}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data, "fuzz.yaml")
		if err == nil && p == nil {
			t.Fatal("ParseProfile returned neither a profile nor an error")
		}
	})
}
