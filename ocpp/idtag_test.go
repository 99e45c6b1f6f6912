package ocpp_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// TestIDTagRemoteStart: writing a connector's id_tag actuator sends
// RemoteStartTransaction with that id tag on that connector to the strict
// ocpp-rpc client; an empty or over-long tag is refused before any call.
func TestIDTagRemoteStart(t *testing.T) {
	_, b, url := startServer(t, t.TempDir(), "pw")
	cp := startNodeCP(t, url, "CP-001", "pw")
	bootCP(t, cp)
	cp.call("StatusNotification", map[string]any{"connectorId": 2, "errorCode": "NoError", "status": "Preparing"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testenv.Eventually(t, deadline, "id_tag written", func() bool { _, err := b.Write(ctx, "cp-001_2", "id_tag", "5678"); return err == nil })
	p := cp.wait("RemoteStartTransaction", incoming("RemoteStartTransaction"))["params"].(map[string]any)
	if p["idTag"] != "5678" || p["connectorId"] != 2.0 {
		t.Fatalf("RemoteStartTransaction params %v, want idTag 5678 on connector 2", p)
	}
	for _, bad := range []any{"", "123456789012345678901", 5.0} {
		if _, err := b.Write(ctx, "cp-001_2", "id_tag", bad); err == nil {
			t.Errorf("id_tag %v accepted", bad)
		}
	}
	if n := cp.count(incoming("RemoteStartTransaction")); n != 1 {
		t.Errorf("%d RemoteStartTransaction calls, want 1 (refused tags send nothing)", n)
	}
}
