package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store"
)

// importRun runs `gridbox import args...` in-process.
func importRun(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := run(context.Background(), append([]string{"import"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// importYAML writes a config whose store is dir.
func importYAML(t testing.TB, name, dir string) string {
	t.Helper()
	return writeFile(t, name, fmt.Sprintf("site: import-test\nhttp: {auth: none}\nstore: {path: %q}\n", dir))
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// importData is 2 datapoints × 300 s of 1 s values, as model values.
func importData() []model.Value {
	var vals []model.Value
	for i := range 300 {
		ts := int64(1_700_000_040_000 + i*1000) // starts on a minute
		vals = append(vals,
			model.Value{Device: "meter", Name: "power", Time: ts, Value: float64(i%17) + 0.25, Quality: model.Good},
			model.Value{Device: "hist", Name: "temp", Time: ts, Value: float64(-i) / 4, Quality: model.Good})
	}
	return vals
}

// checkHistory compares raw and 1-minute mean answers with vals.
func checkHistory(t *testing.T, dir string, vals []model.Value) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, key := range []string{"meter/power", "hist/temp"} {
		dev, name, _ := strings.Cut(key, "/")
		var want []model.Value
		sums := map[int64][2]float64{}
		var buckets []int64
		for _, v := range vals {
			if v.Device == dev && v.Name == name {
				want = append(want, v)
				b := v.Time / 60000 * 60000
				if _, ok := sums[b]; !ok {
					buckets = append(buckets, b)
				}
				s := sums[b]
				sums[b] = [2]float64{s[0] + v.Value.(float64), s[1] + 1}
			}
		}
		raw, err := st.History(ctx, model.HistoryQuery{Device: dev, Name: name, From: 0, To: 2_000_000_000_000})
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != len(want) {
			t.Fatalf("%s: %d raw values, want %d", key, len(raw), len(want))
		}
		for i, s := range raw {
			if s.Time != want[i].Time || s.Value != want[i].Value || s.Quality != model.Good {
				t.Fatalf("%s[%d] = %+v, want %+v", key, i, s, want[i])
			}
		}
		means, err := st.History(ctx, model.HistoryQuery{Device: dev, Name: name, From: 0, To: 2_000_000_000_000, Interval: time.Minute, Agg: "mean"})
		if err != nil {
			t.Fatal(err)
		}
		if len(means) != len(buckets) {
			t.Fatalf("%s: %d buckets, want %d", key, len(means), len(buckets))
		}
		for i, s := range means {
			w := sums[buckets[i]][0] / sums[buckets[i]][1]
			if s.Time != buckets[i] || fmt.Sprint(s.Value) != fmt.Sprint(w) {
				t.Fatalf("%s mean %d = %v at %d, want %v at %d", key, i, s.Value, s.Time, w, buckets[i])
			}
		}
	}
}

func TestImportCSV(t *testing.T) {
	dir := t.TempDir()
	cfg := importYAML(t, "gridbox.yaml", dir)
	vals := importData()
	var b strings.Builder
	b.WriteString("datapoint,timestamp_ms,value\n")
	for _, v := range vals {
		fmt.Fprintf(&b, "%s/%s,%d,%v\n", v.Device, v.Name, v.Time, v.Value)
	}
	b.WriteString("meter/state,1700000040000,true\nmeter/note,1700000040000,\"a, b\"\nmeter/null,1700000040000,\n")
	file := writeFile(t, "h.csv", b.String())
	code, out, errs := importRun(t, "-c", cfg, file)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, fmt.Sprintf("imported %d values of 5 datapoints", len(vals)+3)) {
		t.Fatalf("summary: %q", out)
	}
	checkHistory(t, dir, vals)
	st, err := store.Open(context.Background(), store.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, want := range map[string]any{"state": true, "note": "a, b", "null": nil} {
		got, err := st.History(context.Background(), model.HistoryQuery{Device: "meter", Name: name, From: 0, To: 2_000_000_000_000})
		if err != nil || len(got) != 1 || got[0].Value != want {
			t.Errorf("meter/%s: %+v, %v; want %v", name, got, err, want)
		}
	}
}

func TestImportLineProtocol(t *testing.T) {
	dir := t.TempDir()
	cfg := importYAML(t, "gridbox.yaml", dir)
	vals := importData()
	var b strings.Builder
	b.WriteString("# written by gridbox\n")
	for _, v := range vals {
		// as output/influx writes it, precision ms
		fmt.Fprintf(&b, "%s,datapoint=%s,device=%s,quality=good,unit=W value=%v %d\n", v.Name, v.Name, v.Device, v.Value, v.Time)
	}
	b.WriteString("fixed\\ m,datapoint=text,device=meter,quality=stale value=\"say \\\"hi\\\", ok\" 1700000040000\n")
	file := writeFile(t, "h.lp", b.String())
	code, out, errs := importRun(t, "-c", cfg, file)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	checkHistory(t, dir, vals)
	st, err := store.Open(context.Background(), store.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.History(context.Background(), model.HistoryQuery{Device: "meter", Name: "text", From: 0, To: 2_000_000_000_000})
	if err != nil || len(got) != 1 || got[0].Value != `say "hi", ok` || got[0].Quality != model.Stale {
		t.Errorf("meter/text: %+v, %v", got, err)
	}

	// ns precision, format guessed from the content
	dir2 := t.TempDir()
	file2 := writeFile(t, "h.txt", "power,datapoint=power,device=meter value=5 1700000040123456789\n")
	if code, out, errs := importRun(t, "-c", importYAML(t, "g2.yaml", dir2), "--precision", "ns", file2); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	st2, err := store.Open(context.Background(), store.Options{Path: dir2})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	got, err = st2.History(context.Background(), model.HistoryQuery{Device: "meter", Name: "power", From: 0, To: 2_000_000_000_000})
	if err != nil || len(got) != 1 || got[0].Time != 1700000040123 || got[0].Value != 5.0 {
		t.Errorf("ns line: %+v, %v", got, err)
	}
}

func TestImportBadLine(t *testing.T) {
	dir := t.TempDir()
	cfg := importYAML(t, "gridbox.yaml", dir)
	file := writeFile(t, "bad.csv", "datapoint,timestamp_ms,value\nmeter/power,1000,1\nmeter/power,soon,2\nmeter/power,3000,3\n")
	code, _, errs := importRun(t, "-c", cfg, file)
	if code != 1 || !strings.Contains(errs, file+":3: timestamp_ms \"soon\"") || !strings.Contains(errs, "the 1 values before it were written and stay") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	code, out, errs := importRun(t, "-c", cfg, "--skip-bad", file)
	if code != 0 || !strings.Contains(errs, "1 bad lines skipped") || !strings.Contains(out, "imported 2 values") {
		t.Fatalf("--skip-bad: exit %d, %q %q", code, out, errs)
	}
	code, _, errs = importRun(t, "-c", cfg, writeFile(t, "h.csv", "dp,ts,value\n"))
	if code != 1 || !strings.Contains(errs, ":1: header") {
		t.Fatalf("bad header: exit %d, %q", code, errs)
	}
}

func TestImportStrict(t *testing.T) {
	dir := t.TempDir()
	cfg := importYAML(t, "gridbox.yaml", dir)
	file := writeFile(t, "h.csv", "datapoint,timestamp_ms,value\nghost/power,1000,1\n")
	code, _, errs := importRun(t, "-c", cfg, "--strict", file)
	if code != 1 || !strings.Contains(errs, ":2: datapoint ghost/power is not in the config (--strict") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if code, out, errs := importRun(t, "-c", cfg, file); code != 0 {
		t.Fatalf("without --strict: exit %d %s%s", code, out, errs)
	}
}

func TestImportStoreInUse(t *testing.T) {
	dir := t.TempDir()
	cfg := importYAML(t, "gridbox.yaml", dir)
	st, err := store.Open(context.Background(), store.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(context.Background(), importData()[:2]); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "h.csv", "datapoint,timestamp_ms,value\nmeter/power,1000,1\n")
	code, _, errs := importRun(t, "-c", cfg, file)
	if code != 1 || !strings.Contains(errs, "in use") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestImportUsage(t *testing.T) {
	cfg := importYAML(t, "gridbox.yaml", t.TempDir())
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-c", cfg}, 2},
		{[]string{"-c", cfg, "--format", "xml", "f"}, 2},
		{[]string{"-c", cfg, "--precision", "m", "f"}, 2},
		{[]string{"-c", cfg, filepath.Join(t.TempDir(), "missing.csv")}, 1},
	} {
		if code, _, errs := importRun(t, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, errs)
		}
	}
}

// BenchmarkImport imports 2 M generated CSV values into a fresh store per
// iteration: 200 datapoints × 10 000 s of 1 s data (interleaved in time,
// as an export of a whole site is), and one datapoint × 2 M s (a year of
// 1 s data is 16 times that): go test -run '^$' -bench Import -benchtime 1x ./cmd/gridbox
func BenchmarkImport(b *testing.B) {
	for _, c := range []struct {
		name       string
		dps, steps int
	}{{"200dp", 200, 10_000}, {"1dp", 1, 2_000_000}} {
		b.Run(c.name, func(b *testing.B) { benchImport(b, c.dps, c.steps) })
	}
}

func benchImport(b *testing.B, dps, steps int) {
	var sb strings.Builder
	sb.WriteString(csvHeader + "\n")
	for i := range steps {
		ts := int64(1_700_000_000_000 + i*1000)
		for d := range dps {
			fmt.Fprintf(&sb, "dev%d/p%d,%d,%d.5\n", d%10, d, ts, (i+d)%1000)
		}
	}
	file := writeFile(b, "bench.csv", sb.String())
	sb.Reset()
	b.ResetTimer()
	var total float64
	cpu0 := cpuTime()
	for b.Loop() {
		cfg := importYAML(b, "gridbox.yaml", b.TempDir())
		if code, out, errs := importRun(b, "-c", cfg, file); code != 0 {
			b.Fatalf("exit %d: %s%s", code, out, errs)
		}
		total += float64(dps * steps)
	}
	b.ReportMetric(total/b.Elapsed().Seconds(), "values/s")
	// CPU time (all threads, user+system) per value: on a machine shared
	// with other work it varies less than the wall-clock rate.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/total, "cpu-ns/value")
}
