#!/usr/bin/env bash
# Prints the size of the static binary and the resident memory of
# `gridbox demo` after it has run for SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
bin=$(mktemp -d)/gridbox
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin" ./cmd/gridbox
CGO_ENABLED=0 go build -o "$bin.debug" ./cmd/gridbox
echo "binary size: $(stat -c %s "$bin") bytes stripped ($(( $(stat -c %s "$bin") / 1048576 )) MiB), $(stat -c %s "$bin.debug") bytes with symbols"
"$bin" demo --http 127.0.0.1:0 --mqtt 127.0.0.1:0 --log-level warn >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep "$secs"
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "gridbox demo after ${secs}s: RSS ${rss} kB ($(( rss / 1024 )) MB), peak ${hwm} kB"
kill -INT $pid
start=$(date +%s%N)
wait $pid || true
echo "stopped $(( ($(date +%s%N) - start) / 1000000 )) ms after SIGINT"
