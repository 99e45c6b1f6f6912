#!/bin/sh
# Rollup benchmark of the embedded store: ingest SPAN (default 365d) of 1 s
# values of one datapoint through Store.Write in batches of 50 000, then time
# interval=1d over the whole span, 1h over the last 30 days and 1m over the
# last day, from rollups and from raw values (the old SQL GROUP BY and the
# ordered scan used where no rollup fits). Needs ~30 bytes per value in $TMPDIR.
#   bench/rollups.sh [SPAN]     e.g. bench/rollups.sh 30d
set -eu
cd "$(dirname "$0")/.."
GRIDBOX_BENCH_SPAN="${1:-365d}" exec go test -count=1 -timeout 3h -run '^TestBenchRollups$' -v ./store
