package uplink_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/uplink"
	"github.com/gridbox/gridbox/uplink/uplinktest"
)

// cloud is the back end's side: a persistent-session QoS 1 subscriber
// keeping every message under a filter, raw.
type cloud struct {
	mu   sync.Mutex
	msgs map[string][][]byte
}

func newCloud(t *testing.T, addr, filter string) *cloud {
	t.Helper()
	c := &cloud{msgs: map[string][][]byte{}}
	subscribed := make(chan struct{}, 1)
	o := mqtt3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("cloud-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(500 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).SetOrderMatters(true)
	o.SetOnConnectHandler(func(cl mqtt3.Client) {
		tok := cl.Subscribe(filter, 1, func(_ mqtt3.Client, m mqtt3.Message) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.msgs[m.Topic()] = append(c.msgs[m.Topic()], m.Payload())
		})
		go func() {
			if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				select {
				case subscribed <- struct{}{}:
				default:
				}
			}
		}()
	})
	cl := mqtt3.NewClient(o)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("cloud connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("cloud: no SUBACK")
	}
	return c
}

func (c *cloud) get(topic string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.msgs[topic]...)
}

type dlPayload struct {
	T int64            `json:"t"`
	R []map[string]any `json:"r"`
	M map[string]any   `json:"m"`
}

// payloads decodes the u/data messages by t (duplicates of a QoS 1
// resend collapse).
func (c *cloud) payloads(t *testing.T) map[int64]dlPayload {
	out := map[int64]dlPayload{}
	for _, b := range c.get("a/node1/u/data") {
		var p dlPayload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("u/data payload %q: %v", b, err)
		}
		out[p.T] = p
	}
	return out
}

// TestUplinkDataloggerFormatOutage: with format: datalogger the uplink
// sends the datalogger's u/data payloads to <root>/u/data and its
// u/meta/* retained; the payloads produced while the remote broker is down
// arrive after it is back, every one of them.
func TestUplinkDataloggerFormatOutage(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	cl := newCloud(t, m.Addr, "a/node1/u/#")
	cfg := testConfig(t, "mqtt://"+m.Addr)
	cfg.TopicRoot, cfg.Format = "a/node1", uplink.FormatDatalogger
	cfg.Datalogger.ReadInterval, cfg.Datalogger.MaxAge = config.Duration(time.Second), config.Duration(24*time.Hour)
	cfg.Datalogger.VendorIDs = map[string]string{"meter": "vid-1"}
	cfg.Datalogger.FieldNames = map[string]string{"p": "P_total"}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	b := newBus(t)
	put := func(p float64) {
		b.Publish(model.Value{Device: "meter", Name: "p", Value: p, Time: model.NowMs(), Quality: model.Good})
	}
	put(1.5)
	g := startUplink(t, b, cfg)
	queued := func() int {
		mfs, err := g.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "gridbox_uplink_queued_values_total" {
				return int(mf.GetMetric()[0].GetCounter().GetValue())
			}
		}
		return -1
	}

	testenv.Eventually(t, 30*time.Second, "u/data payloads and u/meta/arch", func() bool {
		return len(cl.payloads(t)) >= 2 && len(cl.get("a/node1/u/meta/arch")) > 0
	})
	for _, p := range cl.payloads(t) {
		if len(p.R) != 1 || p.R[0]["_d"] != "meter" || p.R[0]["_vid"] != "vid-1" || p.R[0]["P_total"] != 1.5 || p.M["data_provider"] != "gridbox" {
			t.Fatalf("payload %+v", p)
		}
		break
	}
	if a := cl.get("a/node1/u/meta/arch"); string(a[len(a)-1]) == "" {
		t.Fatalf("u/meta/arch: %q", a)
	}

	m.Stop()
	stopped := queued()
	put(2.5) // a value produced during the outage
	testenv.Eventually(t, 60*time.Second, "three payloads queued during the outage", func() bool {
		return queued() >= stopped+3
	})
	restarted := queued()
	m.Start()
	testenv.Eventually(t, 60*time.Second, "every payload queued up to the restart at the cloud", func() bool {
		return len(cl.payloads(t)) >= restarted
	})
	got := cl.payloads(t)
	with25 := 0
	for _, p := range got {
		if len(p.R) == 1 && p.R[0]["P_total"] == 2.5 {
			with25++
		}
	}
	t.Logf("payloads: %d queued before the outage, %d during it, %d distinct received; %d carry the outage's value",
		stopped, restarted-stopped, len(got), with25)
	if with25 < restarted-stopped-1 { // the cycle running when the value came may still carry 1.5
		t.Errorf("only %d payloads carry the value published during the outage (%d queued during it)", with25, restarted-stopped)
	}
	if dropped := counter(t, g.reg, "gridbox_uplink_dropped_values_total", "overflow"); dropped > 0 {
		t.Errorf("%v dropped", dropped)
	}
}

// TestUplinkDataloggerFormatConfig: format: datalogger refuses what it
// cannot do.
func TestUplinkDataloggerFormatConfig(t *testing.T) {
	cfg := uplink.Kind().NewConfig().(*uplink.Config)
	cfg.Broker, cfg.Format, cfg.Send, cfg.Gzip = "mqtt://127.0.0.1", uplink.FormatDatalogger, "both", true
	cfg.Datalogger.VendorIDs = map[string]string{"meter": ""}
	errs := fmt.Sprint(cfg.Validate())
	for _, w := range []string{"send", "gzip", "datalogger.vendor_ids.meter"} {
		if !contains(errs, w) {
			t.Errorf("errors do not name %s: %s", w, errs)
		}
	}
	cfg.Format = "ammp"
	if !contains(fmt.Sprint(cfg.Validate()), "format") {
		t.Error("unknown format accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
