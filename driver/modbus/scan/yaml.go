package scan

import (
	"fmt"
	"io"
	"strings"
)

// WriteConfig writes the units as a `devices:` YAML list that a gridbox
// config accepts: SunSpec devices as `driver: sunspec`, the others as
// `driver: modbus` with the matching built-in profile or, without one, the
// register that answered. A comment above each device says what answered.
func WriteConfig(w io.Writer, units []Unit) error {
	var b strings.Builder
	if len(units) == 0 {
		b.WriteString("devices: [] # no Modbus unit answered\n")
	} else {
		b.WriteString("devices:\n")
	}
	seen := map[string]int{}
	for _, u := range units {
		writeUnit(&b, u, seen)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeUnit(b *strings.Builder, u Unit, seen map[string]int) {
	kind := "modbus"
	switch {
	case u.SunSpec >= 0:
		kind = "sunspec"
	case len(u.Profiles) > 0:
		kind = u.Profiles[0]
	}
	id := fmt.Sprintf("%s-%s-u%d", kind, slug(u.Endpoint), u.ID)
	if n := seen[id]; n > 0 {
		id = fmt.Sprintf("%s-%d", id, n+1)
	}
	seen[id]++
	if u.EveryUnit {
		fmt.Fprintf(b, "  # %s answered every unit id asked, so it ignores the unit id: unit %d stands for all\n", u.Endpoint, u.ID)
	}
	fmt.Fprintf(b, "  # %s unit %d answered %s", u.Endpoint, u.ID, u.Answer)
	switch {
	case u.SunSpec >= 0:
		fmt.Fprintf(b, "; SunSpec marker \"SunS\" at %d\n", u.SunSpec)
	case len(u.Profiles) > 0:
		fmt.Fprintf(b, "; every register of profile %s answered", strings.Join(u.Profiles, ", "))
		if len(u.Profiles) > 1 {
			fmt.Fprintf(b, " (picked %s)", u.Profiles[0])
		}
		b.WriteString("\n")
	case u.Probe != nil && u.AnswersAll:
		fmt.Fprintf(b, "; %s %d = 0x%04x; it answers any address (also 65534), so no profile can be told: name its registers\n", u.Probe.Table, u.Probe.Address, u.Probe.Value)
	case u.Probe != nil:
		fmt.Fprintf(b, "; %s %d = 0x%04x; no built-in profile matched, name its registers\n", u.Probe.Table, u.Probe.Address, u.Probe.Value)
	default:
		b.WriteString("; no probe register answered with data, no built-in profile matched: name its registers\n")
	}
	drv := "modbus"
	if u.SunSpec >= 0 {
		drv = "sunspec"
	}
	fmt.Fprintf(b, "  - id: %s\n    driver: %s\n    url: \"tcp://%s\"\n    unit: %d\n", id, drv, u.Endpoint, u.ID)
	switch {
	case u.SunSpec >= 0:
	case len(u.Profiles) > 0:
		fmt.Fprintf(b, "    profile: %s\n", u.Profiles[0])
	default:
		table, addr := "holding", uint16(0)
		if u.Probe != nil {
			table, addr = u.Probe.Table, u.Probe.Address
		}
		b.WriteString("    registers:\n")
		fmt.Fprintf(b, "      - { name: %s_%d, table: %s, address: %d, type: uint16 }\n", table, addr, table, addr)
	}
}

// slug turns host:port into an id part: 192.168.1.10:502 → 192-168-1-10-502.
func slug(ep string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(ep) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
