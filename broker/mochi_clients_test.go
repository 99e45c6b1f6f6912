package broker

import (
	mqtt "github.com/mochi-mqtt/server/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestGetByListenerWithConcurrentDelete checks third_party/mochi-mqtt patch 3: GetByListener read-locked the
// map twice (once more through Len), so a Delete arriving in between deadlocked both.
func TestGetByListenerWithConcurrentDelete(t *testing.T) {
	cl := mqtt.NewClients()
	for i := 0; i < 8; i++ {
		cl.Add(&mqtt.Client{ID: strconv.Itoa(i), Net: mqtt.ClientConnection{Listener: "t1"}})
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 100000; i++ {
			cl.GetByListener("t1")
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 100000; i++ {
			id := strconv.Itoa(100 + i%8)
			cl.Add(&mqtt.Client{ID: id, Net: mqtt.ClientConnection{Listener: "t1"}})
			cl.Delete(id)
		}
	}()
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("GetByListener and Delete deadlocked")
	}
}
