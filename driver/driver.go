// Package driver defines what the gateway needs from a device driver. Each
// protocol lives in its own folder below (driver/modbus, ...) and is made
// known to the gateway by one line in gateway/drivers.go.
package driver

import (
	"context"
	"log/slog"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

// Sink receives what a device reports. *bus.Bus implements it.
type Sink interface {
	Publish(vals ...model.Value)
	// SetState reports the device's connection state; polls and errs are
	// added to the device's counters.
	SetState(st model.DeviceState, polls, errs uint64)
	// MarkStale republishes the device's last values with quality stale.
	MarkStale(device string, at int64)
}

// Device is one configured device instance. A Device that can be written
// also implements bus.Writer (Write(ctx, name, value) (any, error)).
type Device interface {
	// Datapoints lists the device's datapoints (Device field may be empty).
	Datapoints() []model.Datapoint
	// Run polls or listens until ctx is done. It must not return early
	// because the device is unreachable: it retries and reports state.
	Run(ctx context.Context, out Sink) error
}

// Config is a driver's decoded device configuration. The struct must embed
// config.DeviceCommon with `yaml:",inline"`; unknown keys are rejected by
// the config package before Validate is called.
type Config interface {
	// Validate reports every problem, with key paths relative to the device.
	Validate() []config.FieldError
}

// Env is what the gateway hands a driver at construction.
type Env struct {
	Log      *slog.Logger
	Metrics  prometheus.Registerer // may be nil in tests
	Profiles ProfileSource         // resolves `profile:` names; may be nil
}

// ProfileSource loads a profile by built-in name or file path.
type ProfileSource interface {
	Load(nameOrPath string) ([]byte, string, error) // YAML bytes, source name for errors
}

// Factory makes devices of one driver.
type Factory struct {
	// NewConfig returns a pointer to an empty config struct of this driver.
	NewConfig func() Config
	// New builds a device from a validated config.
	New func(cfg Config, env Env) (Device, error)
}
