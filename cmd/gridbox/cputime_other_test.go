//go:build !unix

package main

import "time"

// cpuTime is not measured here: the CPU figure of BenchmarkImport is 0.
func cpuTime() time.Duration { return 0 }
