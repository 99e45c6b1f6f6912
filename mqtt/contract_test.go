package mqtt

import (
	"strings"
	"testing"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/model"
)

// startBroker runs an embedded broker on a free port until the test ends.
func startBroker(t testing.TB) *broker.Broker {
	t.Helper()
	br, err := broker.Start(broker.Options{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	return br
}

// request publishes a write and returns the decoded answer on /set/result.
func (w *watcher) request(t testing.TB, topic, payload string) map[string]any {
	t.Helper()
	rt := topic + "/result"
	n := w.count(rt)
	w.publish(t, topic, payload, false)
	eventually(t, "an answer on "+rt, func() bool { return w.count(rt) > n })
	m := w.waitPayload(t, rt, func(msg) bool { return true })
	if m.retained {
		t.Errorf("%s was retained", rt)
	}
	return decode(t, m.payload)
}

// TestEmbeddedContract checks the topics of docs/mqtt.md through the in-process broker.
func TestEmbeddedContract(t *testing.T) {
	br := startBroker(t)
	testContract(t, Options{Broker: "embedded", Embedded: br}, br.Addr(), "gridbox", true)
}

// TestMosquitto311Contract checks the topics of docs/mqtt.md through Mosquitto over MQTT 3.1.1.
func TestMosquitto311Contract(t *testing.T) {
	needMosquitto(t)
	prefix := uniquePrefix(t, sharedMosquitto)
	// MQTT 3.1.1 cannot tell a live retained publish from a plain one (the
	// broker clears the flag), so only stored retained /set messages are checked.
	testContract(t, Options{Broker: "mqtt://" + sharedMosquitto, Prefix: prefix, ClientID: prefix}, sharedMosquitto, prefix, false)
}

// TestMosquitto5Contract checks the topics of docs/mqtt.md through Mosquitto over MQTT 5.
func TestMosquitto5Contract(t *testing.T) {
	needMosquitto(t)
	prefix := uniquePrefix(t, sharedMosquitto)
	testContract(t, Options{Broker: "mqtt5://" + sharedMosquitto, Prefix: prefix, ClientID: prefix}, sharedMosquitto, prefix, true)
}

func testContract(t *testing.T, o Options, addr, prefix string, liveRetainedVisible bool) {
	dev := &device{}
	b := newBus(t, dev)
	b.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.5, Time: 1700000000000, Quality: model.Good})
	setTopic := prefix + "/room/setpoint/set"

	// A retained write left on the broker must not be applied when the publisher subscribes.
	pre := watch(t, addr, prefix+"/nothing")
	pre.publish(t, setTopic, "27", true)

	r := startPublisher(t, b, o)
	first := watch(t, addr, prefix+"/#")
	first.waitExact(t, prefix+"/$state", `{"online":true,"version":"test"}`)
	first.waitExact(t, prefix+"/room/temperature", `{"value":21.5,"timestamp":1700000000000,"quality":"good"}`)
	eventually(t, "the stored retained /set to be seen and ignored", func() bool { return r.metric("writes", writeRetained) >= 1 })

	t.Run("retained state for a fresh subscriber", func(t *testing.T) {
		w := watch(t, addr, prefix+"/#")
		want := map[string]string{
			prefix + "/$state":                 `{"online":true,"version":"test"}`,
			prefix + "/room/$state":            `{"online":true,"last_seen":1700000000000}`,
			prefix + "/room/temperature":       `{"value":21.5,"timestamp":1700000000000,"quality":"good"}`,
			prefix + "/$meta/room/temperature": `{"kind":"sensor","format":"continuous_numeric","unit":"°C","description":"room temperature"}`,
			prefix + "/$meta/room/setpoint":    `{"kind":"actuator","format":"continuous_numeric","unit":"°C","min":15,"max":30,"role":"setpoint"}`,
		}
		for topic, payload := range want {
			if m := w.waitExact(t, topic, payload); !m.retained {
				t.Errorf("%s: not retained", topic)
			}
		}
		if n := w.count(prefix + "/room/setpoint"); n != 0 {
			t.Errorf("setpoint has no value yet but %d messages arrived", n)
		}
	})

	t.Run("live values and device states", func(t *testing.T) {
		b.Publish(model.Value{Device: "room", Name: "temperature", Value: 22.0, Time: 1700000001000, Quality: model.Good})
		first.waitExact(t, prefix+"/room/temperature", `{"value":22,"timestamp":1700000001000,"quality":"good"}`)
		b.Publish(model.Value{Device: "room", Name: "temperature", Value: nil, Time: 1700000002000, Quality: model.Stale})
		first.waitExact(t, prefix+"/room/temperature", `{"value":null,"timestamp":1700000002000,"quality":"stale"}`)
		b.SetState(model.DeviceState{Device: "room", Online: false, Error: "connection refused"}, 1, 1)
		first.waitExact(t, prefix+"/room/$state", `{"online":false,"last_seen":1700000000000,"error":"connection refused"}`)
	})

	t.Run("writes", func(t *testing.T) {
		cases := []struct {
			name, topic, payload string
			ok                   bool
			want                 any // read-back value, or a part of the error
		}{
			{"accepted with read-back", setTopic, `{"value": 22.3}`, true, 22.5},
			{"bare scalar", setTopic, `26`, true, 26.0},
			{"above max", setTopic, `40`, false, "above max 30"},
			{"below min", setTopic, `{"value": 2}`, false, "below min 15"},
			{"wrong type", setTopic, `"hot"`, false, "want a number"},
			{"sensor", prefix + "/room/temperature/set", `20`, false, "sensor"},
			{"bad JSON", setTopic, `{"value":`, false, "truncated JSON"},
			{"not JSON", setTopic, `{value}`, false, "not JSON"},
			{"unknown key", setTopic, `{"value": 22, "x": 1}`, false, `unknown key "x"`},
			{"duplicate key", setTopic, `{"value": 22, "value": 23}`, false, `"value" more than once`},
			{"wrong-case key", setTopic, `{"Value": 22}`, false, "case-sensitive"},
			{"too large", setTopic, `"` + strings.Repeat("x", 70<<10) + `"`, false, "payload too large: 71682 bytes (max 65536)"},
			{"unknown datapoint", prefix + "/room/nope/set", `1`, false, "unknown datapoint"},
			{"unknown device", prefix + "/cellar/setpoint/set", `20`, false, "unknown datapoint"},
		}
		for _, c := range cases {
			res := first.request(t, c.topic, c.payload)
			if res["ok"] != c.ok {
				t.Errorf("%s: answer %v, want ok=%v", c.name, res, c.ok)
				continue
			}
			if c.ok && (res["value"] != c.want || res["timestamp"] == nil) {
				t.Errorf("%s: answer %v, want value %v and a timestamp", c.name, res, c.want)
			}
			if msg, _ := res["error"].(string); !c.ok && (!strings.Contains(msg, c.want.(string)) || len(msg) > 200) {
				t.Errorf("%s: error %q, want a short one containing %q", c.name, model.Short(msg), c.want)
			}
		}
		if got := dev.writes(); len(got) != 2 || got[0] != 22.3 || got[1] != 26.0 {
			t.Errorf("device saw writes %v, want only [22.3 26]", got)
		}
		if ok, rej := r.metric("writes", writeOK), r.metric("writes", writeRejected); ok != 2 || rej != 12 {
			t.Errorf("writes_total ok=%v rejected=%v, want 2 and 12", ok, rej)
		}
	})

	if liveRetainedVisible {
		t.Run("live retained write ignored", func(t *testing.T) {
			before := r.metric("writes", writeRetained)
			first.publish(t, setTopic, "28", true)
			// Messages of one client arrive in order: once 29 is answered, 28 was handled.
			if res := first.request(t, setTopic, "29"); res["ok"] != true || res["value"] != 29.0 {
				t.Fatalf("answer to 29: %v", res)
			}
			if got := dev.writes(); got[len(got)-1] != 29.0 || len(got) != 3 {
				t.Errorf("device saw writes %v, want the retained 28 (and 27) skipped", got)
			}
			if after := r.metric("writes", writeRetained); after != before+1 {
				t.Errorf("writes_total{result=retained} went %v → %v, want +1", before, after)
			}
		})
	}
	for _, v := range dev.writes() {
		if v == 27.0 || v == 28.0 {
			t.Errorf("a retained write (%v) reached the device", v)
		}
	}

	t.Run("metrics", func(t *testing.T) {
		if r.metric("connected") != 1 || r.metric("published") < 6 || r.metric("reconnects") != 0 {
			t.Errorf("connected=%v published=%v reconnects=%v", r.metric("connected"), r.metric("published"), r.metric("reconnects"))
		}
	})

	t.Run("clean shutdown publishes offline", func(t *testing.T) {
		r.stop(t)
		w := watch(t, addr, prefix+"/$state")
		if m := w.waitExact(t, prefix+"/$state", `{"online":false}`); !m.retained {
			t.Error("offline $state not retained")
		}
		if r.metric("connected") != 0 {
			t.Error("connected gauge still 1 after Run returned")
		}
	})
}
