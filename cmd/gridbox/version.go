package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at link time by scripts/release.sh:
//
//	-ldflags "-X main.version=1.2.3 -X main.commit=abc123 -X main.date=2026-01-02T03:04:05Z"
//
// A plain `go build` leaves them empty or at the defaults below; commit and
// date then come from the Go toolchain's VCS stamp (debug.ReadBuildInfo).
var (
	// version is the gateway's version, reported by `gridbox version`, $state and /healthz.
	version = "0.1.0"
	commit  = ""
	date    = ""
)

// buildInfo is what `gridbox version` reports.
type buildInfo struct {
	Version, Commit, Date, Go, Platform string
	Modified                            bool
}

// currentBuild returns the stamped values, falling back to the VCS
// information the Go toolchain embeds in a build from a git checkout.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true" && commit == ""
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlags("version", stderr)
	if c := parse(fs, args); c >= 0 {
		return c
	}
	b := currentBuild()
	dirty := ""
	if b.Modified {
		dirty = " (modified)"
	}
	fmt.Fprintf(stdout, "gridbox %s\ncommit: %s%s\nbuilt: %s\ngo: %s %s\n", b.Version, b.Commit, dirty, b.Date, b.Go, b.Platform)
	return exitOK
}
