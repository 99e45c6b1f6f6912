package gateway_test

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/gateway"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite docs/gridbox.schema.json from the code")

const schemaFile = "../docs/gridbox.schema.json"

// TestConfigSchema: the committed docs/gridbox.schema.json is what the code
// generates (go test ./gateway -run TestConfigSchema -update-schema
// rewrites it).
func TestConfigSchema(t *testing.T) {
	got, err := gateway.ConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *updateSchema {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run go test ./gateway -run TestConfigSchema -update-schema", schemaFile)
	}
}

// compileSchema compiles the committed schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(gateway.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(gateway.SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadYAML reads a YAML file as a JSON-like value.
func loadYAML(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// shippedConfigs lists examples/*.yaml, the compose example's config and
// every sample.yaml of the repository.
func shippedConfigs(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../examples/*.yaml")
	files = append(files, "../packaging/compose/gridbox.yaml")
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != "..") {
			return filepath.SkipDir
		}
		if d.Name() == "sample.yaml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d configs: %v", len(files), files)
	}
	return files
}

// TestShippedConfigsMatchSchema: every example and sample config validates.
func TestShippedConfigsMatchSchema(t *testing.T) {
	s := compileSchema(t)
	for _, f := range shippedConfigs(t) {
		if err := s.Validate(loadYAML(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestSchemaRejects: the schema is strict where the config is (a test that
// cannot fail is not a test).
func TestSchemaRejects(t *testing.T) {
	s := compileSchema(t)
	for name, doc := range map[string]string{
		"unknown top-level key": "site: x\nsitee: y\n",
		"unknown driver":        "devices: [{id: a, driver: nosuch}]\n",
		"unknown device key":    "devices: [{id: a, driver: modbus, url: 'tcp://h:502', intervall: 5s}]\n",
		"wrong type":            "devices: [{id: a, driver: modbus, url: 'tcp://h:502', retries: many}]\n",
		"bad duration":          "devices: [{id: a, driver: sunspec, url: 'tcp://h:502', interval: soon}]\n",
		"unknown sink key":      "mqtt: {broker: embedded, lissen: ':1883'}\n",
		"device without id":     "devices: [{driver: modbus}]\n",
	} {
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(v); err == nil {
			t.Errorf("%s: %q validates", name, doc)
		}
	}
}
