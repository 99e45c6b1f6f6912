package record

import (
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// TestCollector: records carry _d, _vid, renamed and selected fields; a
// status item goes once per level change, after Sent; old values are
// left out; removed devices are forgotten.
func TestCollector(t *testing.T) {
	c := NewCollector(Options{VendorIDs: map[string]string{"inv": "V1"}, FieldNames: map[string]string{"inv/p": "P_total"},
		Fields: map[string][]string{"inv": {"p"}}, Devices: []string{"inv", "meter"}})
	now := time.Now()
	v := func(dev, name string, x any, age time.Duration) model.Value {
		return model.Value{Device: dev, Name: name, Value: x, Time: now.Add(-age).UnixMilli(), Quality: model.Good}
	}
	c.Value(v("inv", "p", 12345.0, 0))
	c.Value(v("inv", "freq", 50.0, 0))       // not in fields
	c.Value(v("other", "p", 1.0, 0))         // not in devices
	c.Value(v("meter", "e", 7.0, time.Hour)) // older than max_age
	c.State(model.DeviceState{Device: "inv", Online: true})
	p, ok := c.Build(now, "cfg1")
	if !ok || len(p.R) != 1 || p.T != now.Unix() || p.M.ConfigID != "cfg1" || p.M.DataProvider != DataProvider {
		t.Fatalf("payload %+v", p)
	}
	r := p.R[0]
	if r["_d"] != "inv" || r["_vid"] != "V1" || r["P_total"] != 12345.0 || r["freq"] != nil || r["_s"] == nil || len(r) != 4 {
		t.Fatalf("record %v", r)
	}
	p, _ = c.Build(now, "")
	if p.R[0]["_s"] == nil {
		t.Fatal("status item lost before Sent")
	}
	c.Sent()
	c.State(model.DeviceState{Device: "inv", Online: true})
	if p, _ = c.Build(now, ""); p.R[0]["_s"] != nil {
		t.Fatalf("status sent again without a level change: %v", p.R[0])
	}
	c.State(model.DeviceState{Device: "inv", Online: false, Error: "timeout"})
	if p, _ = c.Build(now, ""); len(p.R[0]["_s"].([]Status)) != 1 || p.R[0]["_s"].([]Status)[0] != (Status{"offline: timeout", LevelOffline}) {
		t.Fatalf("offline status: %v", p.R[0])
	}
	c.Event(bus.Event{Type: bus.DeviceRemoved, Device: model.DeviceState{Device: "inv"}})
	if _, ok := c.Build(now, ""); ok {
		t.Fatal("a removed device still reported")
	}
}

// TestCycle: read_roundtime aligns t and the next cycle.
func TestCycle(t *testing.T) {
	o := Options{ReadRoundtime: true}.WithDefaults()
	at := time.Unix(1660757423, 0)
	if got := o.CycleStart(at).Unix(); got != 1660757400 {
		t.Errorf("cycle start %d", got)
	}
	if got := o.NextCycle(at).Unix(); got != 1660757460 {
		t.Errorf("next cycle %d", got)
	}
	if o.MaxAge != o.ReadInterval {
		t.Errorf("max_age default %v", o.MaxAge)
	}
}
