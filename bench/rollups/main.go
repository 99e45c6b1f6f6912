// Command rollups prints the data of the rollup benchmark (bench/rollups.sh)
// as gridbox import CSV: 1 s values of one datapoint, bench/p, over a span
// from a day boundary, the value cycling 0…4999 — a year is 31.5 M lines.
//
//	go run ./bench/rollups -span 365d | gridbox import -c gridbox.yaml --format csv -
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// T0 is where the data starts: a day boundary (UTC), as in TestBenchRollups.
const T0 = int64(1_700_006_400_000)

func main() {
	span := flag.String("span", "365d", "how much 1 s data: a Go duration or whole days (30d)")
	flag.Parse()
	d, err := parseSpan(*span)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollups:", err)
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	w.WriteString("datapoint,timestamp_ms,value\n")
	var line []byte
	for i := range d.Milliseconds() / 1000 {
		line = append(line[:0], "bench/p,"...)
		line = strconv.AppendInt(line, T0+i*1000, 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, i%5000, 10)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			os.Exit(1) // the reader stopped
		}
	}
	if err := w.Flush(); err != nil {
		os.Exit(1)
	}
}

func parseSpan(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("span %q: want whole days like 365d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("span %q: want a duration like 365d or 12h", s)
	}
	return d, nil
}
