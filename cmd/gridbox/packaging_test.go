package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestShippedConfigsCheck: the example config and the compose example's
// config pass `gridbox check` (CI also checks the first with the arm64
// release binary under qemu).
func TestShippedConfigsCheck(t *testing.T) {
	hermeticEnv(t)
	t.Setenv("GRIDBOX_API_TOKEN", "test-token")
	t.Setenv("GRIDBOX_PG_PASSWORD", "test-password")
	t.Setenv("GRIDBOX_MQTT_PASSWORD", "test-password")
	for _, cfg := range []string{"../../examples/gridbox.yaml", "../../packaging/compose/gridbox.yaml"} {
		var out, errb bytes.Buffer
		if code := cmdCheck(context.Background(), []string{"-c", cfg}, &out, &errb); code != exitOK {
			t.Errorf("gridbox check -c %s: exit %d\n%s", cfg, code, errb.String())
		}
	}
}

// TestVersionStamp: `gridbox version` prints what the release build stamps.
func TestVersionStamp(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "1.2.3", "0123abcd", "2026-01-02T03:04:05Z"
	var out bytes.Buffer
	if code := cmdVersion(context.Background(), nil, &out, os.Stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"gridbox 1.2.3\n", "commit: 0123abcd\n", "built: 2026-01-02T03:04:05Z\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output %q lacks %q", out.String(), want)
		}
	}
}
