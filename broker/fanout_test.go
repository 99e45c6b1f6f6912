package broker

import (
	"context"
	"testing"

	"github.com/gridbox/gridbox/internal/fanout"
)

// TestFanOutCountsEveryDelivery: one publisher, four subscribers, paho over
// TCP. At QoS 1 every subscriber gets every message; at QoS 0 whatever a
// subscriber misses is in the broker's drop counter — nothing is lost
// silently.
func TestFanOutCountsEveryDelivery(t *testing.T) {
	for _, qos := range []byte{0, 1} {
		b, err := Start(Options{Listen: "127.0.0.1:0"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fanout.Run(context.Background(), fanout.Options{Addr: b.Addr(), Messages: 20_000, QoS: qos})
		dropped := b.Dropped()
		b.Close()
		if err != nil {
			t.Fatalf("qos %d: %v", qos, err)
		}
		if res.Sent != 20_000 {
			t.Fatalf("qos %d: publisher sent %d of 20000", qos, res.Sent)
		}
		t.Logf("qos %d: delivered %v, broker dropped %d", qos, res.Delivered, dropped)
		if qos == 1 && res.Lost() != 0 {
			t.Errorf("qos 1: %d deliveries lost (delivered %v, broker dropped %d)", res.Lost(), res.Delivered, dropped)
		}
		if int64(res.Lost()) != dropped {
			t.Errorf("qos %d: %d deliveries missing but the broker counted %d drops", qos, res.Lost(), dropped)
		}
	}
}

// TestQueueFullDropsAreCounted forces drops with a tiny per-client queue and
// checks the counter matches what the subscribers missed.
func TestQueueFullDropsAreCounted(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0", MaxQueued: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := fanout.Run(context.Background(), fanout.Options{Addr: b.Addr(), Messages: 20_000, Subscribers: 2})
	if err != nil {
		t.Fatal(err)
	}
	dropped := b.Dropped()
	t.Logf("delivered %v, broker dropped %d", res.Delivered, dropped)
	if int64(res.Lost()) != dropped {
		t.Errorf("%d deliveries missing but the broker counted %d drops", res.Lost(), dropped)
	}
}
