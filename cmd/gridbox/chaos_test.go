package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim"
	"github.com/gridbox/gridbox/store"
	"github.com/gridbox/gridbox/uplink/uplinktest"
	"github.com/jackc/pgx/v5"
)

// chaosScale scales the chaos run's phases: 1 (the default, for CI) is a
// run of about 30 s with a 12 s outage; GRIDBOX_CHAOS_SCALE=5 makes it
// "several minutes" with a 60 s outage.
func chaosScale(t *testing.T) time.Duration {
	if s := os.Getenv("GRIDBOX_CHAOS_SCALE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("GRIDBOX_CHAOS_SCALE=%q: want a positive integer", s)
		}
		return time.Duration(n)
	}
	return 1
}

// chaosConfig writes the gateway's config and returns it and its API address.
func chaosConfig(t *testing.T, dir, broker string, urls map[string]string) (string, string) {
	var b strings.Builder
	api := testenv.FreeAddr(t)
	fmt.Fprintf(&b, "site: chaos\nhttp: {listen: %q, auth: none}\nmqtt: {broker: embedded, listen: \"127.0.0.1:0\"}\n", api)
	fmt.Fprintf(&b, "store: {path: %q}\n", filepath.Join(dir, "data"))
	fmt.Fprintf(&b, "uplink:\n  - {name: prod, broker: \"mqtt5://%s\", dir: %q, batch_size: 100, batch_age: 200ms}\n", broker, filepath.Join(dir, "queue"))
	if urls != nil {
		b.WriteString("devices:\n")
		for _, d := range demoDevices() {
			fmt.Fprintf(&b, "  - {id: %s, driver: modbus, url: %q, profile: %s, interval: 100ms}\n", d.id, urls[d.id], d.profile)
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("gridbox-%d.yaml", len(urls)))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, api
}

// TestChaosUplink (acceptance 1): the remote broker is stopped, the
// gateway is killed with kill -9 twice during the outage and restarted;
// afterwards the remote has every seq without a gap, PostgreSQL (through
// gridbox ingest) has every value the local store holds, exactly once,
// and each datapoint's values arrived in order.
func TestChaosUplink(t *testing.T) {
	scale := chaosScale(t)
	m := uplinktest.StartMosquitto(t)
	pg := uplinktest.PostgresDB(t)
	col := uplinktest.Collect(t, m.Addr, "chaos/data")
	spawnIngest := startIngest(t, m.Addr, pg, "chaos-ingest", testenv.FreeAddr(t))

	urls := map[string]string{}
	for _, d := range demoDevices() {
		s, err := sim.Start(context.Background(), d.profile, "127.0.0.1:0", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		urls[d.id] = "tcp://" + s.Addr()
	}
	dir := t.TempDir()
	cfg, _ := chaosConfig(t, dir, m.Addr, urls)
	gw := spawn(t, "run", "-c", cfg)
	testenv.Eventually(t, 60*time.Second, "values at the remote", func() bool { return col.Summarize().Values > 100 })
	time.Sleep(4 * scale * time.Second) // a stretch of normal operation

	m.Stop() // the outage: 12 s × scale, two kill -9 in it
	outage := 12 * scale * time.Second
	for i := range 2 {
		time.Sleep(outage / 3)
		gw.kill9()
		t.Logf("kill -9 #%d during the outage", i+1)
		gw = spawn(t, "run", "-c", cfg)
	}
	time.Sleep(outage / 3)
	// Mosquitto (2.0.x) does not restore a $share subscription from its
	// persistence file: until the ingest has subscribed again, what the
	// uplink publishes has no shared subscriber and is dropped by the broker
	// after its PUBACK (docs/ingest.md). So the gateway stays down (a third
	// kill -9) until the broker is back and the ingest has subscribed again.
	gw.kill9()
	m.Start()
	testenv.Eventually(t, 60*time.Second, "the ingest subscribed again", func() bool {
		return strings.Count(spawnIngest.log.String(), "ingest: subscribed") >= 2
	})
	gw = spawn(t, "run", "-c", cfg)
	time.Sleep(4 * scale * time.Second)
	gw.stop()

	// The same gateway without devices drains what is left in the queue.
	drainCfg, api := chaosConfig(t, dir, m.Addr, nil)
	drain := spawn(t, "run", "-c", drainCfg)
	testenv.Eventually(t, 120*time.Second, "the queue drained", func() bool {
		return metricAt("http://"+api+"/metrics", `gridbox_uplink_queue_values{sink="prod"}`) == 0 &&
			metricAt("http://"+api+"/metrics", `gridbox_uplink_connected{sink="prod"}`) == 1
	})
	drain.stop()

	local := storeCounts(t, filepath.Join(dir, "data", store.FileName))
	sum := col.Summarize()
	if sum.First != 1 || len(sum.Missing) > 0 || sum.Bad > 0 {
		t.Fatalf("remote seqs %d..%d, missing %v, bad %d", sum.First, sum.Last, sum.Missing, sum.Bad)
	}
	for dp, ts := range sum.PerDP {
		if !sort.SliceIsSorted(ts, func(i, j int) bool { return ts[i] < ts[j] }) {
			t.Errorf("%s: values out of order at the remote", dp)
		}
	}
	distinct := 0
	for _, ts := range sum.PerDP {
		distinct += len(uniq(ts))
	}
	var rows int
	testenv.Eventually(t, 120*time.Second, fmt.Sprintf("ingest caught up (%d distinct values sent)", distinct), func() bool {
		rows = pgCount(t, pg, "SELECT count(*) FROM gridbox_samples")
		if rows < distinct {
			t.Logf("PostgreSQL holds %d rows of %d", rows, distinct)
		}
		return rows >= distinct
	})
	remote := pgCounts(t, pg)
	total := 0
	for dp, n := range local {
		if remote[dp] < n {
			t.Errorf("%s: %d values in PostgreSQL, %d in the local store", dp, remote[dp], n)
		}
	}
	for _, n := range remote {
		total += n
	}
	if total != distinct {
		t.Errorf("%d rows in PostgreSQL, %d distinct values sent", total, distinct)
	}
	t.Logf("%d messages (seq 1..%d, %d resent), %d values; %d datapoints in the local store", sum.Last, sum.Last, sum.Dups, distinct, len(local))
}

func uniq(ts []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, x := range ts {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func storeCounts(t *testing.T, file string) map[string]int {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT d.device || '/' || d.name, count(*) FROM samples s JOIN datapoints d ON d.id = s.dp GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var dp string
		var n int
		if err := rows.Scan(&dp, &n); err != nil {
			t.Fatal(err)
		}
		out[dp] = n
	}
	return out
}

func pgCounts(t *testing.T, pg string) map[string]int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datapoint, count(*) FROM gridbox_samples WHERE site = 'chaos' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var dp string
		var n int
		if err := rows.Scan(&dp, &n); err != nil {
			t.Fatal(err)
		}
		out[dp] = n
	}
	return out
}

// metricAt reads one series, -1 while the page is not there.
func metricAt(url, series string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}
