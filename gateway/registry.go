package gateway

import (
	"github.com/gridbox/gridbox/api"
	"github.com/gridbox/gridbox/computed"
	"github.com/gridbox/gridbox/control"
	"github.com/gridbox/gridbox/control/loadmanagement"
	"github.com/gridbox/gridbox/dialect"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/homematic"
	"github.com/gridbox/gridbox/driver/httpdrv"
	"github.com/gridbox/gridbox/driver/keba"
	"github.com/gridbox/gridbox/driver/knx"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/driver/modbus/proxy"
	"github.com/gridbox/gridbox/driver/mqttsrc"
	"github.com/gridbox/gridbox/driver/socket"
	"github.com/gridbox/gridbox/driver/sunspec"
	"github.com/gridbox/gridbox/driver/victron"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/ocpp"
	"github.com/gridbox/gridbox/output/influx"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/store"
	"github.com/gridbox/gridbox/uplink"
)

// builtinDrivers returns the drivers this binary knows; each owns what its
// devices share (connection pools) until its Close. A new driver is one
// more line here.
func builtinDrivers() []driver.Factory {
	return []driver.Factory{
		modbus.New().Factory(),
		knx.New().Factory(),
		sunspec.New().Factory(),
		httpdrv.New().Factory(),
		socket.New().Factory(),
		homematic.Factory(),
		keba.New().Factory(),
		mqttsrc.Factory(),
		victron.Factory(),
	}
}

// builtinSinks returns the sink kinds this binary knows, in the order their
// instances start: history stores first, since the others (the API) answer
// from them. A new sink kind is one more line here.
func builtinSinks() []sink.Kind {
	return []sink.Kind{
		store.Kind(),
		computed.Kind(),
		control.Kind(), // before the MQTT and REST sinks, which hand it setpoints and schedules
		loadmanagement.Kind(),
		mqtt.Kind(),
		ocpp.Kind(),    // before the API: it contributes a route
		dialect.Kind(), // after mqtt: it speaks on the mqtt sink's broker; before the API: BEMCom's routes
		api.Kind(),
		influx.Kind(),
		uplink.Kind(),
		proxy.Kind(),
	}
}
