package gateway

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// built is one device made from its config.
type built struct {
	id, driver string
	dev        driver.Device
	writeGap   time.Duration
}

// buildDevices decodes, validates and constructs every device; it reports
// every problem with file, line and key path.
func buildDevices(cfg *config.Config, drivers []driver.Factory, env driver.Env) ([]built, config.Errors) {
	var out []built
	var errs config.Errors
	for i, d := range cfg.Devices {
		prefix := fmt.Sprintf("devices[%d]", i)
		b, derrs := buildDevice(d, prefix, drivers, env)
		for _, e := range derrs {
			e.File = cfg.File
			errs = append(errs, e)
		}
		if len(derrs) == 0 {
			out = append(out, b)
		}
	}
	errs.Sort()
	return out, errs
}

// profileChecker is implemented by driver configs that name a profile: it
// reports what is wrong with the profile (key path "profile"), so that a bad
// profile is found even when the device has other errors and is not built.
type profileChecker interface {
	CheckProfile(driver.ProfileSource) []config.FieldError
}

// buildDevice checks one device in phases and reports the problems of every
// phase it can run: its keys and their types (decode), their values
// (validate) and its profile. Only a device without any problem is built,
// which checks it once more as the driver sees it (profile, datapoints).
func buildDevice(d config.Device, prefix string, drivers []driver.Factory, env driver.Env) (built, []config.FieldError) {
	if d.Driver == "" { // the same error as the config package's, printed once by check
		return built{}, []config.FieldError{{Line: config.Locate(d.Node, ""), Path: prefix + ".driver", Msg: "missing"}}
	}
	f, ok := findDriver(drivers, d.Driver)
	if !ok {
		return built{}, []config.FieldError{{Line: config.Locate(d.Node, "driver"), Path: prefix + ".driver",
			Msg: fmt.Sprintf("unknown driver %q (known: %s)", d.Driver, strings.Join(driverNames(drivers), ", "))}}
	}
	cfg := f.NewConfig()
	errs := config.Decode(d.Node, cfg, prefix)
	decodeErrs := len(errs)
	for _, e := range locate(cfg.Validate(), d.Node, prefix) {
		if !reportedAt(errs[:decodeErrs], e.Path) { // a key that did not decode keeps its default: no second error
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		if pc, ok := cfg.(profileChecker); ok && !reportedAt(errs, prefix+".profile") {
			errs = append(errs, locate(pc.CheckProfile(env.Profiles), d.Node, prefix)...)
		}
		return built{}, errs
	}
	env.Log = env.Log.With("device", d.ID, "driver", d.Driver)
	dev, err := f.New(cfg, env)
	if err != nil {
		var ce config.Errors
		if errors.As(err, &ce) {
			return built{}, locate(ce, d.Node, prefix)
		}
		return built{}, []config.FieldError{{Line: d.Node.Line, Path: prefix, Msg: err.Error()}}
	}
	if errs := checkDatapoints(dev, d.Node, prefix); len(errs) > 0 {
		return built{}, errs
	}
	b := built{id: d.ID, driver: d.Driver, dev: dev}
	if g, ok := cfg.(driver.WriteGapper); ok {
		b.writeGap = g.WriteGap()
	}
	return b, nil
}

// locate gives errors with key paths relative to a device the line of that
// key in the device's node n and the full key path.
func locate(errs []config.FieldError, n *yaml.Node, prefix string) []config.FieldError {
	out := make([]config.FieldError, len(errs))
	for i, e := range errs {
		e.Line = config.Locate(n, e.Path)
		if e.Path == "" {
			e.Path = prefix
		} else {
			e.Path = prefix + "." + e.Path
		}
		out[i] = e
	}
	return out
}

// reportedAt reports whether one of errs is about the key path p or a key
// above it (devices[0].url for devices[0].url and devices[0].url.x).
func reportedAt(errs []config.FieldError, p string) bool {
	for _, e := range errs {
		if p == e.Path || strings.HasPrefix(p, e.Path+".") || strings.HasPrefix(p, e.Path+"[") {
			return true
		}
	}
	return false
}

// checkDatapoints checks every datapoint's metadata, and that a device
// with an actuator has the Writer capability: a datapoint that asks for
// writes on a driver that cannot write is a start error at its line, never a
// silently read-only device.
func checkDatapoints(dev driver.Device, n *yaml.Node, prefix string) []config.FieldError {
	var errs []config.FieldError
	_, writable := dev.(driver.Writer)
	for _, p := range dev.Datapoints() {
		if err := p.CheckMeta(); err != nil {
			errs = append(errs, config.FieldError{Line: datapointLine(n, p.Name), Path: prefix, Msg: fmt.Sprintf("datapoint %s: %v", p.Name, err)})
		}
		if p.Kind == model.Actuator && !writable {
			errs = append(errs, config.FieldError{Line: datapointLine(n, p.Name), Path: prefix,
				Msg: fmt.Sprintf("datapoint %s is an actuator, but this driver cannot write: make it a sensor", p.Name)})
		}
		if _, readable := dev.(bus.Reader); p.Protect != "" && !readable {
			errs = append(errs, config.FieldError{Line: datapointLine(n, p.Name), Path: prefix,
				Msg: fmt.Sprintf("datapoint %s is protected, but this driver cannot read a value before a write", p.Name)})
		}
	}
	return errs
}

// datapointLine is the line that defines a datapoint in a device's config:
// the mapping with `name: <name>`, else the `profile:` key, else the device.
func datapointLine(n *yaml.Node, name string) int {
	if l := findNamed(n, name); l > 0 {
		return l
	}
	return config.Locate(n, "profile")
}

func findNamed(n *yaml.Node, name string) int {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "name" && n.Content[i+1].Value == name {
				return n.Line
			}
		}
		for i := 1; i < len(n.Content); i += 2 {
			if l := findNamed(n.Content[i], name); l > 0 {
				return l
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if l := findNamed(c, name); l > 0 {
				return l
			}
		}
	}
	return 0
}

func findDriver(fs []driver.Factory, name string) (driver.Factory, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return driver.Factory{}, false
}

func driverNames(fs []driver.Factory) []string {
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}
