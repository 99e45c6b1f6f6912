package main

import (
	"strings"
	"testing"
)

// TestDemoAnonymousMQTT: the demo has no MQTT users, so a broker it opens
// to the network must allow anonymous clients explicitly; on loopback the
// anonymous rule lets them in anyway.
func TestDemoAnonymousMQTT(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1883": false, "localhost:1883": false, ":1883": true, "0.0.0.0:1883": true} {
		got := strings.Contains(demoConfig("127.0.0.1:8080", addr, t.TempDir(), map[string]string{}), "allow_anonymous: true")
		if got != want {
			t.Errorf("--mqtt %s: allow_anonymous %v, want %v", addr, got, want)
		}
	}
}
