package ocpp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gridbox/gridbox/model"
)

// TransactionsAnswer is the body of GET /api/v1/ocpp/transactions.
type TransactionsAnswer struct {
	Transactions []Transaction `json:"transactions"`
}

// handleTransactions serves the stored transactions, filtered by
// charge_point (the id as the charge point sends it) and by start time
// from/to (integer ms or RFC 3339, inclusive).
func (s *Server) handleTransactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "charge_point" && k != "from" && k != "to" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown parameter %q (valid: charge_point, from, to)", model.Short(k)), "field": k})
			return
		}
	}
	from, to := time.Time{}, time.Now().Add(time.Hour*24*365*100)
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.key); v != "" {
			t, err := readTime(v)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": p.key + ": " + err.Error(), "field": p.key})
				return
			}
			*p.t = t
		}
	}
	writeJSON(w, http.StatusOK, TransactionsAnswer{Transactions: s.tx.list(q.Get("charge_point"), from, to)})
}

// readTime accepts integer milliseconds since the epoch or RFC 3339.
func readTime(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither integer milliseconds nor RFC 3339", model.Short(v))
	}
	return t, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
