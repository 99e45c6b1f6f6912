package storetest

import (
	"reflect"
	"testing"

	"github.com/gridbox/gridbox/model"
)

// testAudit: audit records come back as stored (values keep their JSON
// types, nil stays nil), oldest first, filtered by time and datapoint,
// limited, and still there after a reopen.
func testAudit(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	recs := []model.AuditRecord{
		{Time: 1000, Source: "rest", Datapoint: "room/setpoint", Old: 21.5, Value: 23.0, Result: model.AuditApplied},
		{Time: 2000, Source: "mqtt", Datapoint: "room/setpoint", Old: 23.0, Value: 99.0, Result: model.AuditRefused, Error: "above max 30"},
		{Time: 2000, Source: "control", Datapoint: "wb/enabled", Old: nil, Value: true, Result: model.AuditFailed, Error: "timeout"},
		{Time: 3000, Source: "uplink", Datapoint: "pv/mode", Old: "auto", Value: "eco", Result: model.AuditApplied},
	}
	for _, r := range recs {
		if err := s.Audit(ctx, r); err != nil {
			t.Fatalf("audit %+v: %v", r, err)
		}
	}
	_ = s.Close()
	s = open(t)
	defer s.Close()
	check := func(q model.AuditQuery, want ...model.AuditRecord) {
		t.Helper()
		got, err := s.AuditRecords(ctx, q)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		if want == nil {
			want = []model.AuditRecord{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("query %+v:\n got %+v\nwant %+v", q, got, want)
		}
	}
	check(model.AuditQuery{From: 0, To: 5000}, recs...)
	check(model.AuditQuery{From: 2000, To: 2000}, recs[1], recs[2])
	check(model.AuditQuery{From: 0, To: 5000, Datapoint: "room/setpoint"}, recs[0], recs[1])
	check(model.AuditQuery{From: 0, To: 5000, Limit: 2}, recs[0], recs[1])
	check(model.AuditQuery{From: 4000, To: 5000})
}
