package samples

import "sync"

// Key addresses a datapoint without building a "<device>/<name>" string.
type Key struct{ Device, Name string }

// IDs maps datapoints to their integer ids in a store's datapoints table.
// It is safe for concurrent use; the zero value is empty and ready.
type IDs struct {
	mu sync.RWMutex
	m  map[Key]int64
}

// Get returns the id of k, if known.
func (c *IDs) Get(k Key) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.m[k]
	return id, ok
}

// Add merges ids that a committed transaction created or a query found.
func (c *IDs) Add(m map[Key]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[Key]int64, len(m))
	}
	for k, id := range m {
		c.m[k] = id
	}
}
