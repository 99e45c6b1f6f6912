package httpdrv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sim/httpsim"
)

// TestGatewayCarriesOnBesideGarbage runs a gateway with two HTTP devices:
// the Fronius simulator and a server that answers each poll with another
// kind of garbage (bad JSON, truncated JSON, wrong types, HTTP 500, an
// oversized body) — and a socket device fed garbage lines. The bad devices'
// errors are counted by kind in /metrics and shown in their state ($state
// on MQTT, the REST device list); the good device keeps publishing.
func TestGatewayCarriesOnBesideGarbage(t *testing.T) {
	pv, err := httpsim.Start(context.Background(), "fronius-solar-api", "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pv.Close()
	var n atomic.Int64
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 5 {
		case 0:
			fmt.Fprint(w, `{"P": ]`)
		case 1:
			fmt.Fprint(w, `{"P": 12`)
		case 2:
			fmt.Fprint(w, `{"P": "twelve"}`)
		case 3:
			http.Error(w, "boom", http.StatusInternalServerError)
		case 4:
			fmt.Fprintf(w, `{"P": "%s"}`, strings.Repeat("x", 4096))
		}
	}))
	defer garbage.Close()
	junk := junkFeed(t)
	src := fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
devices:
  - {id: pv, driver: http, timeout: 10s, url: %q, profile: fronius-solar-api, interval: 50ms}
  - {id: bad, driver: http, timeout: 10s, url: %q, format: json, max_body: 1000, interval: 20ms, datapoints: [{name: p, path: P, unit: W}]}
  - {id: junk, driver: socket, url: "tcp://%s", format: json, timeout: 10s, datapoints: [{name: p, path: P, unit: W}]}
`, t.TempDir(), pv.URL(), garbage.URL, junk)
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := gw.Wait(); err != nil {
			t.Errorf("gateway stopped with: %v", err)
		}
	}()
	metrics := "http://" + gw.HTTPAddr() + "/metrics"
	for _, kind := range []string{"malformed", "type", "status", "oversized"} {
		series := fmt.Sprintf(`gridbox_http_device_errors_total{device="bad",kind=%q}`, kind)
		testenv.Eventually(t, 20*time.Second, series+" ≥ 2", func() bool { return testenv.Metric(t, metrics, series) >= 2 })
	}
	testenv.Eventually(t, 20*time.Second, "junk's garbage lines counted", func() bool {
		return testenv.Metric(t, metrics, `gridbox_socket_errors_total{device="junk",kind="malformed"}`) >= 1
	})
	testenv.Eventually(t, 20*time.Second, "junk's good line", func() bool {
		_, v, _, _ := gw.Bus().Datapoint("junk", "p")
		return v.Value == 5.0
	})
	// The good line cleared the error text; the count stays.
	if st, _ := gw.Bus().Device("junk"); st.Errors < 1 || st.Polls < 2 || !st.Online {
		t.Errorf("junk device state %+v: want online, 2 documents, 1 error", st)
	}
	checkStateTopic(t, gw.MQTTAddr(), "bad")
	st, ok := gw.Bus().Device("bad")
	if !ok || st.Errors < 8 || st.Polls < st.Errors || st.Error == "" {
		t.Errorf("bad device state %+v: want errors counted and the last one shown", st)
	}
	// The good device carries on: a fresh value after the garbage was counted.
	since := model.NowMs()
	testenv.Eventually(t, 20*time.Second, "a fresh pv_power", func() bool {
		_, v, _, ok := gw.Bus().Datapoint("pv", "pv_power")
		return ok && v.Time > since && v.Value == 2500.0 && v.Quality == model.Good
	})
	if st, _ := gw.Bus().Device("pv"); !st.Online || st.Errors != 0 {
		t.Errorf("pv state %+v: want online without errors", st)
	}
	// The REST API shows the same state.
	resp, err := http.Get("http://" + gw.HTTPAddr() + "/api/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(body); !strings.Contains(s, "bad") || !strings.Contains(s, "errors") {
		t.Errorf("/api/v1/devices = %s", s)
	}
}

// junkFeed is a TCP server that sends each client a garbage line and a
// good one ({"P": 5}), then stays silent; it stops at test end.
func junkFeed(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			fmt.Fprint(c, "\x00\x01 not json at all\n{\"P\": 5}\n")
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// checkStateTopic waits for the device's retained $state on MQTT to show
// it offline with an error.
func checkStateTopic(t *testing.T, broker, device string) {
	t.Helper()
	got := make(chan string, 16)
	opts := paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("state-" + device)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	topic := "gridbox/" + device + "/$state"
	tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case p := <-got:
			var st struct {
				Online bool   `json:"online"`
				Error  string `json:"error"`
			}
			if json.Unmarshal([]byte(p), &st) == nil && !st.Online && st.Error != "" {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no offline state with an error", topic)
		}
	}
}
