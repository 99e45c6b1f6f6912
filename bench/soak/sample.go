package main

import (
	"fmt"
	"math"
	"time"
)

// sample is the gateway's resources and counters at one moment.
type sample struct {
	label              string
	at                 time.Duration // since the gateway started
	rss                uint64        // VmRSS, bytes
	heap               float64       // go_memstats_heap_inuse_bytes, least of the scrapes
	live               float64       // live heap after GC (gctrace), median of the last 5 cycles
	gMin, gMax         float64       // go_goroutines over the scrapes
	fds, threads       int           // /proc/PID/fd entries, Threads
	openFDs            float64       // process_open_fds
	valuesIn, stored   float64       // gridbox_bus_values_in_total, gridbox_store_values_written_total
	polls, online      float64       // gridbox_device_polls_total (sum), gridbox_device_online (sum)
	published, mqttGot float64       // gridbox_mqtt_published_total, subscriber's live value messages
	cpu                float64       // process_cpu_seconds_total
}

// takeSample scrapes n times one second apart: heap and goroutines move
// with every poll and GC cycle, so the least heap (closest to the live
// heap after a collection) and the goroutine range are kept.
func takeSample(g *gateway, sub *subscriber, label string, since time.Time, n int) (sample, error) {
	s := sample{label: label, heap: math.Inf(1), gMin: math.Inf(1)}
	for i := range n {
		if i > 0 {
			time.Sleep(time.Second)
		}
		m, err := g.metrics()
		if err != nil {
			return s, err
		}
		s.heap = min(s.heap, m["go_memstats_heap_inuse_bytes"])
		s.gMin, s.gMax = min(s.gMin, m["go_goroutines"]), max(s.gMax, m["go_goroutines"])
		s.openFDs = m["process_open_fds"]
		s.valuesIn, s.stored = m["gridbox_bus_values_in_total"], m["gridbox_store_values_written_total"]
		s.polls, s.online = sum(m, "gridbox_device_polls_total"), sum(m, "gridbox_device_online")
		s.published, s.cpu = m["gridbox_mqtt_published_total"], m["process_cpu_seconds_total"]
	}
	var err error
	if s.live, err = g.liveHeap(5); err != nil {
		return s, err
	}
	if s.rss, s.threads, s.fds, err = procStatus(g.cmd.Process.Pid); err != nil {
		return s, fmt.Errorf("read /proc of the gateway: %w", err)
	}
	s.mqttGot = float64(sub.msgs.Load())
	s.at = time.Since(since).Round(time.Second)
	return s, nil
}

func (s sample) row() string {
	return fmt.Sprintf("%-8s %7s %7.1f %7.1f %7.1f %6.0f–%-4.0f %5d %7d %6d %9.0f %10.0f %10.0f",
		s.label, "+"+s.at.String(), mb(float64(s.rss)), mb(s.heap), mb(s.live), s.gMin, s.gMax, s.fds, s.threads,
		int(s.online), s.polls, s.valuesIn, s.mqttGot)
}

const sampleHeader = "sample   elapsed  RSS MB heap MB live MB goroutines   fds threads online     polls  values in  mqtt recv"

func mb(b float64) float64 { return b / 1e6 }
