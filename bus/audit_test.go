package bus

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gridbox/gridbox/model"
)

// memAudit is an audit log in memory; fail makes Audit fail.
type memAudit struct {
	mu   sync.Mutex
	recs []model.AuditRecord
	fail bool
}

func (m *memAudit) Audit(_ context.Context, r model.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	m.recs = append(m.recs, r)
	return nil
}

func (m *memAudit) AuditRecords(context.Context, model.AuditQuery) ([]model.AuditRecord, error) {
	return nil, nil
}

// failWriter fails every write like a device that does not answer.
type failWriter struct{ calls int }

func (w *failWriter) Write(context.Context, string, any) (any, error) {
	w.calls++
	return nil, errors.New("timeout")
}

// TestAuditRecordsEveryWrite: applied, refused (limit, rate, unknown) and
// failed writes are recorded with their source, old value and reason.
func TestAuditRecordsEveryWrite(t *testing.T) {
	w := &recWriter{}
	b := newTestBus(t, w, 60_000)
	a := &memAudit{}
	b.SetAuditLog(a, nil)
	b.Publish(model.Value{Device: "room", Name: "setpoint", Value: 21.0, Time: 1, Quality: model.Good})
	rest := WithSource(context.Background(), SourceREST)
	mqtt := WithSource(context.Background(), SourceMQTT)
	if _, err := b.Write(rest, "room", "setpoint", 22.0); err != nil {
		t.Fatal(err)
	}
	_, errLimit := b.Write(mqtt, "room", "setpoint", 40.0)
	_, errRate := b.Write(mqtt, "room", "setpoint", 23.0)
	_, errUnknown := b.Write(context.Background(), "room", "nope", 1.0)
	if errLimit == nil || errRate == nil || errUnknown == nil {
		t.Fatalf("want refusals, got %v, %v, %v", errLimit, errRate, errUnknown)
	}
	want := []model.AuditRecord{
		{Source: "rest", Datapoint: "room/setpoint", Old: 21.0, Value: 22.0, Result: model.AuditApplied},
		{Source: "mqtt", Datapoint: "room/setpoint", Old: 21.0, Value: 40.0, Result: model.AuditRefused, Error: errLimit.Error()},
		{Source: "mqtt", Datapoint: "room/setpoint", Old: 21.0, Value: 23.0, Result: model.AuditRefused, Error: errRate.Error()},
		{Source: "unknown", Datapoint: "room/nope", Old: nil, Value: 1.0, Result: model.AuditRefused, Error: errUnknown.Error()},
	}
	if len(a.recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(a.recs), len(want), a.recs)
	}
	for i, r := range a.recs {
		if r.Time <= 0 {
			t.Errorf("record %d has no time", i)
		}
		r.Time = 0
		if r != want[i] {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, r, want[i])
		}
	}

	fw := &failWriter{}
	fb := newTestBus(t, fw, 0)
	fa := &memAudit{}
	fb.SetAuditLog(fa, nil)
	if _, err := fb.Write(WithSource(context.Background(), SourceControl), "room", "setpoint", 20.0); err == nil {
		t.Fatal("a failing device's write succeeded")
	}
	if len(fa.recs) != 1 || fa.recs[0].Result != model.AuditFailed || fa.recs[0].Error != "timeout" || fa.recs[0].Source != "control" {
		t.Fatalf("failed write recorded as %+v", fa.recs)
	}
}

// TestUnchangedValueNotWritten: a value the device already holds is not
// written again, not audited, not rate limited; its value is the answer.
func TestUnchangedValueNotWritten(t *testing.T) {
	w := &recWriter{}
	b := newTestBus(t, w, 60_000)
	a := &memAudit{}
	b.SetAuditLog(a, nil)
	b.Publish(model.Value{Device: "room", Name: "setpoint", Value: 21.0, Time: 1, Quality: model.Good})
	got, err := b.Write(context.Background(), "room", "setpoint", 21.0)
	if err != nil || got != 21.0 {
		t.Fatalf("unchanged write: %v, %v", got, err)
	}
	if len(w.got) != 0 || len(a.recs) != 0 {
		t.Fatalf("unchanged value: writer got %v, audit %v; want neither", w.got, a.recs)
	}
	// Not rate limited by the skipped write: the next real write goes through.
	if _, err := b.Write(context.Background(), "room", "setpoint", 22.0); err != nil || len(w.got) != 1 {
		t.Fatalf("changed write after a skipped one: %v, writer got %v", err, w.got)
	}
	// A stale last value is no proof of what the device holds: written again.
	nb := newTestBus(t, w, 0)
	nb.Publish(model.Value{Device: "room", Name: "setpoint", Value: 25.0, Time: 2, Quality: model.Stale})
	if _, err := nb.Write(context.Background(), "room", "setpoint", 25.0); err != nil || len(w.got) != 2 {
		t.Fatalf("write over a stale value: %v, writer got %v", err, w.got)
	}
}

// TestAuditFailureCounted: an audit log that cannot store a record does not
// fail the write; the failure is counted.
func TestAuditFailureCounted(t *testing.T) {
	w := &recWriter{}
	b := newTestBus(t, w, 0)
	b.SetAuditLog(&memAudit{fail: true}, nil)
	if _, err := b.Write(context.Background(), "room", "setpoint", 20.0); err != nil {
		t.Fatal(err)
	}
	if b.AuditFailures() != 1 || len(w.got) != 1 {
		t.Fatalf("audit failures %d, writes %v", b.AuditFailures(), w.got)
	}
}
