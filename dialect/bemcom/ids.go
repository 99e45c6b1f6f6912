package bemcom

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// ids gives every datapoint ("device/name") a stable integer id, the N of
// C/messages/N/… and of /bemcom/datapoint/N/: ids are handed out in order
// of first sight and kept in a file, so they survive restarts and a
// datapoint that goes and comes back keeps its id.
type ids struct {
	mu   sync.Mutex
	path string // "" keeps them in memory only
	byID map[int]string
	ofDP map[string]int
	next int
}

// openIDs loads the table from path (missing: empty).
func openIDs(path string) (*ids, error) {
	t := &ids{path: path, byID: map[int]string{}, ofDP: map[string]int{}, next: 1}
	if path == "" {
		return t, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bemcom ids: %w", err)
	}
	var m map[string]int
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("bemcom ids %s: %w", path, err)
	}
	for k, id := range m {
		if id <= 0 {
			return nil, fmt.Errorf("bemcom ids %s: %s: id %d is not positive", path, k, id)
		}
		t.ofDP[k], t.byID[id] = id, k
		t.next = max(t.next, id+1)
	}
	return t, nil
}

// id returns the id of a datapoint key, handing out a new one (and saving
// the table) at first sight.
func (t *ids) id(key string) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ofDP[key]; ok {
		return id, nil
	}
	id := t.next
	t.next++
	t.ofDP[key], t.byID[id] = id, key
	return id, t.save()
}

// lookup returns the datapoint key of an id.
func (t *ids) lookup(id int) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.byID[id]
	return k, ok
}

// known returns the id of a key without handing one out.
func (t *ids) known(key string) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.ofDP[key]
	return id, ok
}

func (t *ids) save() error {
	if t.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(t.ofDP, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o755); err != nil {
		return fmt.Errorf("bemcom ids: %w", err)
	}
	tmp := t.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("bemcom ids: %w", err)
	}
	if err := os.Rename(tmp, t.path); err != nil {
		return fmt.Errorf("bemcom ids: %w", err)
	}
	return nil
}
