package modbus

import (
	"sort"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Override is what a device's `overrides:` may change of one datapoint of
// its profile or registers: the safe-write keys (docs/writes.md).
//
//	overrides:
//	  active_power_limit: {protect: true, watchdog: {every: 60s, fallback: 0, source_timeout: 5m}}
type Override struct {
	Protect  model.Protect   `yaml:"protect"`
	Watchdog *model.Watchdog `yaml:"watchdog"`
}

// Overrides maps datapoint names to their overrides (the `overrides:` key).
type Overrides map[string]Override

// applyOverrides sets the overrides of c on the compiled fields; a name
// that is not a datapoint of the device is an error at overrides.<name>.
func applyOverrides(fields []*field, over Overrides) []config.FieldError {
	byName := make(map[string]*field, len(fields))
	for _, f := range fields {
		byName[f.reg.Name] = f
	}
	names := make([]string, 0, len(over))
	for n := range over {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []config.FieldError
	for _, n := range names {
		f, ok := byName[n]
		if !ok {
			errs = append(errs, config.Errf("overrides."+n, "no datapoint %q in this device's profile or registers", n))
			continue
		}
		o := over[n]
		if o.Protect != "" {
			f.reg.Protect = o.Protect
		}
		if o.Watchdog != nil {
			f.reg.Watchdog = o.Watchdog
		}
		for _, e := range f.checkSafe() {
			e.Path = "overrides." + n + "." + e.Path
			errs = append(errs, e)
		}
	}
	return errs
}

// checkSafe checks the protect and watchdog keys of a compiled field.
func (f *field) checkSafe() []config.FieldError {
	if !f.format.Valid() {
		return nil // reported already
	}
	dp := f.datapoint()
	var errs []config.FieldError
	if err := dp.CheckProtect(); err != nil {
		errs = append(errs, config.Errf("protect", "%v", err))
	}
	if err := dp.CheckWatchdog(); err != nil {
		errs = append(errs, config.Errf("watchdog", "%v", err))
	}
	return errs
}
