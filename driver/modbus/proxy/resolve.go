package proxy

import (
	"fmt"
	"net"
)

// resolve turns a listen address with port 0 into a free port, since the
// server library listens by itself and cannot report the port it got.
func resolve(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("modbus proxy: listen %q: %w", listen, err)
	}
	if port != "0" {
		return listen, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("modbus proxy: listen %s: %w", listen, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
