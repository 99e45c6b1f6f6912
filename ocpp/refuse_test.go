package ocpp_test

import "testing"

// TestOCPPRPCRefused: the independent client is refused at the upgrade
// with a wrong password or an unlisted id, and admitted with the right one.
func TestOCPPRPCRefused(t *testing.T) {
	_, _, url := startServer(t, t.TempDir(), "right-password")
	for _, tc := range []struct{ id, pw, want string }{
		{"CP-001", "wrong-password", "refused"},
		{"CP-002", "right-password", "refused"},
		{"CP-001", "right-password", "open"},
	} {
		cp := startNodeCP(t, url, tc.id, tc.pw)
		got := cp.wait("connect "+tc.id, func(m map[string]any) bool { return m["event"] == "open" || m["event"] == "refused" })
		if got["event"] != tc.want {
			t.Errorf("%s with %s: %v, want %s", tc.id, tc.pw, got, tc.want)
		}
	}
}
