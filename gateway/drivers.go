package gateway

import (
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus"
)

// builtinDrivers returns the drivers this binary knows, by `driver:` name,
// and a function that releases what they share (connection pools).
// A new driver is one more line here.
func builtinDrivers() (map[string]driver.Factory, func() error) {
	mb := modbus.New()
	return map[string]driver.Factory{
		"modbus": mb.Factory(),
	}, mb.Close
}
