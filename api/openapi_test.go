package api

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// openapiDocument is the part of the OpenAPI document the tests read.
type openapiDocument struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func loadOpenAPI(t *testing.T) openapiDocument {
	t.Helper()
	var doc openapiDocument
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Fatalf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	return doc
}

// documented lists the operations of the document as mux patterns.
func documented(doc openapiDocument) []string {
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" {
				continue
			}
			p := path
			if p == "/" {
				p = "/{$}"
			}
			ops = append(ops, strings.ToUpper(method)+" "+p)
		}
	}
	slices.Sort(ops)
	return ops
}

func TestOpenAPICoversRoutes(t *testing.T) {
	e := newEnv(t, Options{})
	doc := loadOpenAPI(t)
	var served []string
	for _, rt := range e.srv.routes {
		served = append(served, rt.pattern)
	}
	slices.Sort(served)
	ops := documented(doc)
	for _, p := range served {
		if !slices.Contains(ops, p) {
			t.Errorf("route %q is served but not in openapi.json", p)
		}
	}
	for _, op := range ops {
		if !slices.Contains(served, op) {
			t.Errorf("operation %q is in openapi.json but not served", op)
		}
	}
	// Each documented operation, with its path parameters filled in, reaches
	// exactly that pattern in the mux (not a 404 or 405).
	fill := strings.NewReplacer("{device}", "room", "{name}", "temperature", "{$}", "")
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		_, pattern := e.srv.mux.Handler(httptest.NewRequest(method, fill.Replace(path), nil))
		if pattern != op {
			t.Errorf("%s %s is served by %q, want %q", method, fill.Replace(path), pattern, op)
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if !resolves(doc, ref) {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
}

// resolves reports whether a local reference "#/a/b/c" names a node of doc.
func resolves(doc map[string]any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var node any = doc
	for _, part := range strings.Split(rest, "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return false
		}
		if node, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

func TestOpenAPIServedOpen(t *testing.T) {
	e := newEnv(t, Options{Auth: "token", Tokens: []string{testToken}})
	w := e.do(t, "GET", "/api/v1/openapi.json", "", "")
	if w.Code != 200 {
		t.Fatalf("status %d without a token, want 200", w.Code)
	}
	var doc map[string]any
	decode(t, w, &doc)
	if doc["paths"] == nil {
		t.Error("served document has no paths")
	}
}
