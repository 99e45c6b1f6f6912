package main

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Tolerances of "flat": end sample against start sample.
const (
	tolGoroutines = 5    // more goroutines (least of 5 scrapes)
	tolFDs        = 2    // more open file descriptors
	tolHeap       = 0.20 // relative growth of the heap in use (least of 5 scrapes)
	tolRSS        = 0.20 // relative growth of the resident set
	typicalPoll   = 10 * time.Second
	dayPolls      = 24 * time.Hour / typicalPoll // polls of one device in a day at typicalPoll
	outageBefore  = 5 * time.Second              // a value this much older than a broker stop counts as "in the outage"
	outageAfter   = 15 * time.Second             // … and this much younger than its restart
)

// timeline records what the bench did, when.
type timeline struct {
	mu      sync.Mutex
	lines   []string
	outages []window
	start   time.Time
}

func (t *timeline) add(what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = time.Now()
	}
	t.lines = append(t.lines, fmt.Sprintf("%s %s", time.Now().UTC().Format("15:04:05"), what))
}

func (t *timeline) outage(from, to time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outages = append(t.outages, window{from.Add(-outageBefore).UnixMilli(), to.Add(outageAfter).UnixMilli()})
}

// report is a run's figures.
type report struct {
	o       options
	events  *timeline
	samples []sample
	flaps   int
	wall    time.Duration

	// final counters, scraped once the simulators were stopped and the
	// bus had gone quiet, before the gateway was stopped
	valuesIn, unknown, polls        float64
	storeOut, storeBusDrop          float64
	storeWritten, storeDrop, wrErrs float64
	mqttOut, mqttBusDrop            float64
	bufFull, encode                 float64
	published, reconnects, resent   float64
	// the subscriber and the store file, after the gateway stopped
	received, retained, dups, badPayload uint64
	match                                matchResult
}

func (r *report) sample(label string) sample {
	for _, s := range r.samples {
		if s.label == label {
			return s
		}
	}
	return sample{}
}

// stored is what the store lost: produced values without a row.
func (r *report) storeLost() float64 { return r.valuesIn - float64(r.match.rows) }

// mqttExpected is what the subscriber should have received: values queued
// to the MQTT sink minus the drops the gateway counted.
func (r *report) mqttExpected() float64 { return r.mqttOut - r.bufFull - r.encode }

// mqttUncounted is what went missing over MQTT without being counted.
func (r *report) mqttUncounted() float64 {
	return r.mqttExpected() - float64(r.received-r.dups)
}

func (r *report) checks() []string {
	st, end := r.sample("start"), r.sample("end")
	var out []string
	add := func(ok bool, format string, args ...any) {
		v := "ok  "
		if !ok {
			v = "FAIL"
		}
		out = append(out, v+" "+fmt.Sprintf(format, args...))
	}
	add(end.gMin-st.gMin <= tolGoroutines, "goroutines: start %.0f, end %.0f (tolerance +%d)", st.gMin, end.gMin, tolGoroutines)
	add(end.fds-st.fds <= tolFDs, "open fds: start %d, end %d (tolerance +%d)", st.fds, end.fds, tolFDs)
	add(end.live <= st.live*(1+tolHeap), "live heap: start %.1f MB, end %.1f MB (%+.0f%%, tolerance +%.0f%%)", mb(st.live), mb(end.live), pct(st.live, end.live), 100*tolHeap)
	add(float64(end.rss) <= float64(st.rss)*(1+tolRSS), "RSS: start %.1f MB, end %.1f MB (%+.0f%%, tolerance +%.0f%%)", mb(float64(st.rss)), mb(float64(end.rss)), pct(float64(st.rss), float64(end.rss)), 100*tolRSS)
	add(r.storeLost() == 0 && r.storeBusDrop == 0 && r.storeDrop == 0, "store: %.0f values produced, %d rows stored, %.0f lost", r.valuesIn, r.match.rows, r.storeLost())
	add(r.mqttUncounted() == 0 && r.match.mqttNotStored == 0 && r.mqttBusDrop+r.bufFull+r.encode == 0,
		"mqtt: %.0f values produced, %d delivered to the subscriber, %.0f dropped and counted (bus queue %.0f, offline buffer %.0f, unencodable %.0f), %.0f lost without being counted",
		r.valuesIn, r.received-r.dups, r.mqttBusDrop+r.bufFull+r.encode, r.mqttBusDrop, r.bufFull, r.encode, r.mqttUncounted())
	return out
}

func (r *report) pass() bool {
	for _, c := range r.checks() {
		if strings.HasPrefix(c, "FAIL") {
			return false
		}
	}
	return true
}

func pct(a, b float64) float64 { return 100 * (b - a) / a }

func (r *report) String() string {
	var b strings.Builder
	o := r.o
	measured := r.sample("end").polls - r.sample("start").polls
	total := r.polls
	fmt.Fprintf(&b, "gridbox soak: %d simulated Modbus TCP devices (%s), each polled every %s by one `gridbox run` process\n",
		o.devices, profileMix(), o.interval)
	fmt.Fprintf(&b, "wall time %s (measured phase %s between the start and end samples)\n", r.wall.Round(time.Second), o.duration)
	fmt.Fprintf(&b, "compressed day: %.0f device polls in all (%.0f in the measured phase) = %.2f days of %d devices polled every %s (compression %.0f×)\n",
		total, measured, total/float64(o.devices)/float64(dayPolls), o.devices, typicalPoll, float64(typicalPoll)/float64(o.interval))
	st, end := r.sample("start"), r.sample("end")
	if span := (end.at - st.at).Seconds(); span > 0 {
		fmt.Fprintf(&b, "gateway CPU in the measured phase: %.0f s in %.0f s (%.0f%% of one core), %.0f values/s, %.1f µs CPU per value\n",
			end.cpu-st.cpu, span, 100*(end.cpu-st.cpu)/span, (end.valuesIn-st.valuesIn)/span, 1e6*(end.cpu-st.cpu)/max(1, end.valuesIn-st.valuesIn))
	}
	fmt.Fprintf(&b, "disturbances: %d broker bounces (SIG%s, %s down; 1 in the warm-up), %s flapped %d times (%s down / %s up), every simulator stopped at the end\n\n",
		len(r.events.outages), strings.ToUpper(o.signal), o.outage, "d000", r.flaps, o.flap/2, o.flap/2)
	b.WriteString(sampleHeader + "\n")
	for _, s := range r.samples {
		b.WriteString(s.row() + "\n")
	}
	b.WriteString("(RSS and threads from /proc/PID/status, fds = entries of /proc/PID/fd; heap = go_memstats_heap_inuse_bytes, least of 5 scrapes 1 s apart;\n" +
		" live = live heap marked by the GC, median of the last 5 cycles (GODEBUG=gctrace=1); goroutines = go_goroutines over the 5 scrapes)\n\n")
	fmt.Fprintf(&b, "values produced (accepted by the bus, gridbox_bus_values_in_total): %.0f (unknown datapoints dropped: %.0f)\n", r.valuesIn, r.unknown)
	fmt.Fprintf(&b, "  store: queued %.0f, dropped by the bus %.0f, written %.0f, write errors %.0f, dropped by the store %.0f; rows in gridbox.db %d over %d datapoints\n",
		r.storeOut, r.storeBusDrop, r.storeWritten, r.wrErrs, r.storeDrop, r.match.rows, r.match.datapoints)
	fmt.Fprintf(&b, "  mqtt:  queued %.0f, dropped by the bus %.0f, offline buffer overflow %.0f, unencodable %.0f; published %.0f messages, %.0f reconnects, %.0f values resent after a reconnect\n",
		r.mqttOut, r.mqttBusDrop, r.bufFull, r.encode, r.published, r.reconnects, r.resent)
	fmt.Fprintf(&b, "  subscriber: %d live value messages (%d duplicates: resent or republished after a reconnect), %d retained (republished state, not counted), %d unreadable\n",
		r.received, r.dups, r.retained, r.badPayload)
	fmt.Fprintf(&b, "  matched value by value against the store: %d stored values never arrived over MQTT (%d of them within a broker outage −%s/+%s), %d arrived but are not stored\n\n",
		r.match.mqttMissing, r.match.missingInOut, outageBefore, outageAfter, r.match.mqttNotStored)
	for _, c := range r.checks() {
		b.WriteString(c + "\n")
	}
	verdict := "PASS: resources flat, no value lost"
	if !r.pass() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "verdict: %s\n\nevents:\n", verdict)
	r.events.mu.Lock()
	for _, l := range r.events.lines {
		b.WriteString("  " + l + "\n")
	}
	r.events.mu.Unlock()
	return b.String()
}

func profileMix() string {
	var names []string
	for _, p := range profiles {
		names = append(names, p.name)
	}
	return strings.Join(names, ", ")
}
