package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// account stops the simulators (every device goes offline and its values
// stale: the last values a run produces), waits until the bus is quiet,
// takes the final counters, waits for the subscriber, stops the gateway
// (the store writes what it holds) and matches the store file against
// what arrived over MQTT.
func (s *soak) account(r *report) error {
	s.events.add("all simulators stopped")
	s.fleet.close()
	m, err := s.quietMetrics()
	if err != nil {
		return err
	}
	r.valuesIn, r.polls = m["gridbox_bus_values_in_total"], sum(m, "gridbox_device_polls_total")
	r.unknown = pick(m, "gridbox_bus_unknown_total", `what="value"`)
	r.storeOut, r.storeBusDrop = pick(m, "gridbox_sink_values_out_total", `sink="store"`), pick(m, "gridbox_sink_values_dropped_total", `sink="store"`)
	r.mqttOut, r.mqttBusDrop = pick(m, "gridbox_sink_values_out_total", `sink="mqtt"`), pick(m, "gridbox_sink_values_dropped_total", `sink="mqtt"`)
	r.bufFull, r.encode = pick(m, "gridbox_mqtt_dropped_total", `reason="buffer_full"`), pick(m, "gridbox_mqtt_dropped_total", `reason="encode"`)
	r.storeWritten, r.storeDrop, r.wrErrs = sum(m, "gridbox_store_values_written_total"), sum(m, "gridbox_store_values_dropped_total"), sum(m, "gridbox_store_write_errors_total")
	r.published, r.reconnects = sum(m, "gridbox_mqtt_published_total"), sum(m, "gridbox_mqtt_reconnects_total")
	r.resent = sum(m, "gridbox_mqtt_resent_total")
	s.sub.waitQuiet(3*time.Second, 2*time.Minute)
	s.events.add("gateway stopped (SIGTERM)")
	if err := s.gw.stop(); err != nil {
		return err
	}
	r.wall = time.Since(s.began)
	ts, dups := s.sub.timestamps()
	r.received, r.dups, r.retained, r.badPayload = s.sub.msgs.Load(), uint64(dups), s.sub.retained.Load(), s.sub.bad.Load()
	if r.match, err = matchStore(filepath.Join(s.dir, "data"), ts, s.events.outages); err != nil {
		return err
	}
	return nil
}

// quietMetrics scrapes until gridbox_bus_values_in_total has not moved
// for two scrapes in a row (the devices are offline and marked stale).
func (s *soak) quietMetrics() (map[string]float64, error) {
	var last float64 = -1
	for range 60 {
		time.Sleep(2 * time.Second)
		m, err := s.gw.metrics()
		if err != nil {
			return nil, err
		}
		v := m["gridbox_bus_values_in_total"]
		if v == last {
			return m, nil
		}
		last = v
	}
	return nil, fmt.Errorf("the bus did not go quiet within 2 minutes of stopping the simulators")
}

// pick adds the series of metric name whose labels contain label.
func pick(m map[string]float64, name, label string) float64 {
	t := 0.0
	for k, v := range m {
		if strings.HasPrefix(k, name+"{") && strings.Contains(k, label) {
			t += v
		}
	}
	return t
}
