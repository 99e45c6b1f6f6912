package api

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/internal/testenv"
)

// schemaHarness feeds the modbus device schema to the UI's form module
// and prints the fields and the entries it builds.
const schemaHarness = `
const m = await import(process.argv[2]);
const schema = JSON.parse(process.argv[3]);
const fields = m.fieldsOf(schema);
console.log(JSON.stringify({
  fields: fields.map((f) => [f.key, f.type, f.required, f.def === undefined ? null : f.def, m.isFirst(f)]),
  ok: m.entryFrom(fields, {id: "office", url: "tcp://10.0.0.2:502", unit: "3", interval: "", disconnect: "true", retries: " 4 "}, {registers: [{name: "x"}]}),
  bad: m.entryFrom(fields, {id: "office", unit: "1.5"}),
}));
`

// TestUISchemaForm: the form has a field per scalar key, required ones
// first, durations told apart, defaults shown; the entry it builds leaves
// empty fields out, types numbers and booleans and refuses a fraction for
// an integer key.
func TestUISchemaForm(t *testing.T) {
	node := testenv.Tool(t, "node")
	dir := t.TempDir()
	harness := filepath.Join(dir, "harness.mjs")
	if err := os.WriteFile(harness, []byte(schemaHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("ui/schema.js")
	if err != nil {
		t.Fatal(err)
	}
	sch, _ := json.Marshal(config.SchemaOfValue(modbus.NewConfig()))
	var stderr bytes.Buffer
	cmd := exec.Command(node, harness, "file://"+abs, string(sch))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Fields [][]any
		OK     struct{ Entry map[string]any }
		Bad    struct{ Error, Key string }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("harness output %q: %v", out, err)
	}
	var keys []string
	byKey := map[string][]any{}
	for _, f := range got.Fields {
		keys = append(keys, f[0].(string))
		byKey[f[0].(string)] = f
	}
	if strings.Join(keys[:3], ",") != "id,driver,url" {
		t.Errorf("fields start %v, want the required id, driver, url", keys)
	}
	if _, ok := byKey["registers"]; ok {
		t.Error("a list key (registers) became a form field")
	}
	if f := byKey["interval"]; f == nil || f[1] != "duration" || f[3] != "5s" || f[4] != true {
		t.Errorf("interval field %v, want a duration defaulting to 5s shown at once", f)
	}
	if f := byKey["max_gap"]; f == nil || f[1] != "integer" || f[4] != false {
		t.Errorf("max_gap field %v, want an integer under More settings", f)
	}
	want := `{"disconnect":true,"id":"office","registers":[{"name":"x"}],"retries":4,"unit":3,"url":"tcp://10.0.0.2:502"}`
	if b, _ := json.Marshal(got.OK.Entry); string(b) != want {
		t.Errorf("entry %s, want %s", b, want)
	}
	if got.Bad.Key != "unit" || !strings.Contains(got.Bad.Error, "whole number") {
		t.Errorf("a fraction for unit: %+v", got.Bad)
	}
}
