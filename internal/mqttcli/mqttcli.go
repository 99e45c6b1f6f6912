// Package mqttcli drives Mosquitto's command-line clients (mosquitto_sub,
// mosquitto_pub) in tests: an independent peer for the gateway's topics.
package mqttcli

import (
	"bufio"
	"context"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// Msg is one message a Sub received.
type Msg struct {
	Retained bool
	Topic    string
	Payload  string
}

// Sub is a running mosquitto_sub that records every message.
type Sub struct {
	mu   sync.Mutex
	msgs []Msg
}

// Subscribe starts mosquitto_sub on addr (host:port) with the filters and
// extra arguments (-u user, -i id, …); it stops at test end.
func Subscribe(t *testing.T, addr string, extra []string, filters ...string) *Sub {
	t.Helper()
	bin := testenv.Tool(t, "mosquitto_sub")
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"-h", host, "-p", port, "-F", "%r %t %p", "-q", "1"}, extra...)
	for _, f := range filters {
		args = append(args, "-t", f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Sub{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.read(out)
	}()
	t.Cleanup(func() { cancel(); <-done; _ = cmd.Wait() })
	return s
}

func (s *Sub) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		flag, rest, _ := strings.Cut(sc.Text(), " ")
		topic, payload, _ := strings.Cut(rest, " ")
		s.mu.Lock()
		s.msgs = append(s.msgs, Msg{Retained: flag == "1", Topic: topic, Payload: payload})
		s.mu.Unlock()
	}
}

// Msgs returns a copy of what arrived so far.
func (s *Sub) Msgs() []Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Msg(nil), s.msgs...)
}

// Last returns the last message on topic.
func (s *Sub) Last(topic string) (Msg, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if s.msgs[i].Topic == topic {
			return s.msgs[i], true
		}
	}
	return Msg{}, false
}

// Count counts the messages on topic so far.
func (s *Sub) Count(topic string) int {
	n := 0
	for _, m := range s.Msgs() {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// Publish runs mosquitto_pub once; payload "" with empty true sends a
// zero-byte message. It returns mosquitto_pub's error.
func Publish(t *testing.T, addr, topic, payload string, extra ...string) error {
	t.Helper()
	bin := testenv.Tool(t, "mosquitto_pub")
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"-h", host, "-p", port, "-t", topic, "-q", "1"}, extra...)
	if payload == "" {
		args = append(args, "-n")
	} else {
		args = append(args, "-m", payload)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return &pubError{err: err, out: string(out)}
	}
	return nil
}

type pubError struct {
	err error
	out string
}

func (e *pubError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.out) }
