#!/usr/bin/env bash
# HTTP driver requests per second against the fronius-solar-api simulator:
#   1. curl, one process per request (GET of the Solar API JSON), and one curl
#      process sending all requests over one keep-alive connection, for scale,
#   2. the Go driver (BenchmarkPoll: request, JSON parse, six datapoints) over a
#      keep-alive connection, against the same `gridbox sim` process and an
#      in-process simulator.
# Usage: bench/http.sh [N]   (N curl runs, default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
port=${PORT:-18480}
bin=/tmp/gridbox-bench-http
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

go build -o "$bin" ./cmd/gridbox
"$bin" sim fronius-solar-api --listen "127.0.0.1:$port" >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; wait $sim 2>/dev/null || true' EXIT

url="http://127.0.0.1:$port"
get() { curl -sf -o /dev/null "$url/solar_api/v1/GetPowerFlowRealtimeData.fcgi"; }
for _ in $(seq 100); do
	get && break
	sleep 0.1
done
get || { echo "simulator on $url does not answer" >&2; exit 1; }

start=$(date +%s%N)
for _ in $(seq "$n"); do get; done
ns=$(( $(date +%s%N) - start ))
curl_rps=$(awk -v n="$n" -v ns="$ns" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')

# One curl process, n requests over one keep-alive connection (a config file of url/output pairs).
cfg=$(mktemp)
for _ in $(seq "$n"); do printf 'url = "%s/solar_api/v1/GetPowerFlowRealtimeData.fcgi"\noutput = "/dev/null"\n' "$url"; done >"$cfg"
start=$(date +%s%N)
curl -sf -K "$cfg"
ns=$(( $(date +%s%N) - start ))
rm -f "$cfg"
curl_ka_rps=$(awk -v n="$n" -v ns="$ns" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')

gobench() {
	GRIDBOX_BENCH_HTTP_URL="$1" go test -count=1 -run '^$' -bench '^BenchmarkPoll$' -benchtime 2s ./driver/httpdrv/ |
		awk '/requests\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "requests/s") print $i }'
}
go_sim=$(gobench "$url")
go_inproc=$(gobench "")

echo "curl, one process per request ($n runs):       ${curl_rps} requests/s"
echo "curl, one process, $n requests, keep-alive:  ${curl_ka_rps} requests/s"
echo "gridbox driver, keep-alive, gridbox sim:       ${go_sim} requests/s"
echo "gridbox driver, keep-alive, in-process sim:    ${go_inproc} requests/s"
