package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gridbox/gridbox/ingest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// cmdIngest is `gridbox ingest`: the fleet side of the uplink (docs/ingest.md).
func cmdIngest(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs, lf := newFlags("ingest", stderr)
	broker := fs.String("broker", "", "fleet MQTT broker URL (mqtt:// or mqtts://, spoken as MQTT 5)")
	pg := fs.String("pg", "", "PostgreSQL URL postgres://…")
	group := fs.String("group", ingest.DefaultGroup, "shared subscription group: processes of one group share the stream")
	host, _ := os.Hostname()
	clientID := fs.String("client-id", "gridbox-ingest-"+host, "stable MQTT client id of this process (its persistent session)")
	topic := fs.String("topic", ingest.DefaultTopic, "topic filter inside the share")
	metrics := fs.String("metrics", "127.0.0.1:9108", "listen address of /metrics (empty: off)")
	batch := fs.Int("batch", 5000, "rows per transaction")
	expiry := fs.Duration("session-expiry", 24*time.Hour, "how long the broker keeps the session of a stopped process")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *broker == "" || *pg == "" {
		fmt.Fprintln(stderr, "usage: gridbox ingest --broker URL --pg postgres://… [--group NAME] [--client-id ID] [--metrics ADDR]")
		return exitUsage
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox:", err)
		return exitUsage
	}
	reg := prometheus.NewRegistry()
	if *metrics != "" {
		ln, err := net.Listen("tcp", *metrics)
		if err != nil {
			fmt.Fprintf(stderr, "gridbox ingest: --metrics %s: %v\n", *metrics, err)
			return exitUsage
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("ingest metrics", "addr", ln.Addr().String())
	}
	err = ingest.Run(ctx, ingest.Options{
		Broker: *broker, PG: *pg, Group: *group, ClientID: *clientID, Topic: *topic,
		BatchRows: *batch, SessionExpiry: *expiry, Log: log, Metrics: reg,
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "gridbox ingest:", err)
		return exitRuntime
	}
	return exitOK
}
