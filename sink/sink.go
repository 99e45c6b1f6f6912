// Package sink defines what the gateway needs from a sink: a consumer of
// the bus (the MQTT publisher, the history store, the REST API and its live
// stream, and later uplinks, outputs and dialects). Each kind lives in its
// own package, owns one top-level config section — its keys, defaults and
// checks — and is made known to the gateway by one line in
// gateway/registry.go.
package sink

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is a kind's decoded section (or one instance of a list section).
// NewConfig returns it with the kind's defaults filled in; unknown keys are
// refused before Validate is called.
type Config interface {
	// Validate reports every problem, with key paths relative to the section.
	Validate() []config.FieldError
}

// Sink is one running instance of a kind.
type Sink interface {
	// Run consumes the subscription (values, and states and catalog events
	// when asked for) until ctx is done. sub is nil for kinds that subscribe
	// by themselves (Kind.OwnSubscriptions).
	Run(ctx context.Context, sub *bus.Subscription) error
	// Close releases what New opened (files, listeners, connections); it is
	// called once, after Run has returned, or when the gateway fails to start.
	Close() error
}

// Env is what the gateway hands a kind's New.
type Env struct {
	Name     string                // instance name: the kind's name, or the `name:` of a list item
	Site     string                // gateway id
	Version  string                // gateway version
	Bus      *bus.Bus              // the catalog, last values and the write path
	Log      *slog.Logger          // with component=<name>
	Metrics  prometheus.Registerer // labels every metric sink=<name>, so instances of a kind count apart
	Gatherer prometheus.Gatherer   // every metric of the gateway (for /metrics)
	History  model.History         // the history of the first sink that keeps one; nil if none
	Audit    model.AuditLog        // the audit log of the first sink that keeps one (the store); nil if none
	DataDir  string                // where a sink keeps files of its own: the embedded store's directory, else ./data
	Controls Controls              // setpoints and schedules of controlled actuators; nil without a control: section
	Routes   []Route               // routes of the sinks opened before this one (Router)
	MQTT     MQTT                  // the first MQTT sink opened before this one; nil if none
	// Device returns the running device of an id, for a sink that uses a
	// capability of one driver's devices through an interface of its own
	// (the Modbus proxy forwards requests over a Modbus device's
	// connection). nil in tests that do not need it.
	Device func(id string) (driver.Device, bool)
	// DeviceSchemas is the JSON Schema of one device entry of each driver
	// the gateway knows, by driver name (defaults, descriptions, enums):
	// the web UI builds its device form from it. nil in tests.
	DeviceSchemas map[string]config.Schema
}

// Controls is the capability of a sink that controls actuators (package
// control): the MQTT and REST write sources hand it setpoints and schedules.
// what is "setpoint" or "schedule"; items a JSON list of items or null.
// An actuator it does not control is model.ErrNotControlled; a refused list
// is an error with a Problems() []string method listing every problem.
type Controls interface {
	SetItems(device, name, what string, items []byte, ts int64) error
	Items(device, name, what string) (any, error)  // the JSON-encodable list, nil for none
	ControlState(device, name string) (any, error) // the current decision and its reason
}

// Kind is one sink kind: its config section and how to build an instance.
type Kind struct {
	// Name is the top-level config key of the kind's section.
	Name string
	// List allows the section to be a list of instances (each may set
	// `name:`); a single mapping is one instance.
	List bool
	// Default makes one instance with the defaults when the section is absent.
	Default bool
	// Sequence: the section is a YAML list decoded as one instance, into
	// the config's `items` key (control pairs, computed datapoints).
	Sequence bool
	// OwnSubscriptions: the kind subscribes to the bus itself (one
	// subscription per stream client) and Run gets a nil subscription.
	OwnSubscriptions bool
	// NewConfig returns a pointer to a config with the kind's defaults.
	NewConfig func() Config
	// New opens an instance from a validated config; problems with what the
	// config names (a port taken, a file that cannot be opened) are errors here.
	New func(ctx context.Context, cfg Config, env Env) (Sink, error)
}

// Historian is the capability of a sink that keeps history: the gateway
// hands the first one to the others (Env.History) and restores the bus's
// last values from it at start.
type Historian interface {
	model.History
	LastValues(ctx context.Context) ([]model.Value, error)
}

// Addresser is the capability of a sink that listens: Addr is where a
// client on this machine reaches it (the API's HTTP address, the embedded
// broker's).
type Addresser interface {
	Addr() string
}

// Route is an HTTP endpoint a sink contributes to the REST API, served
// there behind the API's read access like its own reads, or its write
// access when Write is set (a dialect's POST endpoints).
type Route struct {
	Pattern string       // "GET /api/v1/…", a net/http ServeMux pattern; below /api/v1/ or a dialect's own root like /bemcom/
	Handler http.Handler // answers JSON
	Write   bool         // needs write access (any method); else a GET with read access
}

// Router is the capability of a sink that contributes routes to the REST
// API; the gateway hands them to the sinks opened after it (Env.Routes), so
// a Router is registered before the API in gateway/registry.go.
type Router interface {
	Routes() []Route
}

// MQTT is the capability of the MQTT sink that a sink publishing topics of
// its own outside the gateway's prefix (a dialect) uses: one more client
// connection to the same broker — in-process for the embedded one — and
// access rules for the embedded broker. The gateway hands the first one to
// the sinks opened after it (Env.MQTT).
type MQTT interface {
	// Prefix is the root of the native topics (gridbox).
	Prefix() string
	// DialMQTT opens a connection named name (part of the client id at an
	// external broker). onUp runs after every (re)connect, once the
	// connection's subscriptions are renewed; onMessage gets what they
	// match. Both run on the connection's goroutines and must not block.
	DialMQTT(name string, onUp func(), onMessage func(topic string, payload []byte, retained bool)) (MQTTConn, error)
	// GuardMQTT adds access rules to the embedded broker and returns the
	// function that removes them; ok is false for an external broker,
	// whose own access control applies.
	GuardMQTT(p broker.Policy) (remove func(), ok bool)
}

// MQTTConn is a connection opened by MQTT.DialMQTT.
type MQTTConn interface {
	Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error
	// Subscribe adds a filter, kept across reconnects.
	Subscribe(filter string) error
	// Close disconnects cleanly and ends the connection's goroutines.
	Close(ctx context.Context) error
}
