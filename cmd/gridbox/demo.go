package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/sim"
)

// demoDevice is one simulated device of the demo.
type demoDevice struct{ id, profile string }

func demoDevices() []demoDevice {
	return []demoDevice{{"room", "demo-room"}, {"pv", "sma-stp"}, {"meter", "janitza-umg96rm"}}
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, lf := newFlags("demo", stderr)
	httpAddr := fs.String("http", "127.0.0.1:8080", "API and web UI listen address (a taken port is replaced by a free one)")
	mqttAddr := fs.String("mqtt", "127.0.0.1:1883", "embedded MQTT broker listen address (a taken port is replaced by a free one)")
	dataDir := fs.String("data", "", "store directory (default: a temporary directory removed at exit)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox:", err)
		return exitUsage
	}
	dir := *dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gridbox-demo-"); err != nil {
			fmt.Fprintln(stderr, "gridbox:", err)
			return exitRuntime
		}
		defer os.RemoveAll(dir)
	}
	simCtx, stopSims := context.WithCancel(context.Background())
	defer stopSims()
	urls := map[string]string{}
	for _, d := range demoDevices() {
		s, err := sim.Start(simCtx, d.profile, "127.0.0.1:0", 0, log.With("sim", d.profile))
		if err != nil {
			fmt.Fprintf(stderr, "gridbox: simulator %s: %v\n", d.profile, err)
			return exitRuntime
		}
		defer s.Close()
		urls[d.id] = "tcp://" + s.Addr()
	}
	src := demoConfig(freeIfTaken(*httpAddr), freeIfTaken(*mqttAddr), dir, urls)
	cfg, err := config.Parse([]byte(src), "demo", func(string) (string, bool) { return "", false })
	if err != nil {

		return reportConfigErr(err, stderr)
	}
	return runGateway(ctx, cfg, log, stderr, func(g *gateway.Gateway) { printDemo(stdout, g, urls) }, nil)
}

// demoConfig is the demo's config, written as a user would write it.
func demoConfig(httpAddr, mqttAddr, dir string, urls map[string]string) string {
	var b strings.Builder
	// The demo has no MQTT users: a broker reachable from the network (--mqtt :1883) must accept
	// anonymous clients explicitly (the broker logs a warning); on loopback it does anyway.
	anon := ""
	if host, _, err := net.SplitHostPort(mqttAddr); err == nil && !isLoopbackHost(host) {
		anon = ", allow_anonymous: true"
	}
	fmt.Fprintf(&b, "site: demo\nhttp: {listen: %q, auth: none}\nmqtt: {broker: embedded, listen: %q%s}\n", httpAddr, mqttAddr, anon)
	fmt.Fprintf(&b, "store: {path: %q}\ndevices:\n", dir)
	for _, d := range demoDevices() {
		fmt.Fprintf(&b, "  - {id: %s, driver: modbus, url: %q, profile: %s, interval: 1s}\n", d.id, urls[d.id], d.profile)
	}
	return b.String()
}

func printDemo(w io.Writer, g *gateway.Gateway, urls map[string]string) {
	host, port, _ := net.SplitHostPort(g.MQTTAddr())
	fmt.Fprintf(w, "gridbox demo is running\n")
	fmt.Fprintf(w, "  web UI    http://%s/\n", g.HTTPAddr())
	fmt.Fprintf(w, "  REST API  http://%s/api/v1/datapoints\n", g.HTTPAddr())
	fmt.Fprintf(w, "  MQTT      mqtt://%s   try: mosquitto_sub -h %s -p %s -t 'gridbox/#' -v\n", g.MQTTAddr(), host, port)
	for _, d := range demoDevices() {
		fmt.Fprintf(w, "  device    %-6s %-16s simulated at %s\n", d.id, d.profile, urls[d.id])
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}

// freeIfTaken returns addr if it can be listened on, else the same host with a free port.
func freeIfTaken(addr string) string {
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		return addr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // the config check reports it
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return addr
	}
	defer ln.Close()
	return ln.Addr().String()
}

// isLoopbackHost reports whether a listen host only accepts local clients.
func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
