package knx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/vapourismo/knx-go/knx/cemi"
)

// fakeLink is a link whose telegrams the test feeds and reads.
type fakeLink struct {
	in   chan cemi.Message
	sent chan cemi.Message
	err  error
}

func newFakeLink() *fakeLink {
	return &fakeLink{in: make(chan cemi.Message, 16), sent: make(chan cemi.Message, 64)}
}

func (f *fakeLink) Send(m cemi.Message) error {
	if f.err != nil {
		return f.err
	}
	f.sent <- m
	return nil
}
func (f *fakeLink) Inbound() <-chan cemi.Message { return f.in }
func (f *fakeLink) Close()                       {}

const fakeDevice = `{id: room, driver: knx, url: "udp://127.0.0.1:1", backoff: 10ms, datapoints: [
  {name: temp, ga: 1/2/3, dpt: "9.001"},
  {name: temp_f, ga: 1/2/3, dpt: "9.027"},
  {name: light, ga: 1/2/4, dpt: "1.001", kind: actuator}]}`

// TestFakeLink checks the device against a fake link: reads at start, a
// group address shared by two datapoints, writes, refusals and a lost link.
func TestFakeLink(t *testing.T) {
	dev := newTestDevice(t, fakeDevice, nil)
	ctx := context.Background()
	if _, err := dev.Write(ctx, "light", true); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("write before connect: %v", err)
	}
	links := make(chan *fakeLink, 2)
	dev.dial = func(context.Context, string, *Config) (link, error) {
		l := newFakeLink()
		links <- l
		return l, nil
	}
	sink := newSink()
	run(t, dev, sink)
	l := <-links
	reads := map[uint16]bool{}
	for range 2 { // one read per distinct group address
		m := (<-l.sent).(*cemi.LDataInd)
		if m.Data.(*cemi.AppData).Command != cemi.GroupValueRead {
			t.Fatalf("sent %+v, want a read", m)
		}
		reads[m.Destination] = true
	}
	if !reads[1<<11|2<<8|3] || !reads[1<<11|2<<8|4] {
		t.Fatalf("reads to %v", reads)
	}

	l.in <- groupTelegram(cemi.GroupValueResponse, 1<<11|2<<8|3, []byte{0, 0x0c, 0x1a})
	testenv.Eventually(t, 10*time.Second, "both datapoints of 1/2/3", func() bool {
		a, _ := sink.value("temp")
		b, _ := sink.value("temp_f")
		return a.Value == 21.0 && b.Value == 21.0
	})
	l.in <- groupTelegram(cemi.GroupValueRead, 1<<11|2<<8|3, nil) // reads carry no value
	l.in <- &cemi.LDataCon{}                                      // confirmations are not telegrams

	if got, err := dev.Write(ctx, "light", true); err != nil || got != true {
		t.Fatalf("write: %v, %v", got, err)
	}
	if m := (<-l.sent).(*cemi.LDataInd); m.Destination != 1<<11|2<<8|4 || m.Data.(*cemi.AppData).Data[0] != 1 {
		t.Fatalf("write sent %+v", m)
	}
	if _, err := dev.Write(ctx, "temp", 1.0); !errors.Is(err, model.ErrNotWritable) {
		t.Fatalf("write to a sensor: %v", err)
	}
	if _, err := dev.Write(ctx, "nope", 1.0); err == nil || !strings.Contains(err.Error(), `unknown datapoint "nope"`) {
		t.Fatalf("write to unknown: %v", err)
	}
	l.err = errors.New("no ack")
	if _, err := dev.Write(ctx, "light", false); err == nil || !strings.Contains(err.Error(), "group write to 1/2/4: no ack") {
		t.Fatalf("failed send: %v", err)
	}

	close(l.in) // the tunnel is lost
	<-links     // reconnected: the loss has been reported before
	sink.mu.Lock()
	lost := slices.ContainsFunc(sink.states, func(st model.DeviceState) bool { return !st.Online && st.Error == "tunnel lost" })
	stale := sink.stale
	sink.mu.Unlock()
	if v, _ := sink.value("temp"); !lost || stale != 1 || v.Quality != model.Stale {
		t.Fatalf("after the loss: offline state reported %v, %d stale marks, temp %+v", lost, stale, v)
	}
	testenv.Eventually(t, 10*time.Second, "online again", func() bool { return sink.state().Online })
}

func TestBackoff(t *testing.T) {
	d := &Device{cfg: &Config{Backoff: 1e9}}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 7: time.Minute, 100: time.Minute} {
		if got := d.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestUnpackMalformed: a frame knx-go's unpacker panics on is an error.
func TestUnpackMalformed(t *testing.T) {
	frame := []byte{0x06, 0x10, 0x04, 0x20, 0, 13, 0x04, 1, 0, 0, 0x29, 0x30, 0x30}
	if _, err := unpack(frame); err == nil || !strings.Contains(err.Error(), "malformed frame") {
		t.Fatalf("unpack: %v", err)
	}
}

// TestGatewayDown: with nothing at the gateway's address the device is
// offline with the reason, retries, and Run ends promptly when asked to.
func TestGatewayDown(t *testing.T) {
	dev := newTestDevice(t, strings.Replace(fakeDevice, "127.0.0.1:1", "127.0.0.1:"+fmt.Sprint(freeUDPPort(t)), 1), nil)
	dev.cfg.Timeout = config.Duration(time.Minute) // a long timeout must not delay the end
	sink := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = dev.Run(ctx, sink) }()
	testenv.Eventually(t, 20*time.Second, "offline with a reason", func() bool {
		st := sink.state()
		return !st.Online && strings.Contains(st.Error, "knx tunnel 127.0.0.1:")
	})
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end within 10s of cancel")
	}
}
