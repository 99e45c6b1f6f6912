package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store"

	"github.com/gridbox/gridbox/internal/testenv"
)

// gridboxChild runs the test binary as `gridbox args...` and returns its exit
// code and output.
func gridboxChild(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GRIDBOX_TEST_MAIN=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("gridbox %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// storeYAML writes a config whose store is dir.
func storeYAML(t *testing.T, name, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, fmt.Appendf(nil, "site: backup-test\nhttp: {auth: none}\nstore: {path: %q}\n", dir), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBackupRestoreWhileDemoRuns is the acceptance: `gridbox backup`
// while the demo runs, then `gridbox restore` into a fresh directory, gives a
// store whose history answers match the original. Restoring into the running
// demo's directory is refused.
func TestBackupRestoreWhileDemoRuns(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	demo := exec.Command(os.Args[0], "demo", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--data", data)
	demo.Env = append(os.Environ(), "GRIDBOX_TEST_MAIN=1")
	var out, errb testenv.Buffer
	demo.Stdout, demo.Stderr = &out, &errb
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			demo.Process.Kill()
			demo.Wait()
		}
		if t.Failed() {
			t.Logf("demo stderr:\n%s", shortLines(errb.String()))
		}
	}()
	httpRe := regexp.MustCompile(`REST API  (http://\S+)/api/v1/datapoints`)
	deadline := time.Now().Add(30 * time.Second)
	for !httpRe.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	api := httpRe.FindStringSubmatch(out.String())[1]
	for _, dp := range []string{"room/temperature", "meter/ac_power"} { // some history of both
		for historyLen(api, dp) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("no history of %s", dp)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	srcCfg := storeYAML(t, "gridbox.yaml", data)
	backup := filepath.Join(dir, "site.gridbox-backup")
	backupStart := time.Now().UnixMilli()
	code, stdout, stderr := gridboxChild(t, "backup", "-c", srcCfg, backup)
	if code != exitOK || !strings.Contains(stdout, "samples") {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("%s", stdout)

	// Into the running demo's store: refused, --force or not.
	for _, extra := range [][]string{nil, {"--force"}} {
		args := append([]string{"restore", "-c", srcCfg}, extra...)
		code, stdout, stderr = gridboxChild(t, append(args, backup)...)
		if code != exitRuntime || !strings.Contains(stderr, "the store is in use") {
			t.Errorf("restore %v into the running demo: exit %d, %q%q; want exit 1, the store is in use", extra, code, stdout, stderr)
		}
	}

	fresh := filepath.Join(dir, "fresh")
	dstCfg := storeYAML(t, "restore.yaml", fresh)
	cfgOut := filepath.Join(dir, "restored.yaml")
	code, stdout, stderr = gridboxChild(t, "restore", "-c", dstCfg, "--config-out", cfgOut, backup)
	if code != exitOK || !strings.Contains(stdout, "restored ") {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("%s", stdout)
	if b, err := os.ReadFile(cfgOut); err != nil || !strings.Contains(string(b), data) {
		t.Errorf("--config-out: %q, %v; want the backed-up config", b, err)
	}
	// A second restore into the now non-empty store needs --force.
	code, _, stderr = gridboxChild(t, "restore", "-c", dstCfg, backup)
	if code != exitRuntime || !strings.Contains(stderr, "--force") {
		t.Errorf("restore into a store with data: exit %d, %q", code, stderr)
	}

	// Stop the demo (orderly) and compare both stores.
	demo.Process.Signal(syscall.SIGTERM)
	demo.Wait()
	stopped = true
	ctx := context.Background()
	orig, err := store.Open(ctx, store.Options{Path: data})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	rest, err := store.Open(ctx, store.Options{Path: fresh})
	if err != nil {
		t.Fatal(err)
	}
	defer rest.Close()
	for _, dp := range [][2]string{{"room", "temperature"}, {"meter", "ac_power"}} {
		// The backup holds every value of a datapoint up to its newest one
		// in the backup (values of one datapoint are committed in order).
		last, err := rest.History(ctx, model.HistoryQuery{Device: dp[0], Name: dp[1], From: 0, To: backupStart + 60_000})
		if err != nil || len(last) < 3 {
			t.Fatalf("%s/%s in the restored store: %d values, %v", dp[0], dp[1], len(last), err)
		}
		to := last[len(last)-1].Time
		if to > backupStart+10_000 {
			t.Errorf("%s/%s: restored value at %d, after the backup started (%d)", dp[0], dp[1], to, backupStart)
		}
		queries := []model.HistoryQuery{{Device: dp[0], Name: dp[1], From: 0, To: to}}
		for _, agg := range []string{"mean", "min", "max", "count", "first", "last"} {
			queries = append(queries,
				model.HistoryQuery{Device: dp[0], Name: dp[1], From: 0, To: to, Interval: 2 * time.Second, Agg: agg},
				model.HistoryQuery{Device: dp[0], Name: dp[1], From: 0, To: to, Interval: time.Minute, Agg: agg})
		}
		for _, q := range queries {
			want, err := orig.History(ctx, q)
			if err != nil {
				t.Fatalf("original %+v: %v", q, err)
			}
			got, err := rest.History(ctx, q)
			if err != nil {
				t.Fatalf("restored %+v: %v", q, err)
			}
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%+v: restored %d samples %v, original %d %v", q, len(got), got, len(want), want)
			}
		}
	}
}

// historyLen is the number of raw values the API has for dp (-1 on error).
func historyLen(api, dp string) int {
	resp, err := http.Get(api + "/api/v1/datapoints/" + dp + "/history?from=0")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Count(string(b), `"timestamp"`)
}

func TestBackupRestoreUsage(t *testing.T) {
	dir := t.TempDir()
	pg := filepath.Join(dir, "pg.yaml")
	os.WriteFile(pg, []byte("http: {auth: none}\nstore: {url: \"postgres://u:p@127.0.0.1:1/gridbox\"}\n"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"backup", "-h"}, exitOK, "usage: gridbox backup"},
		{[]string{"restore", "--help"}, exitOK, "usage: gridbox restore"},
		{[]string{"backup"}, exitUsage, "usage: gridbox backup"},
		{[]string{"backup", "a", "b"}, exitUsage, "usage: gridbox backup"},
		{[]string{"restore", "--bogus", "x"}, exitUsage, "flag provided but not defined"},
		{[]string{"backup", "-c", filepath.Join(dir, "none.yaml"), "x"}, exitUsage, "no such file"},
		{[]string{"backup", "-c", pg, filepath.Join(dir, "b")}, exitRuntime, "backup of a PostgreSQL store: use pg_dump"},
		{[]string{"restore", "-c", pg, filepath.Join(dir, "b")}, exitRuntime, "restore of a PostgreSQL store"},
		{[]string{"backup", "-c", storeYAML(t, "e.yaml", filepath.Join(dir, "nostore")), filepath.Join(dir, "b")}, exitRuntime, "no such file"},
		{[]string{"restore", "-c", storeYAML(t, "r.yaml", filepath.Join(dir, "r")), pg}, exitRuntime, "not a gridbox backup"},
	}
	for _, c := range cases {
		code, out, errs := runCmd(c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("gridbox %v: exit %d, output %q; want exit %d containing %q", c.args, code, out+errs, c.code, c.want)
		}
	}
}
