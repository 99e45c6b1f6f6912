package model

import (
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Protect says which way a protected limit datapoint may not be loosened
// (docs/writes.md). Before a write the bus reads the value the device holds;
// the installer's value is the last one read that gridbox did not write. A
// write beyond it is refused.
type Protect string

const (
	// ProtectUpper is an upper limit (a power limit, a maximum current): a
	// higher value is looser. `protect: true` means upper.
	ProtectUpper Protect = "upper"
	// ProtectLower is a lower limit (a minimum state of charge): a lower value is looser.
	ProtectLower Protect = "lower"
)

// UnmarshalYAML accepts true (upper), false (none), upper and lower.
func (p *Protect) UnmarshalYAML(n *yaml.Node) error {
	switch n.Value {
	case "true":
		*p = ProtectUpper
	case "false", "":
		*p = ""
	case string(ProtectUpper), string(ProtectLower):
		*p = Protect(n.Value)
	default:
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: protect %q: want true, false, upper or lower", n.Line, n.Value)}}
	}
	return nil
}

// Looser reports whether writing v over the installer's value inst would
// loosen the limit.
func (p Protect) Looser(v, inst float64) bool {
	switch p {
	case ProtectUpper:
		return v > inst
	case ProtectLower:
		return v < inst
	}
	return false
}

// Watchdog re-sends the last written value of an actuator every Every (for
// devices that forget it) and writes Fallback once when the source of the
// last write has been silent for SourceTimeout (0: never).
type Watchdog struct {
	Every         Duration `json:"every" yaml:"every"`
	Fallback      any      `json:"fallback,omitempty" yaml:"fallback"`
	SourceTimeout Duration `json:"source_timeout,omitempty" yaml:"source_timeout"`
}

// Duration is a time.Duration written as "60s", "5m" in YAML and JSON.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (like 500ms, 1s, 5m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string like "1m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// checkSafe checks protect and watchdog of d.
func (d *Datapoint) checkSafe() error {
	if err := d.CheckProtect(); err != nil {
		return err
	}
	return d.CheckWatchdog()
}

// CheckProtect reports what is wrong with d's protect key.
func (d *Datapoint) CheckProtect() error {
	if d.Protect != "" {
		switch {
		case d.Protect != ProtectUpper && d.Protect != ProtectLower:
			return fmt.Errorf("protect %q: want upper or lower", d.Protect)
		case d.Kind != Actuator || !d.Format.Numeric():
			return fmt.Errorf("protect is for numeric actuators, not a %s %s", d.Format, d.Kind)
		}
	}
	return nil
}

// CheckWatchdog reports what is wrong with d's watchdog key.
func (d *Datapoint) CheckWatchdog() error {
	w := d.Watchdog
	if w == nil {
		return nil
	}
	switch {
	case d.Kind != Actuator:
		return fmt.Errorf("watchdog is for actuators, not a %s", d.Kind)
	case w.Every <= 0:
		return fmt.Errorf("watchdog.every %s: must be positive", w.Every.D())
	case w.SourceTimeout < 0:
		return fmt.Errorf("watchdog.source_timeout %s: must not be negative", w.SourceTimeout.D())
	case w.SourceTimeout > 0 && w.Fallback == nil:
		return fmt.Errorf("watchdog.source_timeout needs a fallback value")
	}
	if w.Fallback != nil {
		if _, err := d.CheckWrite(w.Fallback); err != nil {
			return fmt.Errorf("watchdog.fallback %v: %w", w.Fallback, err)
		}
	}
	return nil
}
