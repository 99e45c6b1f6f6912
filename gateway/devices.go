package gateway

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
)

// writeGapper is implemented by driver configs that ask for a minimum time
// between two writes to one datapoint.
type writeGapper interface{ WriteGap() time.Duration }

// built is one device made from its config.
type built struct {
	id, driver string
	dev        driver.Device
	writeGap   time.Duration
}

// buildDevices decodes, validates and constructs every device; it reports
// every problem with file, line and key path.
func buildDevices(cfg *config.Config, drivers map[string]driver.Factory, env driver.Env) ([]built, config.Errors) {
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

func buildDevice(d config.Device, prefix string, drivers map[string]driver.Factory, env driver.Env) (built, []config.FieldError) {
	f, ok := drivers[d.Driver]
	if !ok {
		return built{}, []config.FieldError{{Line: config.Locate(d.Node, "driver"), Path: prefix + ".driver",
			Msg: fmt.Sprintf("unknown driver %q (known: %s)", d.Driver, strings.Join(driverNames(drivers), ", "))}}
	}
	cfg := f.NewConfig()
	if errs := config.DecodeDevice(d.Node, cfg, prefix); len(errs) > 0 {
		return built{}, errs
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		for i := range errs {
			errs[i].Line = config.Locate(d.Node, errs[i].Path)
			errs[i].Path = prefix + "." + errs[i].Path
		}
		return built{}, errs
	}
	env.Log = env.Log.With("device", d.ID, "driver", d.Driver)
	dev, err := f.New(cfg, env)
	if err != nil {
		return built{}, []config.FieldError{{Line: d.Node.Line, Path: prefix, Msg: err.Error()}}
	}
	if errs := checkDatapoints(dev.Datapoints(), prefix, d.Node.Line); len(errs) > 0 {
		return built{}, errs
	}
	b := built{id: d.ID, driver: d.Driver, dev: dev}
	if g, ok := cfg.(writeGapper); ok {
		b.writeGap = g.WriteGap()
	}
	return b, nil
}

func checkDatapoints(pts []model.Datapoint, prefix string, line int) []config.FieldError {
	var errs []config.FieldError
	for _, p := range pts {
		if err := p.CheckMeta(); err != nil {
			errs = append(errs, config.FieldError{Line: line, Path: prefix, Msg: fmt.Sprintf("datapoint %s: %v", p.Name, err)})
		}
	}
	return errs
}

func driverNames(m map[string]driver.Factory) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
