package mqtt

import "github.com/gridbox/gridbox/model"

// ring keeps the newest values that arrived while the broker was
// unreachable, in arrival order. When full, the oldest value is dropped:
// the retained topics are rebuilt from the bus's last values after a
// reconnect anyway, so what an outage can cost is history, never state.
type ring struct {
	buf        []model.Value
	head, size int
}

func newRing(n int) *ring { return &ring{buf: make([]model.Value, n)} }

// push adds v and reports whether the oldest value had to be dropped.
func (r *ring) push(v model.Value) (dropped bool) {
	if r.size == len(r.buf) {
		r.buf[r.head] = v
		r.head = (r.head + 1) % len(r.buf)
		return true
	}
	r.buf[(r.head+r.size)%len(r.buf)] = v
	r.size++
	return false
}

// peek returns the oldest value.
func (r *ring) peek() (model.Value, bool) {
	if r.size == 0 {
		return model.Value{}, false
	}
	return r.buf[r.head], true
}

// pop removes the oldest value.
func (r *ring) pop() {
	if r.size == 0 {
		return
	}
	r.buf[r.head] = model.Value{}
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	if r.size == 0 {
		r.head = 0 // the next outage reuses the slots (and memory pages) this one touched
	}
}

// len is the number of buffered values.
func (r *ring) len() int { return r.size }
