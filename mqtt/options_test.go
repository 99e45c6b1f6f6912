package mqtt

import (
	"math"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

func TestParseBroker(t *testing.T) {
	ok := []struct {
		in             string
		v5, tls        bool
		addr, user, pw string
	}{
		{"mqtt://broker.local", false, false, "broker.local:1883", "", ""},
		{"mqtts://broker.local", false, true, "broker.local:8883", "", ""},
		{"mqtt5://u:p@10.0.0.2:1884/", true, false, "10.0.0.2:1884", "u", "p"},
		{"mqtts5://u@[::1]:9000", true, true, "[::1]:9000", "u", ""},
	}
	for _, c := range ok {
		tg, err := parseBroker(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if tg.v5 != c.v5 || tg.tls != c.tls || tg.addr != c.addr || tg.user != c.user || tg.pass != c.pw {
			t.Errorf("%s: got %+v", c.in, tg)
		}
	}
	bad := []struct{ in, want string }{
		{"", "broker is empty"},
		{"ftp://x", `scheme "ftp"`},
		{"tcp://x:1883", `scheme "tcp"`},
		{"mqtt://", "missing host"},
		{"mqtt://h/topic", "unexpected path"},
		{"mqtt://h?x=1", "unexpected path, query"},
		{"mqtt://u:secret@h:port", "invalid port"},
		{"broker.local:1883", "scheme"},
	}
	for _, c := range bad {
		_, err := parseBroker(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.in, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: error leaks the password: %v", c.in, err)
		}
	}
	if _, err := parseBroker("mqtts5://u:secret@h:x"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL with password: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	b := bus.New()
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Broker: "embedded"}, "no embedded broker"},
		{Options{Broker: "mqtt://h", Prefix: "a/#"}, `prefix "a/#"`},
		{Options{Broker: "mqtt://h", Prefix: "a/"}, `prefix "a/"`},
		{Options{Broker: "mqtt://h", QoS: 2}, "qos 2"},
		{Options{Broker: "mqtt://h", Buffer: -1}, "buffer -1"},
		{Options{Broker: "mqtt:/h"}, "missing host"},
	}
	for _, c := range cases {
		if _, err := New(b, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
	p, err := New(b, Options{Broker: "mqtt://h", Site: "home-42"})
	if err != nil {
		t.Fatal(err)
	}
	if p.o.Prefix != "gridbox" || p.o.ClientID != "gridbox-home-42" || p.o.Buffer != DefaultBuffer || p.o.QoS != 0 {
		t.Errorf("defaults: %+v", p.o)
	}
	reg := prometheus.NewPedanticRegistry()
	if _, err := New(b, Options{Broker: "mqtt://h", Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(b, Options{Broker: "mqtt://h", Metrics: reg}); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second publisher on one registry: %v", err)
	}
}

func TestPayloads(t *testing.T) {
	vals := []struct {
		v    any
		want string
	}{
		{936.0, `{"value":936,"timestamp":1700000000000,"quality":"good"}`},
		{-0.25, `{"value":-0.25,"timestamp":1700000000000,"quality":"good"}`},
		{1e-9, `{"value":1e-09,"timestamp":1700000000000,"quality":"good"}`},
		{true, `{"value":true,"timestamp":1700000000000,"quality":"good"}`},
		{"A\"b", `{"value":"A\"b","timestamp":1700000000000,"quality":"good"}`},
		{nil, `{"value":null,"timestamp":1700000000000,"quality":"good"}`},
		{int64(7), `{"value":7,"timestamp":1700000000000,"quality":"good"}`},
	}
	for _, c := range vals {
		got, err := appendValue(nil, model.Value{Device: "d", Name: "n", Value: c.v, Time: 1700000000000, Quality: model.Good})
		if err != nil || string(got) != c.want {
			t.Errorf("%v: got %s, %v; want %s", c.v, got, err, c.want)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), make(chan int)} {
		_, err := appendValue(nil, model.Value{Device: "d", Name: "n", Value: v})
		if err == nil || !strings.Contains(err.Error(), "d/n") {
			t.Errorf("%v: error %v, want one naming d/n", v, err)
		}
	}
	if got := string(encodeDeviceState(model.DeviceState{Online: false})); got != `{"online":false,"last_seen":null}` {
		t.Errorf("never-seen device state: %s", got)
	}
	if got := string(encodeResult(writeResult{Error: "above max 30"})); got != `{"ok":false,"error":"above max 30"}` {
		t.Errorf("error result: %s", got)
	}
	if got := string(encodeResult(writeResult{OK: true, Value: 0.0, Time: 5})); got != `{"ok":true,"value":0,"timestamp":5}` {
		t.Errorf("ok result with zero value: %s", got)
	}
	if got := string(encodeResult(writeResult{OK: true, Value: math.NaN(), Time: 5})); !strings.Contains(got, `"ok":false`) {
		t.Errorf("unencodable read-back: %s", got)
	}
}

func TestRingDropsOldest(t *testing.T) {
	r := newRing(3)
	drops := 0
	for i := range 5 {
		if r.push(model.Value{Time: int64(i)}) {
			drops++
		}
	}
	if drops != 2 || r.len() != 3 {
		t.Fatalf("drops %d len %d, want 2 and 3", drops, r.len())
	}
	for want := int64(2); want <= 4; want++ {
		v, ok := r.peek()
		if !ok || v.Time != want {
			t.Fatalf("peek %v %v, want time %d", v, ok, want)
		}
		r.pop()
	}
	if _, ok := r.peek(); ok || r.len() != 0 {
		t.Fatal("ring not empty")
	}
}

// TestRingReusesSlots: an emptied ring starts again at its first slot, so
// outage after outage touches the same memory instead of walking through
// the whole buffer (bench/soak saw the resident set grow bounce by bounce).
func TestRingReusesSlots(t *testing.T) {
	r := newRing(100)
	for outage := range 5 {
		for i := range 10 {
			r.push(model.Value{Time: int64(i)})
		}
		for r.len() > 0 {
			r.pop()
		}
		if r.head != 0 {
			t.Fatalf("after outage %d the next one starts at slot %d, want 0", outage, r.head)
		}
	}
	r.push(model.Value{Time: 7})
	if v, ok := r.peek(); !ok || v.Time != 7 || r.buf[0].Time != 7 {
		t.Fatalf("peek %v %v, slot 0 %v: want the value at slot 0", v, ok, r.buf[0])
	}
}

func TestSetTopic(t *testing.T) {
	p := &Publisher{o: Options{Prefix: "site/gb"}}
	for topic, want := range map[string]string{
		"site/gb/room/setpoint/set":             "set",
		"site/gb/room/setpoint/setpoint":        "setpoint",
		"site/gb/room/setpoint/schedule":        "schedule",
		"site/gb/room/setpoint/set/result":      "",
		"site/gb/room/setpoint/setpoint/result": "",
		"site/gb/room/setpoint/value":           "",
		"site/gb/$meta/room/setpoint":           "",
		"site/gb/room/set":                      "",
		"gridbox/room/setpoint/set":             "",
		"site/gb//setpoint/set":                 "",
	} {
		d, n, what, ok := p.parseSetTopic(topic)
		if ok != (want != "") || ok && (d != "room" || n != "setpoint" || what != want) {
			t.Errorf("%s: %q %q %q %v", topic, d, n, what, ok)
		}
	}
}
