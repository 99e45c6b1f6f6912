package config

import "testing"

// FuzzParse: any bytes give a config or errors, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"site: x\nhttp: {auth: none}\n",
		"devices:\n  - {id: a, driver: modbus, url: tcp://h:1}\n",
		"mqtt: {broker: ${X}}\n",
		"store: {flush_interval: 1s, batch_size: 10}\n",
		"- a\n- b\n",
		"http: [1, 2]\ndevices: {a: 1}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml", func(string) (string, bool) { return "v", true })
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
	})
}
