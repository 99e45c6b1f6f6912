package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/scan"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// Limits of POST /api/v1/scan: a scan from the web UI covers at most a
// /24 (256 endpoints), asks short timeouts and ends after maxScanTime.
const (
	maxScanEndpoints = 256
	maxScanTimeout   = 5 * time.Second
	maxScanTime      = 2 * time.Minute
	scanConcurrency  = scan.DefaultConcurrency
)

// ScanRequest is the body of POST /api/v1/scan: what `gridbox scan`
// takes on its command line.
type ScanRequest struct {
	Targets string `json:"targets"` // host:port or CIDR:port items, comma-separated (192.168.1.0/24:502)
	Units   string `json:"units"`   // unit ids like "1-247", "1,3"; default "1"
	Timeout string `json:"timeout"` // connect and request timeout; default 500ms, at most 5s
}

// ScanResult is the answer of a scan: every unit that answered.
type ScanResult struct {
	Endpoints int         `json:"endpoints"` // scanned
	Answering int         `json:"answering"` // accepting a connection
	TookMS    int64       `json:"took_ms"`
	Partial   bool        `json:"partial"` // stopped at the time limit
	Units     []ScanFound `json:"units"`
}

// ScanFound is one unit: what answered and the device entry `gridbox scan`
// prints for it, as an object (for the UI's form) and as YAML.
type ScanFound struct {
	Endpoint string         `json:"endpoint"`
	Unit     int            `json:"unit"`
	Answer   string         `json:"answer"`
	SunSpec  bool           `json:"sunspec"`
	Profiles []string       `json:"profiles"`
	Entry    map[string]any `json:"entry"`
	YAML     string         `json:"yaml"`
}

// parseScan checks a scan request and expands its targets.
func parseScan(req ScanRequest) (eps []string, units []uint8, timeout time.Duration, e *httpError) {
	if strings.TrimSpace(req.Targets) == "" {
		return nil, nil, 0, errorf(http.StatusBadRequest, "targets", "no targets (like 192.168.1.10:502 or 192.168.1.0/24:502)")
	}
	eps, err := scan.ParseTargets([]string{req.Targets})
	if err != nil {
		return nil, nil, 0, errorf(http.StatusBadRequest, "targets", "%v", err)
	}
	if len(eps) > maxScanEndpoints {
		return nil, nil, 0, errorf(http.StatusBadRequest, "targets", "%d endpoints: the web UI scans at most %d (a /24); use gridbox scan for more", len(eps), maxScanEndpoints)
	}
	if req.Units == "" {
		req.Units = "1"
	}
	if units, err = scan.ParseUnits(req.Units); err != nil {
		return nil, nil, 0, errorf(http.StatusBadRequest, "units", "%v", err)
	}
	timeout = scan.DefaultTimeout
	if req.Timeout != "" {
		if timeout, err = time.ParseDuration(req.Timeout); err != nil || timeout <= 0 || timeout > maxScanTimeout {
			return nil, nil, 0, errorf(http.StatusBadRequest, "timeout", "%q: want a duration above 0 and at most %s", model.Short(req.Timeout), maxScanTimeout)
		}
	}
	return eps, units, timeout, nil
}

func (s *Server) handleScan(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, bodyError(err))
		return
	}
	var req ScanRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, errorf(http.StatusBadRequest, "body", `want {"targets": "192.168.1.0/24:502", "units": "1", "timeout": "500ms"}: %v`, err))
		return
	}
	eps, units, timeout, e := parseScan(req)
	if e != nil {
		writeError(w, e)
		return
	}
	if !s.scanning.CompareAndSwap(false, true) {
		writeError(w, errorf(http.StatusConflict, "", "a scan is already running; try again when it is done"))
		return
	}
	defer s.scanning.Store(false)
	s.log.Info("scan started", "targets", model.Short(req.Targets), "endpoints", len(eps), "units", len(units), "remote", r.RemoteAddr)
	ctx, cancel := context.WithTimeout(r.Context(), maxScanTime)
	defer cancel()
	start := time.Now()
	var answering int
	opts := scan.Options{Units: units, Timeout: timeout, Concurrency: scanConcurrency,
		Progress: func(p scan.Progress) { answering = p.Answering }}
	if s.opts.Profiles != nil {
		if src, ok := s.opts.Profiles.(driver.ProfileSource); ok {
			opts.Profiles = src
			if n, ok := s.opts.Profiles.(interface{ Names() []string }); ok {
				opts.Names = n.Names()
			}
		}
	}
	found := scan.Scan(ctx, eps, opts)
	res := ScanResult{Endpoints: len(eps), Answering: answering, TookMS: time.Since(start).Milliseconds(),
		Partial: ctx.Err() != nil, Units: []ScanFound{}}
	for _, u := range found {
		f, err := scanFound(u)
		if err != nil {
			writeError(w, errorf(http.StatusInternalServerError, "", "scan result: %v", err))
			return
		}
		res.Units = append(res.Units, f)
	}
	s.log.Info("scan done", "endpoints", len(eps), "units", len(res.Units), "took", time.Since(start).Round(time.Millisecond), "partial", res.Partial)
	writeJSON(w, http.StatusOK, res)
}

// scanFound turns a unit into the entry `gridbox scan` prints for it.
func scanFound(u scan.Unit) (ScanFound, error) {
	var b strings.Builder
	if err := scan.WriteConfig(&b, []scan.Unit{u}); err != nil {
		return ScanFound{}, err
	}
	var doc struct {
		Devices []map[string]any `yaml:"devices"`
	}
	if err := yaml.Unmarshal([]byte(b.String()), &doc); err != nil {
		return ScanFound{}, fmt.Errorf("unit %s/%d: %w", u.Endpoint, u.ID, err)
	}
	if len(doc.Devices) != 1 {
		return ScanFound{}, fmt.Errorf("unit %s/%d: %d device entries, want 1", u.Endpoint, u.ID, len(doc.Devices))
	}
	profiles := u.Profiles
	if profiles == nil {
		profiles = []string{}
	}
	return ScanFound{Endpoint: u.Endpoint, Unit: int(u.ID), Answer: u.Answer, SunSpec: u.SunSpec >= 0, Profiles: profiles,
		Entry: doc.Devices[0], YAML: strings.TrimPrefix(b.String(), "devices:\n")}, nil
}
