package victron_test

import (
	"slices"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/drivertest"
	"github.com/gridbox/gridbox/driver/victron"
)

// TestSampleConfigs: the sample.yaml and the docs' sample validate.
func TestSampleConfigs(t *testing.T) {
	newConfig := func() driver.Config { return victron.NewConfig() }
	drivertest.CheckSample(t, "sample.yaml", "victron", newConfig)
	drivertest.CheckSample(t, "../../docs/driver-victron.md", "victron", newConfig)
}

// TestConfigErrors: broken configs name the key that is wrong.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, want string
		edit       func(*victron.Config)
	}{
		{"no broker", "broker", func(c *victron.Config) { c.Broker = "" }},
		{"http broker", "broker", func(c *victron.Config) { c.Broker = "http://gx" }},
		{"keepalive at expiry", "keepalive", func(c *victron.Config) { c.KeepAlive = 60e9 }},
		{"portal", "portal_id", func(c *victron.Config) { c.PortalID = "a/b" }},
		{"path", "actuators[0].path", func(c *victron.Config) { c.Actuators[0].Path = "hub4/x/AcPowerSetpoint" }},
		{"no limits", "actuators[0].min", func(c *victron.Config) { c.Actuators[0].Max = nil }},
		{"generic", "actuators[0].format", func(c *victron.Config) { c.Actuators[0].Format = "generic_text" }},
		{"filter", "paths[0]", func(c *victron.Config) { c.Paths = []string{"/battery/#"} }},
	} {
		cfg := victron.NewConfig()
		cfg.ID, cfg.Driver, cfg.Broker = "gx", "victron", "mqtt://127.0.0.1"
		cfg.Actuators = []victron.Actuator{{Path: "hub4/0/AcPowerSetpoint", Meta: minMax(-1, 1)}}
		if errs := cfg.Validate(); len(errs) != 0 {
			t.Fatalf("good config: %v", errs)
		}
		c.edit(cfg)
		errs := cfg.Validate()
		if !slices.ContainsFunc(errs, func(e config.FieldError) bool { return e.Path == c.want }) {
			t.Errorf("%s: %v, want an error at %s", c.name, errs, c.want)
		}
	}
}
