package mqtt

import (
	"testing"

	"github.com/gridbox/gridbox/model"
)

// TestSlowDevice blocks the device: values keep flowing, a full write queue
// answers "busy", and the held writes complete once the device answers.
func TestSlowDevice(t *testing.T) {
	br := startBroker(t)
	dev := &device{release: make(chan struct{})}
	b := newBus(t, dev)
	r := startPublisher(t, b, Options{Broker: "embedded", Embedded: br})
	w := watch(t, br.Addr(), "gridbox/#")
	w.waitExact(t, "gridbox/$state", `{"online":true,"version":"test"}`)

	const n = writeWorkers + writeQueue + 20 // more than can be held
	for range n {
		w.publish(t, "gridbox/room/setpoint/set", "20", false)
	}
	// Any answer so far, not only the last: under load the held writes may
	// already time out ("no answer within 10s") after the busy answers.
	eventually(t, "a busy answer", func() bool { return w.seen("gridbox/room/setpoint/set/result", `{"ok":false,"error":"busy"}`) })
	// At most 4 writes held by the workers + 64 queued: at least 20 are busy.
	eventually(t, "20 busy writes counted", func() bool { return r.metric("writes", writeBusy) >= 20 })
	b.Publish(model.Value{Device: "room", Name: "temperature", Value: 19.0, Time: 5, Quality: model.Good})
	w.waitExact(t, "gridbox/room/temperature", `{"value":19,"timestamp":5,"quality":"good"}`)

	close(dev.release)
	// Under load a held write may have timed out (failed) before the release.
	eventually(t, "the held writes to complete", func() bool {
		return r.metric("writes", writeOK)+r.metric("writes", writeBusy)+r.metric("writes", writeFailed) == n
	})
	if got := len(dev.writes()); got != int(r.metric("writes", writeOK)) || got < writeWorkers {
		t.Errorf("device applied %d writes, ok counter %v", got, r.metric("writes", writeOK))
	}
	eventually(t, "an answer per write", func() bool { return w.count("gridbox/room/setpoint/set/result") == n })
}
