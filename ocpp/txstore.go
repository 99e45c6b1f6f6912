package ocpp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Transaction is one charging session as stored and served by the REST API.
type Transaction struct {
	ID          int        `json:"transaction_id"`
	ChargePoint string     `json:"charge_point"` // the id as the charge point sends it
	Connector   int        `json:"connector"`
	IDTag       string     `json:"id_tag"`
	Start       time.Time  `json:"start"`
	Stop        *time.Time `json:"stop,omitempty"`
	MeterStart  int        `json:"meter_start"`          // Wh
	MeterStop   *int       `json:"meter_stop,omitempty"` // Wh
	Energy      *int       `json:"energy,omitempty"`     // Wh, meter_stop - meter_start
	StopReason  string     `json:"stop_reason,omitempty"`
}

// TransactionsFile is the name of the transactions file in data_dir.
const TransactionsFile = "ocpp-transactions.jsonl"

// txStore keeps transactions in memory and in a JSON-lines file: one line
// per start and one per stop, the last line of an id wins. Every append is
// synced before the charge point gets its answer, so a stored transaction
// survives a crash or restart.
type txStore struct {
	mu   sync.Mutex
	f    *os.File
	byID map[int]*Transaction
	open map[string]map[int]int // charge point → connector → id of its open transaction
	next int
}

// openTxStore opens (creating) dir/TransactionsFile and reads it back. A
// line that cannot be read (a torn last line after a crash) is skipped and
// logged.
func openTxStore(dir string, log *slog.Logger) (*txStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("transactions: %w", err)
	}
	path := filepath.Join(dir, TransactionsFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("transactions: %w", err)
	}
	s := &txStore{f: f, byID: map[int]*Transaction{}, open: map[string]map[int]int{}, next: 1}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var t Transaction
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil || t.ID <= 0 {
			log.Warn("transactions file: line skipped", "file", path, "line", line, "error", err)
			continue
		}
		s.byID[t.ID] = &t
		s.next = max(s.next, t.ID+1)
	}
	s.indexOpen()
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("transactions: read %s: %w", path, err)
	}
	return s, nil
}

// start stores a new transaction and returns it with its id.
func (s *txStore) start(t Transaction) (Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ID = s.next
	if err := s.append(&t); err != nil {
		return t, err
	}
	s.next++
	s.byID[t.ID] = &t
	s.setOpen(&t)
	return t, nil
}

// stop records the end of transaction id; ok is false for an unknown id.
func (s *txStore) stop(id int, at time.Time, meterStop int, reason string) (Transaction, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[id]
	if !ok {
		return Transaction{}, false, nil
	}
	t := *old
	energy := meterStop - t.MeterStart
	t.Stop, t.MeterStop, t.Energy, t.StopReason = &at, &meterStop, &energy, reason
	if err := s.append(&t); err != nil {
		return t, true, err
	}
	s.byID[id] = &t
	if s.open[t.ChargePoint][t.Connector] == id {
		delete(s.open[t.ChargePoint], t.Connector)
	}
	return t, true, nil
}

// append writes t as one line and syncs. Called with s.mu held.
func (s *txStore) append(t *Transaction) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("transactions: %w", err)
	}
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("transactions: write: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("transactions: sync: %w", err)
	}
	return nil
}

// indexOpen finds the open transactions after loading: the newest
// transaction of a connector, if it has not stopped (an older one left
// open was abandoned when the newer began).
func (s *txStore) indexOpen() {
	ids := make([]int, 0, len(s.byID))
	for id := range s.byID {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		t := s.byID[id]
		s.setOpen(t)
		if t.Stop != nil {
			delete(s.open[t.ChargePoint], t.Connector)
		}
	}
}

// setOpen records t as the open transaction of its connector (the newest
// wins). Called with s.mu held, or before s is shared.
func (s *txStore) setOpen(t *Transaction) {
	m := s.open[t.ChargePoint]
	if m == nil {
		m = map[int]int{}
		s.open[t.ChargePoint] = m
	}
	if t.ID > m[t.Connector] {
		m[t.Connector] = t.ID
	}
}

// active returns the open transaction of a connector.
func (s *txStore) active(cp string, connector int) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.open[cp][connector]
	if !ok {
		return Transaction{}, false
	}
	return *s.byID[id], true
}

// get returns transaction id.
func (s *txStore) get(id int) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[id]
	if !ok {
		return Transaction{}, false
	}
	return *t, true
}

// list returns the transactions of cp ("" = every charge point) that started
// in [from, to], oldest first.
func (s *txStore) list(cp string, from, to time.Time) []Transaction {
	s.mu.Lock()
	out := make([]Transaction, 0)
	for _, t := range s.byID {
		if (cp == "" || t.ChargePoint == cp) && !t.Start.Before(from) && !t.Start.After(to) {
			out = append(out, *t)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *txStore) close() error { return s.f.Close() }
