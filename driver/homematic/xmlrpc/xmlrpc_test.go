package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 29, 20, 0, 1, 0, time.UTC)
	params := []any{1, -7, 1 << 40, true, false, "a<b>&c", 21.5, []byte{0, 1, 2}, when, nil,
		[]any{"x", 2}, map[string]any{"ADDRESS": "NEQ0123456:1", "PARAMSETS": []any{"MASTER", "VALUES"}}}
	doc, err := EncodeCall("event", params...)
	if err != nil {
		t.Fatal(err)
	}
	method, got, err := DecodeCall(bytes.NewReader(doc), 0)
	if err != nil || method != "event" {
		t.Fatalf("decode: %q %v\n%s", method, err, doc)
	}
	if !reflect.DeepEqual(got, params) {
		t.Fatalf("round trip\n got %#v\nwant %#v", got, params)
	}
}

func TestDecodeForms(t *testing.T) {
	for _, tt := range []struct {
		doc  string
		want any
	}{
		{`<methodResponse><params><param><value>plain</value></param></params></methodResponse>`, "plain"},
		{`<?xml version="1.0" encoding="iso-8859-1"?><methodResponse><params><param><value><string>` + "\xb0C" + `</string></value></param></params></methodResponse>`, "°C"},
		{`<methodResponse><params><param><value><double> 4.5 </double></value></param></params></methodResponse>`, 4.5},
		{`<methodResponse><params><param><value><array><data></data></array></value></param></params></methodResponse>`, []any{}},
	} {
		got, err := DecodeResponse(strings.NewReader(tt.doc), 0)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %#v %v, want %#v", tt.doc, got, err, tt.want)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	deep := strings.Repeat("<value><array><data>", MaxDepth+2) + "<value>1</value>" + strings.Repeat("</data></array></value>", MaxDepth+2)
	for name, doc := range map[string]string{
		"truncated":  `<methodResponse><params><param><value><i4>1</i4>`,
		"bad int":    `<methodResponse><params><param><value><i4>x</i4></value></param></params></methodResponse>`,
		"i4 range":   `<methodResponse><params><param><value><i4>4294967296</i4></value></param></params></methodResponse>`,
		"bool":       `<methodResponse><params><param><value><boolean>2</boolean></value></param></params></methodResponse>`,
		"nan":        `<methodResponse><params><param><value><double>NaN</double></value></param></params></methodResponse>`,
		"two params": `<methodResponse><params><param><value>1</value></param><param><value>2</value></param></params></methodResponse>`,
		"doctype":    `<!DOCTYPE x [<!ENTITY a "b">]><methodResponse/>`,
		"not xml":    `{"json": true}`,
		"deep":       `<methodResponse><params><param>` + deep + `</param></params></methodResponse>`,
		"type":       `<methodResponse><params><param><value><float>1</float></value></param></params></methodResponse>`,
	} {
		if _, err := DecodeResponse(strings.NewReader(doc), 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
	big := `<methodResponse><params><param><value>` + strings.Repeat("x", 2000) + `</value></param></params></methodResponse>`
	if _, err := DecodeResponse(strings.NewReader(big), 1000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	fault := `<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>-2</i4></value></member><member><name>faultString</name><value>Unknown instance</value></member></struct></value></fault></methodResponse>`
	var f *Fault
	if _, err := DecodeResponse(strings.NewReader(fault), 0); !errors.As(err, &f) || f.Code != -2 || f.String != "Unknown instance" {
		t.Errorf("fault: %v", err)
	}
}

func TestServerMulticall(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var bad int
	srv := httptest.NewServer(&Server{
		Handle: func(_ context.Context, m string, p []any) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, m)
			if m == "fail" {
				return nil, &Fault{Code: 7, String: "no"}
			}
			return "", nil
		},
		Malformed: func(error) { mu.Lock(); bad++; mu.Unlock() },
	})
	defer srv.Close()
	c := &Client{URL: srv.URL}
	calls := []any{
		map[string]any{"methodName": "event", "params": []any{"if", "A:1", "STATE", true}},
		map[string]any{"methodName": "fail", "params": []any{}},
		"junk",
	}
	v, err := c.Call(context.Background(), "system.multicall", calls)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{[]any{""}, map[string]any{"faultCode": 7, "faultString": "no"}, map[string]any{"faultCode": FaultParams, "faultString": "want {methodName, params}"}}
	mu.Lock()
	handled := append([]string(nil), got...)
	mu.Unlock()
	if !reflect.DeepEqual(v, want) || !reflect.DeepEqual(handled, []string{"event", "fail"}) {
		t.Fatalf("multicall = %#v (handled %v)", v, handled)
	}
	resp, err := srv.Client().Post(srv.URL, "text/xml", strings.NewReader("<methodCall>"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeResponse(resp.Body, 0)
	resp.Body.Close()
	var f *Fault
	mu.Lock()
	defer mu.Unlock()
	if !errors.As(err, &f) || f.Code != FaultParse || bad != 1 {
		t.Fatalf("malformed call: %v, counted %d", err, bad)
	}
}
