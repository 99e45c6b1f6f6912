package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// broker is the private Mosquitto the gateway publishes to: an "external"
// broker on a free loopback port that the bench can bounce. Persistence
// keeps the counting subscriber's session (and the values queued for it)
// across a restart; nothing else is persisted that the count depends on.
type broker struct {
	dir, port, conf string
	mu              sync.Mutex
	cmd             *exec.Cmd
	exited          chan struct{}
}

func newBroker(dir string) (*broker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	b := &broker{dir: dir, port: port, conf: filepath.Join(dir, "mosquitto.conf")}
	me, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	// user: mosquitto started as root switches to user "mosquitto", which
	// could not write the persistence file into dir.
	conf := fmt.Sprintf(`listener %s 127.0.0.1
user %s
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 3600
queue_qos0_messages true
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 0
set_tcp_nodelay true
log_dest file %s
`, port, me.Username, dir, filepath.Join(dir, "mosquitto.log"))
	if err := os.WriteFile(b.conf, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("write mosquitto config: %w", err)
	}
	return b, nil
}

// url is the broker as the gateway's mqtt.broker.
func (b *broker) url() string { return "mqtt://127.0.0.1:" + b.port }

// addr is host:port.
func (b *broker) addr() string { return "127.0.0.1:" + b.port }

// start runs mosquitto and waits until it accepts connections.
func (b *broker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cmd := exec.Command("mosquitto", "-c", b.conf)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(b.exited)
	for range 100 {
		if c, err := net.DialTimeout("tcp", b.addr(), 100*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-b.exited:
			return fmt.Errorf("mosquitto exited at start (config %s)", b.conf)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("mosquitto does not accept connections on %s", b.addr())
}

// stop ends mosquitto with sig (SIGTERM: an orderly restart, which saves
// the persistent sessions; SIGKILL: a crash) and waits for it.
func (b *broker) stop(sig syscall.Signal) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return nil
	}
	if err := b.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal mosquitto: %w", err)
	}
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	b.cmd = nil
	return nil
}

// freePort returns a loopback TCP port nothing listened on a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}
