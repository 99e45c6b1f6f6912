package homebox

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// recConn records what the dialect publishes (unit tests only; the
// integration test runs against Mosquitto).
type recConn struct {
	mu   sync.Mutex
	msgs [][2]string
}

func (c *recConn) Publish(_ context.Context, topic string, payload []byte, _ byte, _ bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, [2]string{topic, string(payload)})
	return nil
}
func (c *recConn) Subscribe(string) error      { return nil }
func (c *recConn) Close(context.Context) error { return nil }

func (c *recConn) records(t *testing.T) []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Record
	for _, m := range c.msgs {
		if strings.HasPrefix(m[0], "aggregated_data/") {
			var r Record
			if err := json.Unmarshal([]byte(m[1]), &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}
