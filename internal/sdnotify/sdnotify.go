// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)) without cgo: READY=1 once the gateway runs, STOPPING=1 when
// it stops, and WATCHDOG=1 keep-alives when the unit sets WatchdogSec=.
// Outside systemd ($NOTIFY_SOCKET unset) everything is a no-op.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends state lines to the service manager.
type Notifier struct {
	socket   string        // $NOTIFY_SOCKET; "" = not under systemd
	interval time.Duration // watchdog keep-alive period; 0 = no watchdog
}

// FromEnv returns the notifier of this process, configured by
// $NOTIFY_SOCKET and $WATCHDOG_USEC (keep-alives at half the timeout).
func FromEnv(getenv func(string) string) Notifier {
	n := Notifier{socket: getenv("NOTIFY_SOCKET")}
	if us, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
		pid := getenv("WATCHDOG_PID")
		if pid == "" || pid == strconv.Itoa(os.Getpid()) {
			n.interval = time.Duration(us) * time.Microsecond / 2
		}
	}
	return n
}

// Enabled reports whether a service manager listens.
func (n Notifier) Enabled() bool { return n.socket != "" }

// Notify sends one state ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=…").
func (n Notifier) Notify(state string) error {
	if n.socket == "" {
		return nil
	}
	addr := n.socket
	if addr[0] == '@' { // abstract socket
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.socket, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.socket, err)
	}
	return nil
}

// Watchdog sends WATCHDOG=1 every interval until ctx is done; it returns
// at once when the unit has no watchdog. errf receives send errors.
func (n Notifier) Watchdog(ctx context.Context, errf func(error)) {
	if n.socket == "" || n.interval <= 0 {
		return
	}
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := n.Notify("WATCHDOG=1"); err != nil && errf != nil {
				errf(err)
			}
		}
	}
}
