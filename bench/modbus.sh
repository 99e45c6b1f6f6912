#!/usr/bin/env bash
# Modbus TCP requests per second against the sma-stp simulator:
#   1. mbpoll, one process per request (FC 3, 2 registers at 30775, unit 3),
#   2. mbpoll's own polling loop (-l, limited to one request per 10 ms+),
#   3. the Go driver over one connection (BenchmarkRequests), against the
#      same simulator and against the in-process register-image server.
# Usage: bench/modbus.sh [N]   (N mbpoll runs, default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
port=${PORT:-15502}
bin=/tmp/gridbox
command -v mbpoll >/dev/null || { echo "mbpoll is not installed" >&2; exit 2; }

go build -o "$bin" ./cmd/gridbox
"$bin" sim sma-stp --listen "127.0.0.1:$port" >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; wait $sim 2>/dev/null || true' EXIT

mb() { mbpoll -m tcp -a 3 -r 30776 -c 2 -t 4:int -1 -p "$port" "$@" 127.0.0.1; }
for _ in $(seq 100); do
	mb >/dev/null 2>&1 && break
	sleep 0.1
done
mb >/dev/null || { echo "simulator on 127.0.0.1:$port does not answer" >&2; exit 1; }

start=$(date +%s%N)
for _ in $(seq "$n"); do mb >/dev/null; done
ns=$(( $(date +%s%N) - start ))
mbpoll_rps=$(awk -v n="$n" -v ns="$ns" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')

# mbpoll's own loop: -l is the poll period in ms (> 10), run for 2 s.
loop_out=$(timeout 2 mbpoll -m tcp -a 3 -r 30776 -c 2 -t 4:int -l 11 -p "$port" 127.0.0.1 2>/dev/null || true)
loop_rps=$(printf '%s\n' "$loop_out" | grep -c '^\[30776\]' | awk '{ printf "%.0f", $1 / 2 }')

gobench() {
	GRIDBOX_BENCH_MODBUS_URL="$1" go test -count=1 -run '^$' -bench '^BenchmarkRequests$' -benchtime 2s ./driver/modbus/ |
		awk '/requests\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "requests/s") print $i }'
}
go_sim=$(gobench "tcp://127.0.0.1:$port")
go_img=$(gobench "")

echo "mbpoll, one process per request ($n runs): ${mbpoll_rps} requests/s"
echo "mbpoll -l 11 polling loop (2 s):          ${loop_rps} requests/s"
echo "gridbox driver, one connection, simulator: ${go_sim} requests/s"
echo "gridbox driver, one connection, test image: ${go_img} requests/s"
