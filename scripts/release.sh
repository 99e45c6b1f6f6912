#!/usr/bin/env bash
# Builds the release binaries of gridbox: static (CGO_ENABLED=0), -trimpath,
# version-stamped, for linux amd64, arm64 and armv7.
#
#   scripts/release.sh [OUTDIR]        (default dist/)
#
# VERSION, COMMIT and DATE override what is stamped (defaults: `git describe`,
# the HEAD commit, now in UTC). Writes OUTDIR/gridbox-linux-<arch> and
# OUTDIR/SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-dist}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
commit="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
date="${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}"
ldflags="-s -w -X main.version=${version} -X main.commit=${commit} -X main.date=${date}"

mkdir -p "$out"
build() { # name GOARCH [GOARM]
  echo "building $out/$1 (version $version, commit $commit)"
  CGO_ENABLED=0 GOOS=linux GOARCH="$2" GOARM="${3:-}" \
    go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out/$1" ./cmd/gridbox
}
build gridbox-linux-amd64 amd64
build gridbox-linux-arm64 arm64
build gridbox-linux-armv7 arm 7
(cd "$out" && sha256sum gridbox-linux-amd64 gridbox-linux-arm64 gridbox-linux-armv7 > SHA256SUMS)
cat "$out/SHA256SUMS"
