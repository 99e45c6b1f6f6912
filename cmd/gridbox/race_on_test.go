//go:build race

package main

// raceEnabled: the race detector multiplies memory use, so RSS bounds are not checked.
const raceEnabled = true
