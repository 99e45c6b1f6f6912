package main

import (
	"bufio"
	"compress/bzip2"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/store"
)

const importUsage = "usage: gridbox import [-c gridbox.yaml] [--format csv|influx|bemcom] [--datapoint device/name] [--precision ns|us|ms|s] [--strict] [--skip-bad] FILE"

// importBatch is how many values one store.Write carries.
const importBatch = 100_000

// importProgressEvery is the least time between two progress lines.
const importProgressEvery = 500 * time.Millisecond

// csvHeader is the header a CSV import file must start with.
const csvHeader = "datapoint,timestamp_ms,value"

// maxSkipReports is how many skipped lines --skip-bad names on stderr.
const maxSkipReports = 10

// lineError is a problem with one line of the import file (or one message
// of a BEMCom export: unit "message"; line 0 is the file as a whole).
type lineError struct {
	unit string // "" is line
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%s%s", e.where(), e.msg) }

// where is "line N: ", "message N: " or "" for the whole file.
func (e *lineError) where() string {
	switch {
	case e.line == 0:
		return ""
	case e.unit == "":
		return fmt.Sprintf("line %d: ", e.line)
	}
	return fmt.Sprintf("%s %d: ", e.unit, e.line)
}

// importBatchMsg is what the reader hands to the writer: a prepared batch
// of values, then (in the last message) the error that stopped the
// reading, if any.
type importBatchMsg struct {
	batch *store.Batch
	err   error
}

// cmdImport bulk-loads history from a file into the configured embedded
// store through store.Write, so rollups are built as it goes.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlags("import", stderr)
	path := fs.String("c", "gridbox.yaml", "config file: the values go into its store")
	format := fs.String("format", "", "file format: csv, influx (line protocol) or bemcom (BEMCom's REST value export, a JSON array); guessed from the extension or the first bytes when empty")
	dpKey := fs.String("datapoint", "", "bemcom: the datapoint device/name the values are imported as (the export does not name it)")
	precision := fs.String("precision", "ms", "influx: timestamp precision of the lines: ns, us, ms or s (gridbox's InfluxDB output writes ms by default)")
	strict := fs.Bool("strict", false, "refuse a datapoint the config does not define (default: keep it as a history-only datapoint)")
	skipBad := fs.Bool("skip-bad", false, "skip bad lines (counted and reported) instead of stopping at the first")
	fs.Usage = func() { fmt.Fprintln(stderr, importUsage); fs.PrintDefaults() }
	file, code := parseOneArg(fs, args, stderr, importUsage)
	if code >= 0 {
		return code
	}
	switch *format {
	case "", "csv", "influx", "bemcom":
	default:
		fmt.Fprintf(stderr, "gridbox import: --format %q: want csv, influx or bemcom\n%s\n", *format, importUsage)
		return exitUsage
	}
	mult, ok := map[string]int64{"ns": 1_000_000, "us": 1_000, "ms": 1, "s": -1000}[*precision]
	if !ok {
		fmt.Fprintf(stderr, "gridbox import: --precision %q: want ns, us, ms or s\n%s\n", *precision, importUsage)
		return exitUsage
	}

	cfg, sc, code := storeConfig(*path, "import", stderr)
	if sc == nil {
		return code
	}
	var known map[string]bool
	if *strict {
		// gateway.New builds the devices and the bus catalog; it opens nothing.
		gw, err := gateway.New(cfg, gateway.Options{Version: version, Profiles: profile.Builtin()})
		if err != nil {
			return reportConfigErr(err, stderr)
		}
		known = map[string]bool{}
		for _, p := range gw.Bus().Datapoints() {
			known[p.Key()] = true
		}
	}

	var in io.Reader = os.Stdin
	name := "stdin"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintln(stderr, "gridbox import:", err)
			return exitRuntime
		}
		defer f.Close()
		in, name = f, file
	}
	br := decompressed(in)
	if *format == "" {
		*format = guessFormat(file, br)
	}
	if *format == "bemcom" && *dpKey == "" {
		fmt.Fprintf(stderr, "gridbox import: %s: %v\n%s\n", name, errNoDatapoint, importUsage)
		return exitUsage
	}
	if *format != "bemcom" && *dpKey != "" {
		fmt.Fprintf(stderr, "gridbox import: --datapoint is for --format bemcom only (csv and influx name the datapoint of each value)\n%s\n", importUsage)
		return exitUsage
	}

	if err := store.CheckNotInUse(ctx, sc.Path); err != nil {
		fmt.Fprintln(stderr, "gridbox import:", err)
		return exitRuntime
	}
	st, err := store.Open(ctx, store.Options{Path: sc.Path, BatchSize: importBatch})
	if err != nil {
		fmt.Fprintln(stderr, "gridbox import:", err)
		return exitRuntime
	}
	defer st.Close()

	imp := &importer{name: name, strict: known, skipBad: *skipBad, stderr: stderr, keys: map[string]bool{}}
	// Parsing runs beside the writes: one batch is parsed while the
	// previous one is written.
	ch := make(chan importBatchMsg, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ch)
		var err error
		emit := func(vals []model.Value) bool {
			// Encoding, grouping and the rollup buckets are done here, beside
			// the writes; the writer only runs the transaction.
			select {
			case ch <- importBatchMsg{batch: st.Prepare(vals)}:
				return true
			case <-rctx.Done():
				return false
			}
		}
		switch *format {
		case "csv":
			err = imp.readCSV(br, emit)
		case "bemcom":
			err = imp.readBEMCom(br, *dpKey, emit)
		default:
			err = imp.readLines(br, mult, emit)
		}
		if err != nil {
			select {
			case ch <- importBatchMsg{err: err}:
			case <-rctx.Done():
			}
		}
	}()

	start := time.Now()
	var n int64
	lastReport := start
	tty := isTerminal(stderr)
	progress := func(final bool) {
		el := time.Since(start)
		line := fmt.Sprintf("import %s: %d values, %.0f values/s", name, n, rate(n, el))
		switch {
		case tty && final:
			fmt.Fprintf(stderr, "\r%s\n", line)
		case tty:
			fmt.Fprintf(stderr, "\r%s", line)
		case !final:
			fmt.Fprintln(stderr, line)
		}
	}
	var readErr error
	for m := range ch {
		if m.err != nil {
			readErr = m.err
			break
		}
		if err := st.WriteBatch(ctx, m.batch); err != nil {
			cancel()
			progress(true)
			fmt.Fprintf(stderr, "gridbox import: %s: %v; import stopped: the %d values written before stay in the store (importing the file again replaces them)\n", name, err, n)
			return exitRuntime
		}
		n += int64(m.batch.Len())
		if now := time.Now(); now.Sub(lastReport) >= importProgressEvery {
			lastReport = now
			progress(false)
		}
		if ctx.Err() != nil {
			break
		}
	}
	took := time.Since(start)
	if tty && n > 0 {
		progress(true)
	}
	if imp.skipped > 0 {
		what := "lines"
		if imp.unit != "" {
			what = imp.unit + "s"
		}
		fmt.Fprintf(stderr, "gridbox import: %s: %d bad %s skipped\n", name, imp.skipped, what)
	}
	if readErr != nil || ctx.Err() != nil {
		if readErr == nil {
			readErr = ctx.Err()
		}
		var le *lineError
		if errors.As(readErr, &le) {
			if le.unit == "" && le.line > 0 {
				fmt.Fprintf(stderr, "gridbox import: %s:%d: %s\n", name, le.line, le.msg)
			} else {
				fmt.Fprintf(stderr, "gridbox import: %s: %s%s\n", name, le.where(), le.msg)
			}
		} else {
			fmt.Fprintf(stderr, "gridbox import: %s: %v\n", name, readErr)
		}
		fmt.Fprintf(stderr, "gridbox import: import stopped: the %d values before it were written and stay in the store (importing the file again replaces them)\n", n)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "imported %d values of %d datapoints from %s (%s) into %s in %s: %.0f values/s\n",
		n, len(imp.keys), name, *format, filepath.Join(sc.Path, store.FileName), took.Round(time.Millisecond), rate(n, took))
	return exitOK
}

// decompressed reads in through bzip2 when it starts with bzip2's magic
// (BEMCom's simple_db_backup writes .json.bz2 files).
func decompressed(in io.Reader) *bufio.Reader {
	br := bufio.NewReaderSize(in, 1<<20)
	if head, _ := br.Peek(3); string(head) != "BZh" {
		return br
	}
	return bufio.NewReaderSize(bzip2.NewReader(br), 1<<20)
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// guessFormat picks the format from the file name's extension (after a
// .bz2), else from the first bytes: a JSON array is bemcom, the CSV header
// csv, anything else influx.
func guessFormat(file string, br *bufio.Reader) string {
	switch strings.ToLower(filepath.Ext(strings.TrimSuffix(file, ".bz2"))) {
	case ".csv":
		return "csv"
	case ".lp", ".line", ".influx":
		return "influx"
	case ".json":
		return "bemcom"
	}
	if isBEMCom(br) {
		return "bemcom"
	}
	head, _ := br.Peek(len(csvHeader))
	if string(head) == csvHeader {
		return "csv"
	}
	return "influx"
}

// importer turns the lines of a file into values.
type importer struct {
	name    string
	strict  map[string]bool // datapoints of the config; nil: any datapoint is accepted
	skipBad bool
	stderr  io.Writer
	skipped int
	keys    map[string]bool      // datapoints seen
	names   map[string][2]string // CSV: device and name of each datapoint field seen
	unit    string               // what a position counts: "" lines, "message" for bemcom
}

// bad handles the error of one line: reported and skipped with --skip-bad,
// else returned.
func (im *importer) bad(line int, msg string) error {
	e := &lineError{unit: im.unit, line: line, msg: msg}
	if !im.skipBad {
		return e
	}
	im.skipped++
	if im.skipped > maxSkipReports {
		return nil
	}
	if im.unit == "" {
		fmt.Fprintf(im.stderr, "gridbox import: %s:%d: %s (skipped)\n", im.name, line, msg)
	} else {
		fmt.Fprintf(im.stderr, "gridbox import: %s: %s%s (skipped)\n", im.name, e.where(), msg)
	}
	return nil
}

// check validates a datapoint key; "" means ok.
func (im *importer) check(device, name string) string {
	key := model.Key(device, name)
	if im.keys[key] {
		return ""
	}
	if !model.ValidID(device) || !model.ValidID(name) {
		return fmt.Sprintf("datapoint %q: want device/name, both slugs ([a-z0-9][a-z0-9_-]*)", key)
	}
	if im.strict != nil && !im.strict[key] {
		return fmt.Sprintf("datapoint %s is not in the config (--strict refuses it; without --strict it is kept as a history-only datapoint)", key)
	}
	im.keys[key] = true
	return ""
}

// datapoint splits and checks the `device/name` of a CSV record. A key
// seen before is answered from im.names: no new strings per line.
func (im *importer) datapoint(field string) (dev, name, msg string) {
	if k, ok := im.names[field]; ok {
		return k[0], k[1], ""
	}
	dev, name, ok := strings.Cut(field, "/")
	if !ok {
		return "", "", fmt.Sprintf("datapoint %q: want device/name", field)
	}
	if msg := im.check(dev, name); msg != "" {
		return "", "", msg
	}
	dev, name = strings.Clone(dev), strings.Clone(name)
	if im.names == nil {
		im.names = map[string][2]string{}
	}
	im.names[dev+"/"+name] = [2]string{dev, name}
	return dev, name, ""
}

// readCSV reads `datapoint,timestamp_ms,value` records.
func (im *importer) readCSV(r io.Reader, emit func([]model.Value) bool) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	hdr, err := cr.Read()
	if err != nil && !errors.Is(err, io.EOF) {
		return &lineError{line: 1, msg: fmt.Sprintf("header: %v", err)}
	}
	if strings.Join(hdr, ",") != csvHeader {
		return &lineError{line: 1, msg: fmt.Sprintf("header %q: want exactly %q", strings.Join(hdr, ","), csvHeader)}
	}
	batch := make([]model.Value, 0, importBatch)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
				err = pe.Err
			}
			if e := im.bad(line, err.Error()); e != nil {
				return im.flush(batch, emit, e)
			}
			continue
		}
		v, msg := im.csvValue(rec)
		if msg != "" {
			if e := im.bad(line, msg); e != nil {
				return im.flush(batch, emit, e)
			}
			continue
		}
		var more bool
		if batch, more = im.add(batch, v, emit); !more {
			return nil
		}
	}
	return im.flush(batch, emit, nil)
}

// flush emits the values read so far, then returns err.
// add appends v to batch and hands a full batch to emit; more is false when
// emit says to stop.
func (im *importer) add(batch []model.Value, v model.Value, emit func([]model.Value) bool) (out []model.Value, more bool) {
	batch = append(batch, v)
	if len(batch) < importBatch {
		return batch, true
	}
	return make([]model.Value, 0, importBatch), emit(batch)
}

func (im *importer) flush(batch []model.Value, emit func([]model.Value) bool, err error) error {
	if len(batch) > 0 && !emit(batch) {
		return nil
	}
	return err
}

func (im *importer) csvValue(rec []string) (model.Value, string) {
	if len(rec) != 3 {
		return model.Value{}, fmt.Sprintf("%d fields: want 3 (%s)", len(rec), csvHeader)
	}
	dev, name, msg := im.datapoint(rec[0])
	if msg != "" {
		return model.Value{}, msg
	}
	ts, err := strconv.ParseInt(rec[1], 10, 64)
	if err != nil {
		return model.Value{}, fmt.Sprintf("timestamp_ms %q: want an integer (ms since the epoch)", rec[1])
	}
	v := model.Value{Device: dev, Name: name, Time: ts, Quality: model.Good}
	s := rec[2]
	switch s {
	case "":
	case "true":
		v.Value = true
	case "false":
		v.Value = false
	default:
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			v.Value = f
		} else {
			v.Value = strings.Clone(s)
		}
	}
	return v, ""
}
