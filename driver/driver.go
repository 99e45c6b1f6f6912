// Package driver defines what the gateway needs from a device driver. Each
// protocol lives in its own folder below (driver/modbus, ...) and is made
// known to the gateway by one line in gateway/registry.go.
package driver

import (
	"context"
	"log/slog"
	"time"

	"github.com/gridbox/gridbox/bus"
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

// Device is one configured device instance. Optional capabilities are the
// interfaces below (Writer); the gateway checks them at start.
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

// Writer is the capability of a device whose datapoints can be written. A
// device with an actuator datapoint must implement it: the gateway refuses
// to start otherwise (never a silently read-only device). Write gets a value
// the bus has validated and returns the value the device holds afterwards,
// read back where the protocol allows.
type Writer = bus.Writer

// WriteGapper is implemented by driver configs that ask for a minimum time
// between two writes to one datapoint (flash wear).
type WriteGapper interface{ WriteGap() time.Duration }

// Catalog lets a running driver add and remove devices and datapoints (an
// OCPP charge point connects, discovery finds a meter, an MQTT wildcard
// matches a new topic). Every sink learns of the change; history is kept.
// *bus.Bus implements it.
type Catalog interface {
	AddDevice(state model.DeviceState, points []model.Datapoint, w Writer, minWriteGapMs int64) error
	AddDatapoints(device string, points ...model.Datapoint) error
	RemoveDatapoints(device string, names ...string) error
	RemoveDevice(device string) error
}

// Env is what the gateway hands a driver at construction.
type Env struct {
	Log      *slog.Logger
	Metrics  prometheus.Registerer // may be nil in tests
	Profiles ProfileSource         // resolves `profile:` names; may be nil
	Catalog  Catalog               // for devices and datapoints that appear at run time; may be nil in tests
}

// ProfileSource loads a profile by built-in name or file path.
type ProfileSource interface {
	Load(nameOrPath string) ([]byte, string, error) // YAML bytes, source name for errors
}

// Factory makes devices of one driver. One Factory is made per gateway; it
// owns what its devices share (a connection pool, a serial port, a
// listener) and releases it in Close.
type Factory struct {
	// Name is the `driver:` value that selects this driver.
	Name string
	// NewConfig returns a pointer to an empty config struct of this driver.
	NewConfig func() Config
	// New builds a device from a validated config.
	New func(cfg Config, env Env) (Device, error)
	// Close releases what the factory's devices shared; nil if nothing.
	Close func() error
}
