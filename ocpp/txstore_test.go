package ocpp

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTxStoreSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	s, err := openTxStore(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	t1, _ := s.start(Transaction{ChargePoint: "A", Connector: 1, MeterStart: 100, Start: at})
	t2, _ := s.start(Transaction{ChargePoint: "A", Connector: 1, MeterStart: 200, Start: at.Add(time.Hour)}) // t1 abandoned
	s.start(Transaction{ChargePoint: "B", Connector: 2, MeterStart: 0, Start: at})
	if _, _, err := s.stop(t2.ID, at.Add(2*time.Hour), 900, "Local"); err != nil {
		t.Fatal(err)
	}
	s.close()
	// A torn last line, as after a crash mid-write.
	f, _ := os.OpenFile(filepath.Join(dir, TransactionsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"transaction_id": 9, "charge`)
	f.Close()

	s, err = openTxStore(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if _, open := s.active("A", 1); open {
		t.Error("connector A/1 has an open transaction after reopen")
	}
	if b, open := s.active("B", 2); !open || b.MeterStart != 0 {
		t.Errorf("B/2: %+v %v", b, open)
	}
	got := s.list("A", time.Time{}, at.Add(24*time.Hour))
	if len(got) != 2 || got[0].ID != t1.ID || got[1].Energy == nil || *got[1].Energy != 700 || got[1].StopReason != "Local" {
		t.Errorf("list: %+v", got)
	}
	if n, _ := s.start(Transaction{ChargePoint: "A", Connector: 1}); n.ID != 4 {
		t.Errorf("next id after reopen: %d, want 4", n.ID)
	}
	if l := s.list("", at.Add(30*time.Minute), at.Add(90*time.Minute)); len(l) != 1 || l[0].ID != t2.ID {
		t.Errorf("from/to: %+v", l)
	}
}
