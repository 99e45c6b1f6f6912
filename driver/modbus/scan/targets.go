package scan

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// maxHosts bounds what one CIDR range may expand to (a /16).
const maxHosts = 1 << 16

// ParseTargets expands the command line's targets — host:port items and
// IPv4 CIDR ranges with a port (192.168.1.0/24:502), as separate
// arguments or comma-separated — into host:port endpoints, without
// duplicates, in the order given. A range skips its network and broadcast
// address (unless it is a /31 or /32).
func ParseTargets(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(ep string) {
		if !seen[ep] {
			seen[ep] = true
			out = append(out, ep)
		}
	}
	for _, arg := range args {
		for item := range strings.SplitSeq(arg, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			eps, err := parseTarget(item)
			if err != nil {
				return nil, err
			}
			for _, ep := range eps {
				add(ep)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets (like 192.168.1.10:502 or 192.168.1.0/24:502)")
	}
	return out, nil
}

func parseTarget(item string) ([]string, error) {
	host, port, err := net.SplitHostPort(item)
	if err != nil {
		return nil, fmt.Errorf("target %q: want host:port or CIDR:port (like 192.168.1.0/24:502)", item)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("target %q: port %q is out of 1..65535", item, port)
	}
	if host == "" {
		return nil, fmt.Errorf("target %q: no host", item)
	}
	if !strings.Contains(host, "/") {
		return []string{net.JoinHostPort(host, port)}, nil
	}
	prefix, err := netip.ParsePrefix(host)
	if err != nil || !prefix.Addr().Is4() {
		return nil, fmt.Errorf("target %q: %q is not an IPv4 CIDR range", item, host)
	}
	prefix = prefix.Masked()
	bits := 32 - prefix.Bits()
	if 1<<bits > maxHosts {
		return nil, fmt.Errorf("target %q: /%d is more than %d addresses; scan at most a /16", item, prefix.Bits(), maxHosts)
	}
	var eps []string
	for a, i := prefix.Addr(), 0; i < 1<<bits; a, i = a.Next(), i+1 {
		if bits >= 2 && (i == 0 || i == 1<<bits-1) {
			continue // network and broadcast address
		}
		eps = append(eps, net.JoinHostPort(a.String(), port))
	}
	return eps, nil
}

// ParseUnits reads a unit id list like "1-247", "3" or "1,3,10-12"
// (0..247, as a Modbus device config accepts).
func ParseUnits(s string) ([]uint8, error) {
	var out []uint8
	seen := map[int]bool{}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := unitNumber(lo)
		if err != nil {
			return nil, fmt.Errorf("units %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = unitNumber(hi); err != nil {
				return nil, fmt.Errorf("units %q: %w", s, err)
			}
		}
		if b < a {
			return nil, fmt.Errorf("units %q: range %d-%d runs backwards", s, a, b)
		}
		for u := a; u <= b; u++ {
			if !seen[u] {
				seen[u] = true
				out = append(out, uint8(u))
			}
		}
	}
	return out, nil
}

func unitNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 247 {
		return 0, fmt.Errorf("%q is not a unit id in 0..247", s)
	}
	return n, nil
}
