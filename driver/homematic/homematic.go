// Package homematic is gridbox's Homematic CCU driver (XML-RPC): it reads
// the CCU's device list and paramset descriptions into datapoints, runs a
// callback server for the CCU's events, writes with setValue and re-inits
// when the event stream stops.
package homematic

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/homematic/xmlrpc"
	"github.com/gridbox/gridbox/driver/internal/devstat"
)

// Factory returns the driver's factory for the gateway's driver table.
func Factory() driver.Factory {
	return driver.Factory{
		Name:      "homematic",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       NewDevice,
	}
}

// NewDevice builds a device from a validated *Config.
func NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("homematic: config is %T, want *homematic.Config", c)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Device{
		cfg: cfg, log: log, cat: env.Catalog,
		client: &xmlrpc.Client{URL: cfg.URL, HTTP: &http.Client{Timeout: cfg.Timeout.D()}, MaxBody: cfg.MaxBody},
		bad:    devstat.NewMalformed(env.Metrics, "homematic", cfg.ID),
		byName: map[string]*param{}, byKey: map[string]*param{},
		rescan: make(chan struct{}, 1),
	}
	d.state.Device = cfg.ID
	return d, nil
}
