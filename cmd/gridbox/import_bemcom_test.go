package main

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store"
)

// bemcomWant is what testdata/bemcom_values.json holds, decoded: the REST
// export's JSON-encoded strings become numbers, text, a bool and nulls.
var bemcomWant = []model.Sample{
	{Time: 1700000040000, Value: 21.5, Quality: model.Good},
	{Time: 1700000100000, Value: 22.25, Quality: model.Good},
	{Time: 1700000160000, Value: -3.0, Quality: model.Good},
	{Time: 1700000220000, Value: "heating", Quality: model.Good},
	{Time: 1700000280000, Value: true, Quality: model.Good},
	{Time: 1700000340000, Value: nil, Quality: model.Good},
	{Time: 1700000400000, Value: nil, Quality: model.Good},
	{Time: 1700000460000, Value: 1000.0, Quality: model.Good},
}

func bemcomHistory(t *testing.T, dir, dev, name string) []model.Sample {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.History(context.Background(), model.HistoryQuery{Device: dev, Name: name, To: 1800000000000})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestImportBEMCom: BEMCom's REST value export (a sample in testdata),
// named by --format bemcom or guessed from the file (also bzip2-compressed
// as its backup script writes it), is imported as the datapoint that
// --datapoint names, with the values decoded from their JSON strings.
func TestImportBEMCom(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"explicit", []string{"--format", "bemcom", "--datapoint", "room/temperature", "testdata/bemcom_values.json"}},
		{"guessed, bzip2", []string{"--datapoint", "room/temperature", "testdata/dpdata_7_2023-11-14_value.json.bz2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			code, out, errs := importRun(t, append([]string{"-c", importYAML(t, "gridbox.yaml", dir)}, c.args...)...)
			if code != 0 || !strings.Contains(out, "imported 8 values of 1 datapoints") || !strings.Contains(out, "(bemcom)") {
				t.Fatalf("exit %d: %s%s", code, out, errs)
			}
			if got := bemcomHistory(t, dir, "room", "temperature"); !reflect.DeepEqual(got, bemcomWant) {
				t.Fatalf("got  %v\nwant %v", got, bemcomWant)
			}
		})
	}
}

// TestImportBEMComErrors: a missing --datapoint, a value that is not
// JSON-encoded and a message without timestamp are named clearly;
// --skip-bad skips bad messages by their position.
func TestImportBEMComErrors(t *testing.T) {
	cfg := importYAML(t, "gridbox.yaml", t.TempDir())
	code, _, errs := importRun(t, "-c", cfg, "testdata/bemcom_values.json")
	if code != exitUsage || !strings.Contains(errs, "give --datapoint device/name") {
		t.Errorf("no --datapoint: exit %d, %q", code, errs)
	}
	code, _, errs = importRun(t, "-c", cfg, "--datapoint", "a/b", writeFile(t, "x.csv", csvHeader+"\n"))
	if code != exitUsage || !strings.Contains(errs, "--datapoint is for --format bemcom only") {
		t.Errorf("--datapoint with csv: exit %d, %q", code, errs)
	}
	bad := writeFile(t, "bad.json", `[{"value": "1.5", "timestamp": 1000}, {"value": "abc", "timestamp": 2000},
		{"value": "2"}, {"value": "[1,2]", "timestamp": 3000}, {"value": "3.5", "timestamp": 4000}]`)
	code, _, errs = importRun(t, "-c", cfg, "--datapoint", "a/b", bad)
	if code != 1 || !strings.Contains(errs, bad+`: message 2: value "abc": not a JSON-encoded value`) || !strings.Contains(errs, "the 1 values before it") {
		t.Errorf("bad value: exit %d, %q", code, errs)
	}
	code, out, errs := importRun(t, "-c", cfg, "--datapoint", "a/b", "--skip-bad", bad)
	if code != 0 || !strings.Contains(out, "imported 2 values") || !strings.Contains(errs, "message 3: no \"timestamp\"") ||
		!strings.Contains(errs, "message 4: value [1,2]: want a number") || !strings.Contains(errs, "3 bad messages skipped") {
		t.Errorf("--skip-bad: exit %d, %q %q", code, out, errs)
	}
	code, _, errs = importRun(t, "-c", cfg, "--format", "bemcom", "--datapoint", "a/b", writeFile(t, "o.json", `{"value": "1"}`))
	if code != 1 || !strings.Contains(errs, "want a JSON array") {
		t.Errorf("not an array: exit %d, %q", code, errs)
	}
	code, _, errs = importRun(t, "-c", cfg, "--datapoint", "A/b", "testdata/bemcom_values.json")
	if code != 1 || !strings.Contains(errs, "--datapoint: datapoint \"A/b\"") {
		t.Errorf("bad --datapoint: exit %d, %q", code, errs)
	}
}
