package broker

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// TestRetainedPublishWhileWildcardSubscribe reproduces mochi-mqtt issue #200:
// retained publishes (the gateway's values) while clients subscribe to a
// wildcard filter (mosquitto_sub -t 'gridbox/#'). Without the patch in
// third_party/mochi-mqtt (PATCHES.md) the race detector reports a data race on
// particle.retainPath between RetainMessage and scanMessages; with it, every
// subscriber also gets the retained messages that existed when it subscribed.
func TestRetainedPublishWhileWildcardSubscribe(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const topics = 50
	for i := range topics {
		if err := b.Server().Publish(fmt.Sprintf("gridbox/d%d/v", i), []byte("0"), true, 0); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the gateway publishing retained values
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = b.Server().Publish(fmt.Sprintf("gridbox/d%d/v", n%topics), []byte(fmt.Sprint(n)), true, 0)
		}
	}()
	for s := range 20 { // clients subscribing to the wildcard meanwhile
		c := connect(t, b.Addr(), fmt.Sprintf("sub%d", s))
		got := make(chan string, 4*topics)
		tok := c.Subscribe("gridbox/#", 0, func(_ paho.Client, m paho.Message) {
			select {
			case got <- m.Topic():
			default:
			}
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		seen := map[string]bool{}
		deadline := time.After(10 * time.Second)
		for len(seen) < topics {
			select {
			case tp := <-got:
				seen[tp] = true
			case <-deadline:
				t.Fatalf("subscriber %d saw %d of %d retained topics", s, len(seen), topics)
			}
		}
		c.Disconnect(0)
	}
	close(stop)
	wg.Wait()
}
