package ocpp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/internal/testenv"
)

// testServer runs a central system on httptest with a real bus.
func testServer(t *testing.T, mod func(*Config)) (*Server, *bus.Bus, string) {
	t.Helper()
	cfg := newConfig()
	cfg.DataDir = t.TempDir()
	cfg.CallTimeout = config.Duration(5 * time.Second)
	cfg.ChargePoints = []ChargePoint{{ID: "CP-001", Password: "pw-1"}, {ID: "open", Password: ""}}
	if mod != nil {
		mod(cfg)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	b := bus.New()
	s, err := NewServer(cfg, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path+"/", s)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		s.Wait()
		s.Close()
	})
	return s, b, "ws" + strings.TrimPrefix(hs.URL, "http") + cfg.Path + "/"
}

// dial connects as id with password (none when "") and subprotocols.
func dial(t *testing.T, url, id, password string, protos ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if password != "" {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+password)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, url+id, &websocket.DialOptions{HTTPHeader: h, Subprotocols: protos})
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, res, err
}

func TestUpgradeRefusals(t *testing.T) {
	_, _, url := testServer(t, nil)
	for _, tc := range []struct {
		name, id, pw string
		protos       []string
		want         int
	}{
		{"wrong password", "CP-001", "nope", []string{"ocpp1.6"}, http.StatusUnauthorized},
		{"no password", "CP-001", "", []string{"ocpp1.6"}, http.StatusUnauthorized},
		{"unlisted id", "CP-999", "pw-1", []string{"ocpp1.6"}, http.StatusNotFound},
		{"other subprotocol", "CP-001", "pw-1", []string{"ocpp2.0.1"}, http.StatusBadRequest},
		{"no subprotocol", "CP-001", "pw-1", nil, http.StatusBadRequest},
		{"nested path", "CP-001/x", "pw-1", []string{"ocpp1.6"}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, res, err := dial(t, url, tc.id, tc.pw, tc.protos...)
			if err == nil || res == nil || res.StatusCode != tc.want {
				t.Fatalf("got err %v, response %v; want status %d", err, res, tc.want)
			}
		})
	}
	c, _, err := dial(t, url, "CP-001", "pw-1", "ocpp1.6")
	if err != nil || c.Subprotocol() != "ocpp1.6" {
		t.Fatalf("right password: %v (subprotocol %q)", err, c.Subprotocol())
	}
	if _, _, err := dial(t, url, "open", "", "ocpp2.0.1", "ocpp1.6"); err != nil {
		t.Fatalf("listed without a password: %v", err)
	}
}

func TestAllowUnknown(t *testing.T) {
	_, _, url := testServer(t, func(c *Config) { c.AllowUnknown = true })
	if _, _, err := dial(t, url, "Any-CP.7", "", "ocpp1.6"); err != nil {
		t.Fatalf("unknown id with allow_unknown: %v", err)
	}
	if _, res, err := dial(t, url, "CP-001", "bad", "ocpp1.6"); err == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a listed id still needs its password: %v", err)
	}
}

// roundTrip sends one raw message and returns the decoded answer.
func roundTrip(t *testing.T, c *websocket.Conn, msg string) []any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	var out []any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return out
}

func TestCallErrors(t *testing.T) {
	s, b, url := testServer(t, nil)
	c, _, err := dial(t, url, "CP-001", "pw-1", "ocpp1.6")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 21)
	for _, tc := range []struct{ msg, id, code string }{
		{`not json`, "-1", FormationViolation},
		{`{"a":1}`, "-1", FormationViolation},
		{`[2]`, "-1", FormationViolation},
		{`[7,"a1","Heartbeat",{}]`, "-1", FormationViolation},
		{`[2,5,"Heartbeat",{}]`, "-1", FormationViolation},
		{`[2,"a2","Heartbeat"]`, "a2", ProtocolError},
		{`[2,"a3",7,{}]`, "a3", FormationViolation},
		{`[2,"a4","FooBar",{}]`, "a4", NotImplemented},
		{`[2,"a5","Reset",{"type":"Soft"}]`, "a5", NotSupported},
		{`[2,"a6","BootNotification",{}]`, "a6", OccurrenceConstraintViolation},
		{`[2,"a7","BootNotification",{"chargePointVendor":"v","chargePointModel":"m","colour":"red"}]`, "a7", PropertyConstraintViolation},
		{`[2,"a8","BootNotification",{"chargePointVendor":5,"chargePointModel":"m"}]`, "a8", TypeConstraintViolation},
		{`[2,"a9","BootNotification",{"chargePointVendor":"` + long + `","chargePointModel":"m"}]`, "a9", FormationViolation},
		{`[2,"b1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Bogus"}]`, "b1", FormationViolation},
		{`[2,"b2","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":0,"timestamp":"yesterday"}]`, "b2", FormationViolation},
		{`[2,"b3","Heartbeat",[]]`, "b3", TypeConstraintViolation},
		{`[2,"b5","StatusNotification",{"connectorId":65,"errorCode":"NoError","status":"Available"}]`, "b5", PropertyConstraintViolation},
		{`[2,"b4","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z"}]}]`, "b4", OccurrenceConstraintViolation},
	} {
		got := roundTrip(t, c, tc.msg)
		if len(got) != 5 || got[0] != 4.0 || got[1] != tc.id || got[2] != tc.code {
			t.Errorf("%s: got %v, want CallError %s for id %s", tc.msg, got, tc.code, tc.id)
		}
	}
	// The connection survives all of it.
	if got := roundTrip(t, c, `[2,"ok","Heartbeat",{}]`); got[0] != 3.0 || got[1] != "ok" {
		t.Errorf("Heartbeat: %v", got)
	}
	// Once the device exists, a bad message shows in its state until the next good one.
	roundTrip(t, c, `[2,"boot","BootNotification",{"chargePointVendor":"v","chargePointModel":"m"}]`)
	if got := roundTrip(t, c, `[2,"bad","Heartbeat",{"x":1}]`); got[0] == 2.0 { // gridbox's GetConfiguration came first
		readFor(t, c, "bad")
	}
	if d, _ := b.Device("cp-001"); !strings.Contains(d.Error, PropertyConstraintViolation) || d.Errors != 1 {
		t.Errorf("device state after a bad message: %+v", d)
	}
	if n := testCount(s.m.callErrors.WithLabelValues(FormationViolation)); n < 8 {
		t.Errorf("FormationViolation counted %v times", n)
	}
}

// TestCallTimeout: a call the charge point never answers times out, is
// counted, and a late answer is dropped without harm.
func TestCallTimeout(t *testing.T) {
	s, b, url := testServer(t, func(c *Config) { c.CallTimeout = config.Duration(200 * time.Millisecond) })
	c, _, err := dial(t, url, "CP-001", "pw-1", "ocpp1.6")
	if err != nil {
		t.Fatal(err)
	}
	got := roundTrip(t, c, `[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]`)
	if got[0] != 3.0 {
		t.Fatalf("StatusNotification: %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Write(ctx, "cp-001_1", "enabled", false); err == nil {
		t.Fatal("a write the charge point never answered succeeded")
	}
	if n := testCount(s.m.timeouts); n != 1 {
		t.Errorf("timeouts counted: %v", n)
	}
	_, call, err := c.Read(ctx) // the ChangeAvailability we did not answer
	if err != nil {
		t.Fatal(err)
	}
	var f []any
	json.Unmarshal(call, &f)
	late, _ := json.Marshal([]any{3, f[1], map[string]string{"status": "Accepted"}})
	c.Write(ctx, websocket.MessageText, late)
	if got := roundTrip(t, c, `[2,"h","Heartbeat",{}]`); got[0] != 3.0 {
		t.Errorf("after a late answer: %v", got)
	}
}

// readFor reads messages until the answer to id.
func readFor(t *testing.T, c *websocket.Conn, id string) []any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", id, err)
		}
		var m []any
		if json.Unmarshal(b, &m) == nil && len(m) > 1 && m[0] != 2.0 && m[1] == id {
			return m
		}
	}
}

func TestAuthorizeAndDataTransfer(t *testing.T) {
	_, _, url := testServer(t, func(c *Config) { c.IDTags = []string{"GOOD"}; c.DataTransfer = []string{"com.acme"} })
	c, _, err := dial(t, url, "CP-001", "pw-1", "ocpp1.6")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ msg, want string }{
		{`[2,"1","Authorize",{"idTag":"GOOD"}]`, `{"idTagInfo":{"status":"Accepted"}}`},
		{`[2,"2","Authorize",{"idTag":"BAD"}]`, `{"idTagInfo":{"status":"Invalid"}}`},
		{`[2,"3","DataTransfer",{"vendorId":"com.acme","data":"x"}]`, `{"status":"Accepted"}`},
		{`[2,"4","DataTransfer",{"vendorId":"org.other"}]`, `{"status":"UnknownVendorId"}`},
		{`[2,"5","FirmwareStatusNotification",{"status":"Installed"}]`, `{}`},
	} {
		got := roundTrip(t, c, tc.msg)
		b, _ := json.Marshal(got[len(got)-1])
		if got[0] != 3.0 || string(b) != tc.want {
			t.Errorf("%s: %v, want %s", tc.msg, got, tc.want)
		}
	}
}

// TestDeadConnection: a charge point that stops answering pings is taken
// offline.
func TestDeadConnection(t *testing.T) {
	_, b, url := testServer(t, func(c *Config) {
		c.Ping, c.CallTimeout = config.Duration(100*time.Millisecond), config.Duration(300*time.Millisecond)
	})
	c, _, err := dial(t, url, "CP-001", "pw-1", "ocpp1.6")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, `[2,"1","BootNotification",{"chargePointVendor":"v","chargePointModel":"m"}]`)
	// No more reads: pongs are answered only while reading.
	testenv.Eventually(t, 20*time.Second, "cp-001 offline", func() bool { d, _ := b.Device("cp-001"); return !d.Online })
}
