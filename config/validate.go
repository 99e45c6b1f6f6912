package config

import (
	"fmt"
	"net"

	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// validate checks values after decoding; root locates lines.
func validate(c *Config, root *yaml.Node) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Line: Locate(root, path), Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if !model.ValidID(c.Site) {
		add("site", "%q is not a slug ([a-z0-9][a-z0-9_-]*)", c.Site)
	}
	if !OneOf(c.Log.Level, "debug", "info", "warn", "error") {
		add("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	if !OneOf(c.Log.Format, "text", "json") {
		add("log.format", "%q: want text or json", c.Log.Format)
	}
	return append(errs, checkDevices(c.Devices, root)...)
}

func checkDevices(devs []Device, root *yaml.Node) []FieldError {
	var errs []FieldError
	seen := map[string]int{}
	for i, d := range devs {
		p := fmt.Sprintf("devices[%d]", i)
		switch {
		case d.ID == "":
			errs = append(errs, FieldError{Line: Locate(root, p), Path: p + ".id", Msg: "missing"})
		case !model.ValidID(d.ID):
			errs = append(errs, FieldError{Line: Locate(root, p+".id"), Path: p + ".id", Msg: fmt.Sprintf("%q is not a slug ([a-z0-9][a-z0-9_-]*)", d.ID)})
		default:
			if j, dup := seen[d.ID]; dup {
				errs = append(errs, FieldError{Line: Locate(root, p+".id"), Path: p + ".id", Msg: fmt.Sprintf("%q is already used by devices[%d]", d.ID, j)})
			}
			seen[d.ID] = i
		}
		if d.Driver == "" {
			errs = append(errs, FieldError{Line: Locate(root, p), Path: p + ".driver", Msg: "missing"})
		}
	}
	return errs
}

// CheckListen validates a listen address (host:port; an empty host means
// every interface, port 0 a free port).
func CheckListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", s, err)
	}
	if port == "" {
		return fmt.Errorf("%q has no port", s)
	}
	return nil
}

// OneOf reports whether s is one of opts.
func OneOf(s string, opts ...string) bool {
	for _, o := range opts {
		if s == o {
			return true
		}
	}
	return false
}
