package config

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem in a config, located by key path and line.
type FieldError struct {
	File string // file name; empty for relative errors
	Line int    // 1-based; 0 when unknown
	Path string // key path like devices[2].url
	Msg  string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errf makes a FieldError for a key path.
func Errf(path, format string, args ...any) FieldError {
	return FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Errors is a list of config problems; it is an error when not empty.
type Errors []FieldError

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// DeviceCommon holds the keys every device has, whatever its driver.
type DeviceCommon struct {
	ID     string `yaml:"id" doc:"the device's id: letters, digits, _ and -; part of every datapoint's address" required:"true"`
	Driver string `yaml:"driver" doc:"the driver that speaks to the device" required:"true"`
}

// Duration is a time.Duration written in YAML as "1s", "250ms", "5m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string. Any parseable duration is
// accepted, also zero and negative ones: whether a value is in range depends
// on the key and is reported by validation ("must be positive").
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (like 500ms, 1s, 5m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
