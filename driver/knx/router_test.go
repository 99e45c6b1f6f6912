package knx

import (
	"cmp"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/vapourismo/knx-go/knx/cemi"
)

// localRouter joins group like dialRouter, with multicast TTL 0: its
// telegrams are looped back to sockets on this host and never leave it.
func localRouter(t *testing.T, group string) *router {
	t.Helper()
	r, err := dialRouter(group)
	if err != nil {
		t.Skipf("no multicast-capable interface to join %s on: %v", group, err)
	}
	raw, err := r.out.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, 0)
		})
		err = cmp.Or(cerr, err)
	}
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	return r
}

// TestRouting runs a routing device and a second routing client on an
// administratively scoped group with TTL 0 (host-local): the client's
// group writes become values, the device's writes reach the client.
func TestRouting(t *testing.T) {
	group := fmt.Sprintf("239.255.77.77:%d", freeUDPPort(t))
	peer := localRouter(t, group)
	t.Cleanup(peer.Close)
	dev := newTestDevice(t, fmt.Sprintf(`{id: r, driver: knx, url: "udp://%s", mode: routing, read_at_start: false, datapoints: [
	  {name: temp, ga: 1/2/3, dpt: "9.001"}, {name: light, ga: 1/2/4, dpt: "1.001", kind: actuator}]}`, group), nil)
	dev.dial = func(context.Context, string, *Config) (link, error) { return localRouter(t, group), nil }
	sink := newSink()
	run(t, dev, sink)
	testenv.Eventually(t, 10*time.Second, "online", func() bool { return sink.state().Online })

	testenv.Eventually(t, 10*time.Second, "temp from a routed write", func() bool {
		if err := peer.Send(groupTelegram(cemi.GroupValueWrite, 1<<11|2<<8|3, []byte{0, 0x0c, 0x1a})); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		v, _ := sink.value("temp")
		return v.Value == 21.0
	})
	if _, err := dev.Write(context.Background(), "light", true); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-peer.Inbound():
			if tg, ok := groupTelegramOf(m); ok && tg.ga == 1<<11|2<<8|4 && tg.cmd == cemi.GroupValueWrite && tg.data[0] == 1 {
				return
			}
		case <-timeout:
			t.Fatal("the device's write did not reach the routing peer")
		}
	}
}
