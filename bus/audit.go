package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/gridbox/gridbox/model"
)

// Write sources, as the audit log names them.
const (
	SourceMQTT           = "mqtt"
	SourceREST           = "rest"
	SourceControl        = "control"
	SourceLoadManagement = "loadmanagement"
	SourceUplink         = "uplink"
	SourceUnknown        = "unknown"
)

type sourceKey struct{}

// WithSource returns ctx carrying who asks for a write; every write source
// (MQTT, REST, controllers, the uplink, the Modbus proxy) sets it.
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

// Source is the write source ctx carries, SourceUnknown if none.
func Source(ctx context.Context) string {
	if s, ok := ctx.Value(sourceKey{}).(string); ok && s != "" {
		return s
	}
	return SourceUnknown
}

// auditor records writes in an audit log; failures to record are logged
// and counted, never turned into a failed write.
type auditor struct {
	log    atomic.Pointer[auditSink]
	failed atomic.Uint64
}

type auditSink struct {
	to  model.AuditLog
	log *slog.Logger
}

// SetAuditLog makes every write (applied, refused or failed) recorded in a.
// Call it before writes arrive; nil stops recording.
func (b *Bus) SetAuditLog(a model.AuditLog, log *slog.Logger) {
	if a == nil {
		b.audit.log.Store(nil)
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b.audit.log.Store(&auditSink{to: a, log: log})
}

// AuditFailures counts audit records that could not be stored.
func (b *Bus) AuditFailures() uint64 { return b.audit.failed.Load() }

// record writes one audit record for a write of v to key.
func (b *Bus) record(ctx context.Context, key string, old, v any, err error) {
	s := b.audit.log.Load()
	if s == nil {
		return
	}
	r := model.AuditRecord{Time: model.NowMs(), Source: Source(ctx), Datapoint: key, Old: old, Value: v, Result: model.AuditApplied}
	var inv *InvalidError
	switch {
	case errors.As(err, &inv):
		r.Result, r.Error = model.AuditRefused, err.Error()
	case err != nil:
		r.Result, r.Error = model.AuditFailed, err.Error()
	}
	// The write's own context may be cancelled already (a client that left);
	// the record is kept all the same.
	if aerr := s.to.Audit(context.WithoutCancel(ctx), r); aerr != nil {
		b.audit.failed.Add(1)
		s.log.Error("audit record not stored", "datapoint", key, "source", r.Source, "result", r.Result, "err", fmt.Errorf("audit: %w", aerr))
	}
}
