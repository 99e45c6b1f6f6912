// Package keba is gridbox's KEBA P30 driver (UDP port 7090): it polls
// reports 1, 2 and 3, writes enable, current limit, energy limit and
// display text, and shares one local UDP port among several stations.
package keba

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
)

// Driver is the KEBA driver of one gateway; it owns the local UDP ports.
type Driver struct{ ports *ports }

// New returns a driver without open ports.
func New() *Driver {
	return &Driver{ports: &ports{byKey: map[string]*port{}, log: slog.New(slog.DiscardHandler)}}
}

// Factory returns the driver's factory for the gateway's driver table.
func (d *Driver) Factory() driver.Factory {
	return driver.Factory{
		Name:      "keba",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       d.NewDevice,
	}
}

// NewDevice builds a station from a validated *Config.
func (d *Driver) NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("keba: config is %T, want *keba.Config", c)
	}
	hostport, err := parseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Device{cfg: cfg, hostport: hostport, ports: d.ports, log: log,
		bad: devstat.NewMalformed(env.Metrics, "keba", cfg.ID)}, nil
}

// Device is one KEBA P30. It implements driver.Device and bus.Writer.
type Device struct {
	ts       driver.Stamps // value timestamps, strictly later poll after poll
	cfg      *Config
	hostport string
	ports    *ports
	log      *slog.Logger
	bad      *devstat.Malformed

	mu       sync.Mutex
	st       *station // nil until Run has joined the port
	sink     driver.Sink
	state    model.DeviceState
	timeouts int // consecutive
}

// Datapoints lists the station's datapoints.
func (d *Device) Datapoints() []model.Datapoint {
	out := make([]model.Datapoint, len(points))
	for i, p := range points {
		out[i] = model.Datapoint{Device: d.cfg.ID, Name: p.name, Meta: p.meta}
	}
	return out
}
