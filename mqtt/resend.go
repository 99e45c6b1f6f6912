package mqtt

import (
	"time"

	"github.com/gridbox/gridbox/model"
)

const (
	// resendWindow: a value handed to the client this shortly before a lost
	// connection was noticed may never have reached the broker (it sat in a
	// socket buffer, or the broker had not read it when it went away). Such
	// values are buffered again and sent after the reconnect, before the
	// values held during the outage: across an outage values arrive at least
	// once, and a repeated one carries the same timestamp.
	resendWindow = 2 * time.Second
	// maxRecent caps the values remembered for a resend (the offline
	// buffer's size if that is smaller).
	maxRecent = 65536
)

// sent is a value and when it was handed to the client (Unix ns).
type sent struct {
	v  model.Value
	at int64
}

// recent remembers the last values sent, oldest first, overwriting the
// oldest when full. Owned by the Run goroutine.
type recent struct {
	buf        []sent
	head, size int
}

func newRecent(n int) *recent { return &recent{buf: make([]sent, min(n, maxRecent))} }

// add remembers v, sent at at.
func (r *recent) add(v model.Value, at int64) {
	if len(r.buf) == 0 {
		return
	}
	if r.size == len(r.buf) {
		r.buf[r.head] = sent{v, at}
		r.head = (r.head + 1) % len(r.buf)
		return
	}
	r.buf[(r.head+r.size)%len(r.buf)] = sent{v, at}
	r.size++
}

// take returns the values sent at or after since, oldest first, and
// forgets every value.
func (r *recent) take(since int64) []model.Value {
	var out []model.Value
	for i := range r.size {
		s := &r.buf[(r.head+i)%len(r.buf)]
		if s.at >= since {
			out = append(out, s.v)
		}
		*s = sent{}
	}
	r.head, r.size = 0, 0
	return out
}

// lost is called once when the Run goroutine notices the connection is
// gone (or is up again before it noticed): the values sent within
// resendWindow before the transport reported the loss go back into the
// offline buffer, ahead of everything held from now on, and are counted.
func (p *Publisher) lost() {
	p.online = false
	at := p.downAt.Swap(0)
	if at == 0 {
		at = time.Now().UnixNano() // a failed send, before the transport's hook
	}
	vals := p.sent.take(at - int64(resendWindow))
	for _, v := range vals {
		p.hold(v)
	}
	p.m.resent.Add(float64(len(vals)))
}
