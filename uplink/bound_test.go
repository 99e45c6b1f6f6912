package uplink_test

import (
	"bufio"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/uplink/uplinktest"
)

// rssMB is this process's resident set size.
// rssMB is the process's resident memory after a collection that returns
// freed memory to the OS: what the process holds, not what the collector
// has not got round to yet.
func rssMB(t *testing.T) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// retained reads a retained message from the broker.
func retained(t *testing.T, addr, topic string) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	c := mqtt3.NewClient(mqtt3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("state-reader"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	c.Subscribe(topic, 1, func(_ mqtt3.Client, m mqtt3.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})
	select {
	case p := <-got:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("no retained message on %s", topic)
		return nil
	}
}

// TestQueueBoundDropOldest (acceptance 3): with the remote down, a queue
// filled far beyond max_queue stays at its bound, drops the oldest values
// (counted), announces it in $state once connected, and memory stays bounded.
func TestQueueBoundDropOldest(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	m.Stop()
	cfg := testConfig(t, "mqtt5://"+m.Addr)
	cfg.MaxQueue, cfg.BatchSize = "1MB", 1000
	g := startUplink(t, newBus(t), cfg)
	before := rssMB(t)
	g.publish(200000) // 400 000 values, about 28 MB encoded
	testenv.Eventually(t, 60*time.Second, "every value queued", func() bool {
		return gauge(t, g.reg, "gridbox_uplink_queued_values_total") >= 390000
	})
	after := rssMB(t)
	bytes := gauge(t, g.reg, "gridbox_uplink_queue_bytes")
	dropped := counter(t, g.reg, "gridbox_uplink_dropped_values_total", "overflow")
	if bytes > 1<<20 || bytes <= 0 {
		t.Fatalf("queue holds %v bytes, bound 1MB", bytes)
	}
	if dropped < 300000 {
		t.Fatalf("dropped %v values, want most of 400000", dropped)
	}
	if after-before > 64 && !raceEnabled {
		t.Fatalf("RSS grew from %.0f MB to %.0f MB while queueing 28 MB", before, after)
	}
	t.Logf("queue %v bytes, %v values dropped, RSS %.0f → %.0f MB", bytes, dropped, before, after)
	// The gateway's own state says so locally, while the remote is down.
	testenv.Eventually(t, 10*time.Second, "local gateway status of the uplink", func() bool {
		st, _ := g.bus.GatewayStatus()["uplink/prod"].(map[string]any)
		return st != nil && st["overflow"] == "drop-oldest" && st["full"] == true && st["dropped"].(uint64) > 0
	})

	m.Start()
	var st struct {
		Queue struct {
			Overflow string `json:"overflow"`
			Dropped  uint64 `json:"dropped"`
		} `json:"queue"`
	}
	if err := json.Unmarshal(retained(t, m.Addr, "site1/$state"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Queue.Overflow != "drop-oldest" || st.Queue.Dropped == 0 {
		t.Fatalf("$state does not announce the overflow: %+v", st)
	}
}

// TestQueueBoundDegrade: with overflow: degrade, raw values stop near the
// bound (counted) and the state says so.
func TestQueueBoundDegrade(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	m.Stop()
	cfg := testConfig(t, "mqtt5://"+m.Addr)
	cfg.MaxQueue, cfg.Overflow = "256kB", "degrade"
	g := startUplink(t, newBus(t), cfg)
	g.publish(20000)
	testenv.Eventually(t, 60*time.Second, "degraded", func() bool {
		return gauge(t, g.reg, "gridbox_uplink_degraded") == 1 &&
			counter(t, g.reg, "gridbox_uplink_dropped_values_total", "degraded") > 0
	})
	if b := gauge(t, g.reg, "gridbox_uplink_queue_bytes"); b > 256<<10 {
		t.Fatalf("queue holds %v bytes, bound 256kB", b)
	}
}
