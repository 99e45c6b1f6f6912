package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeEditor keeps a config in memory and refuses devices without a url,
// standing in for `gridbox run`'s controller (tested end to end in
// cmd/gridbox).
type fakeEditor struct {
	mu      sync.Mutex
	data    string
	applied int
}

func (f *fakeEditor) ConfigFile() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []byte(f.data), nil
}

func (f *fakeEditor) EditConfig(_ context.Context, edit func([]byte) ([]byte, error)) (string, []string, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out, err := edit([]byte(f.data))
	if err != nil {
		return "", nil, nil, err
	}
	if strings.Contains(string(out), "driver: modbus\n") && strings.Count(string(out), "url:") < strings.Count(string(out), "driver:") {
		return "", []string{"devices[2].url: is required"}, nil, nil
	}
	f.data = string(out)
	return "id1", nil, func() { f.mu.Lock(); f.applied++; f.mu.Unlock() }, nil
}

const editBase = `# my gateway
site: home # where
http:
  tokens: ["${API_TOKEN}"]
devices:
  # first
  - id: a
    driver: modbus
    url: tcp://x:502
  - {id: b, driver: modbus, url: "tcp://y:502"} # flow
store: {path: data}
`

func TestDeviceEdit(t *testing.T) {
	ed := &fakeEditor{data: editBase}
	e := newEnv(t, Options{Config: ed})
	h := e.srv.Handler()
	rec := request(t, h, "POST", "/api/v1/devices", "", `{"id": "c", "driver": "modbus", "url": "tcp://z:502", "profile": "sma-stp", "unit": 3, "interval": "1s"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	got := ed.data
	for _, want := range []string{"# my gateway", "site: home # where", "${API_TOKEN}", "# first", "# flow", "store: {path: data}",
		"  - id: c\n    driver: modbus\n    url: tcp://z:502\n    profile: sma-stp\n    unit: 3\n    interval: 1s\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("after add, config lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "store:") < strings.Index(got, "id: c") {
		t.Errorf("key order changed:\n%s", got)
	}
	for _, c := range []struct {
		method, path, body string
		code               int
		sub                string
	}{
		{"POST", "/api/v1/devices", `{"id": "a", "driver": "modbus", "url": "u"}`, http.StatusConflict, "already exists"},
		{"POST", "/api/v1/devices", `{"driver": "modbus"}`, http.StatusBadRequest, "needs an id"},
		{"POST", "/api/v1/devices", `[1]`, http.StatusBadRequest, "JSON object"},
		{"POST", "/api/v1/devices", `{"id": "d", "driver": "modbus"}`, http.StatusUnprocessableEntity, "url: is required"},
		{"PUT", "/api/v1/devices/zz", `{"driver": "modbus", "url": "u"}`, http.StatusNotFound, "no device"},
		{"PUT", "/api/v1/devices/a", `{"id": "b", "driver": "modbus"}`, http.StatusBadRequest, "differs"},
		{"DELETE", "/api/v1/devices/zz", ``, http.StatusNotFound, "no device"},
	} {
		rec := request(t, h, c.method, c.path, "", c.body)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.sub) {
			t.Errorf("%s %s %s: %d %s, want %d %q", c.method, c.path, c.body, rec.Code, rec.Body, c.code, c.sub)
		}
	}
	scan := "  - id: scanned\n    driver: modbus\n    url: tcp://10.0.0.9:502\n    profile: sma-stp # found by scan\n"
	if rec := request(t, h, "POST", "/api/v1/devices", "", scan); rec.Code != http.StatusCreated || !strings.Contains(ed.data, "id: scanned") {
		t.Fatalf("add from scan output: %d %s\n%s", rec.Code, rec.Body, ed.data)
	}
	if rec := request(t, h, "DELETE", "/api/v1/devices/scanned", "", ""); rec.Code != 200 {
		t.Fatalf("remove scanned: %d", rec.Code)
	}
	ed.applied -= 2
	if rec := request(t, h, "PUT", "/api/v1/devices/a", "", `{"driver": "modbus", "url": "tcp://new:502"}`); rec.Code != 200 {
		t.Fatalf("replace: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(ed.data, "# first\n  - id: a\n    driver: modbus\n    url: tcp://new:502\n") {
		t.Errorf("replace lost the comment or the id:\n%s", ed.data)
	}
	if rec := request(t, h, "GET", "/api/v1/devices/b/config", "", ""); rec.Code != 200 || rec.Body.String() != "id: b\ndriver: modbus\nurl: tcp://y:502\n" {
		t.Errorf("entry of b: %d %q", rec.Code, rec.Body)
	}
	if rec := request(t, h, "GET", "/api/v1/devices/zz/config", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("entry of an unknown device: %d", rec.Code)
	}
	for _, id := range []string{"c", "a"} {
		if rec := request(t, h, "DELETE", "/api/v1/devices/"+id, "", ""); rec.Code != 200 {
			t.Fatalf("remove %s: %d %s", id, rec.Code, rec.Body)
		}
	}
	if strings.Contains(ed.data, "id: c") || strings.Contains(ed.data, "id: a") || !strings.Contains(ed.data, "id: b") {
		t.Errorf("after removal:\n%s", ed.data)
	}
	if ed.applied != 4 {
		t.Errorf("applied %d times, want 4 (add, replace, 2 removals)", ed.applied)
	}
	noEd := newEnv(t, Options{}).srv.Handler()
	if rec := request(t, noEd, "DELETE", "/api/v1/devices/a", "", ""); rec.Code != http.StatusNotImplemented {
		t.Errorf("without an editor: %d", rec.Code)
	}
}
