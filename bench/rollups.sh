#!/bin/sh
# Rollup benchmark of the embedded store (issue 12, acceptance 1): SPAN
# (default 365d) of 1 s values of one datapoint generated as CSV
# (bench/rollups) and loaded with `gridbox import` (the import values/s line),
# then interval=1d over the whole span, 1h over the last 30 days and 1m over
# the last day timed from rollups and from raw values (the old SQL GROUP BY
# and the ordered scan), each answer checked equal to the raw one.
# Needs ~60 bytes per value in $TMPDIR while importing (a year: ~1.9 GB:
# the CSV file, so the generator's time is not in the import's CPU figure).
#   bench/rollups.sh [SPAN]     e.g. bench/rollups.sh 30d
set -eu
cd "$(dirname "$0")/.."
SPAN="${1:-365d}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gridbox" ./cmd/gridbox
go build -o "$tmp/gen" ./bench/rollups
printf 'site: bench\nhttp: {auth: none}\nstore: {path: %s}\n' "$tmp/data" >"$tmp/gridbox.yaml"
echo "import: $SPAN of 1 s values of one datapoint through gridbox import (a CSV file)"
"$tmp/gen" -span "$SPAN" >"$tmp/data.csv"
# CPU time beside the wall-clock rate: on a shared machine it varies far less.
/usr/bin/time -f 'CPU of the import: %U s user + %S s system in %e s wall' \
	"$tmp/gridbox" import -c "$tmp/gridbox.yaml" --format csv "$tmp/data.csv" 2>&1 | grep -v '^import '
rm "$tmp/data.csv"
GRIDBOX_BENCH_DIR="$tmp/data" GRIDBOX_BENCH_SPAN="$SPAN" \
	go test -count=1 -timeout 3h -run '^TestBenchRollups$' -v ./store | grep -v '^=== RUN\|^--- PASS\|^PASS\|^ok'
