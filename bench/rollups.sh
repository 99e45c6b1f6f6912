#!/bin/sh
# Rollup benchmark of the embedded store (issue 12, acceptance 1): SPAN
# (default 365d) of 1 s values of one datapoint generated as CSV
# (bench/rollups) and loaded with `gridbox import` (the import values/s line),
# then interval=1d over the whole span, 1h over the last 30 days and 1m over
# the last day timed from rollups and from raw values (the old SQL GROUP BY
# and the ordered scan), each answer checked equal to the raw one.
# Needs ~30 bytes per value in $TMPDIR (a year: ~0.9 GB).
#   bench/rollups.sh [SPAN]     e.g. bench/rollups.sh 30d
set -eu
cd "$(dirname "$0")/.."
SPAN="${1:-365d}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gridbox" ./cmd/gridbox
go build -o "$tmp/gen" ./bench/rollups
printf 'site: bench\nhttp: {auth: none}\nstore: {path: %s}\n' "$tmp/data" >"$tmp/gridbox.yaml"
echo "import: $SPAN of 1 s values of one datapoint through gridbox import (CSV on stdin)"
"$tmp/gen" -span "$SPAN" | "$tmp/gridbox" import -c "$tmp/gridbox.yaml" --format csv - 2>/dev/null
GRIDBOX_BENCH_DIR="$tmp/data" GRIDBOX_BENCH_SPAN="$SPAN" \
	go test -count=1 -timeout 3h -run '^TestBenchRollups$' -v ./store | grep -v '^=== RUN\|^--- PASS\|^PASS\|^ok'
