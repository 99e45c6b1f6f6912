package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// Audit stores one audit record at once (not batched: a write is answered
// only after its record is committed).
func (s *Store) Audit(ctx context.Context, r model.AuditRecord) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (ts, source, datapoint, old, value, result, error) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.Time, r.Source, r.Datapoint, model.EncodeAuditValue(r.Old), model.EncodeAuditValue(r.Value), r.Result, r.Error)
	if err != nil {
		return fmt.Errorf("postgres: audit: %w", err)
	}
	return nil
}

// AuditRecords returns the audit records q selects, oldest first.
func (s *Store) AuditRecords(ctx context.Context, q model.AuditQuery) ([]model.AuditRecord, error) {
	var b strings.Builder
	args := []any{q.From, q.To}
	b.WriteString(`SELECT ts, source, datapoint, old, value, result, error FROM audit WHERE ts >= $1 AND ts <= $2`)
	if q.Datapoint != "" {
		args = append(args, q.Datapoint)
		fmt.Fprintf(&b, ` AND datapoint = $%d`, len(args))
	}
	b.WriteString(` ORDER BY ts, id`)
	if q.Limit > 0 {
		args = append(args, q.Limit)
		fmt.Fprintf(&b, ` LIMIT $%d`, len(args))
	}
	rows, err := s.pool.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit query: %w", err)
	}
	defer rows.Close()
	out := []model.AuditRecord{}
	for rows.Next() {
		var r model.AuditRecord
		var old, val string
		if err := rows.Scan(&r.Time, &r.Source, &r.Datapoint, &old, &val, &r.Result, &r.Error); err != nil {
			return nil, fmt.Errorf("postgres: audit query: %w", err)
		}
		r.Old, r.Value = model.DecodeAuditValue(old), model.DecodeAuditValue(val)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: audit query: %w", err)
	}
	return out, nil
}
