#!/usr/bin/env bash
# Wall time of `gridbox scan` over a /24 on loopback with one answering host:
# the sma-stp simulator on 127.0.0.1:PORT (unit 3), the other 253 addresses
# of 127.0.0.0/24 refuse the connection. Default units 1-247 and timeout
# 500ms. Loopback only: never point this at a real network.
# Usage: bench/scan.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
port=${PORT:-15503}
bin=/tmp/gridbox-scan-bench
go build -o "$bin" ./cmd/gridbox
"$bin" sim sma-stp --listen "127.0.0.1:$port" >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; wait $sim 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	"$bin" scan "127.0.0.1:$port" --units 3 >/dev/null 2>&1 && break
	sleep 0.1
done

for i in $(seq "$runs"); do
	start=$(date +%s%N)
	"$bin" scan "127.0.0.0/24:$port" >/tmp/gridbox-scan-bench.yaml 2>/dev/null
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	units=$(grep -c '^  - id:' /tmp/gridbox-scan-bench.yaml)
	echo "run $i: gridbox scan 127.0.0.0/24:$port (254 endpoints, units 1-247): ${ms} ms, $units unit(s) found"
done
