package ocpp

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official OCPP 1.6 JSON schemas, one array of draft-07 schemas with
// $id "urn:<Action>.req" and "urn:<Action>.conf", as shipped by the ocpp-rpc
// npm package (MIT, see schemas/LICENSE.md).
//
//go:embed schemas/ocpp1_6.json
var schemaFile []byte

// schemas holds the compiled schema of every request and confirmation.
type schemas struct {
	byID map[string]*jsonschema.Schema
}

// loadSchemas compiles the embedded schemas.
func loadSchemas() (*schemas, error) {
	var docs []json.RawMessage
	if err := json.Unmarshal(schemaFile, &docs); err != nil {
		return nil, fmt.Errorf("ocpp schemas: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.DefaultDraft(jsonschema.Draft7)
	var ids []string
	for _, raw := range docs {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("ocpp schemas: %w", err)
		}
		m, _ := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			return nil, errors.New("ocpp schemas: a schema without $id")
		}
		delete(m, "$schema") // "…/draft-07/schema" without '#': DefaultDraft says the same
		if err := c.AddResource(id, m); err != nil {
			return nil, fmt.Errorf("ocpp schema %s: %w", id, err)
		}
		ids = append(ids, id)
	}
	s := &schemas{byID: make(map[string]*jsonschema.Schema, len(ids))}
	for _, id := range ids {
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("ocpp schema %s: %w", id, err)
		}
		s.byID[id] = sch
	}
	return s, nil
}

// known reports whether action has a request schema (is an OCPP 1.6 action).
func (s *schemas) known(action string) bool { return s.byID["urn:"+action+".req"] != nil }

// validate checks payload against the request (conf=false) or confirmation
// schema of action and returns the CallError the violation calls for.
func (s *schemas) validate(action string, conf bool, payload []byte) *callError {
	id := "urn:" + action + ".req"
	if conf {
		id = "urn:" + action + ".conf"
	}
	sch := s.byID[id]
	if sch == nil {
		return &callError{Code: NotImplemented, Desc: fmt.Sprintf("no schema for %s", id)}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return &callError{Code: FormationViolation, Desc: "payload is not JSON: " + err.Error()}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &callError{Code: FormationViolation, Desc: err.Error()}
	}
	leaf := firstLeaf(ve)
	kw := ""
	if p := leaf.ErrorKind.KeywordPath(); len(p) > 0 {
		kw = p[0]
	}
	return &callError{Code: codeFor(kw), Desc: shorten(leaf.Error())}
}

// firstLeaf returns the first innermost cause of a validation error.
func firstLeaf(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	return ve
}

// codeFor maps the JSON-schema keyword that failed to the OCPP 1.6 error
// code, as the independent ocpp-rpc library does (with the 1.6 errata
// spellings FormationViolation and OccurrenceConstraintViolation).
func codeFor(keyword string) string {
	switch keyword {
	case "type":
		return TypeConstraintViolation
	case "required", "minItems", "maxItems", "minProperties", "maxProperties",
		"additionalItems", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
		return OccurrenceConstraintViolation
	case "additionalProperties", "pattern", "propertyNames":
		return PropertyConstraintViolation
	default: // maxLength, minimum, maximum, enum, format, …
		return FormationViolation
	}
}

// shorten bounds a text sent in a CallError's description.
func shorten(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
