// Package homeassistant is the Home Assistant MQTT discovery dialect: it
// publishes a retained discovery config for every datapoint, pointing Home
// Assistant at gridbox's native topics, so every device shows up in Home
// Assistant without YAML (README.md, docs/dialect-homeassistant.md).
package homeassistant

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// Entity is one datapoint's discovery message.
type Entity struct {
	Component string         // sensor, binary_sensor, number, select, switch, text
	Topic     string         // <prefix>/<component>/<node_id>/<object_id>/config
	Config    map[string]any // the JSON config
}

// Payload is the config as JSON.
func (e Entity) Payload() []byte {
	b, err := json.Marshal(e.Config)
	if err != nil { // only strings, numbers, bools, maps and slices: cannot fail
		panic(fmt.Sprintf("homeassistant: encode %s: %v", e.Topic, err))
	}
	return b
}

// Names are what a discovery config refers to besides the datapoint.
type Names struct {
	Prefix string // discovery prefix, homeassistant
	Native string // gridbox's native topic root, gridbox
	Site   string // gateway id, part of unique ids
	Driver string // the device's driver, shown as its model; may be empty
}

// Component picks the Home Assistant platform for a datapoint: bool →
// binary_sensor or switch, discrete actuators → select, other numeric
// actuators → number, text actuators → text, every other sensor → sensor.
func Component(dp model.Datapoint) string {
	act := dp.Kind == model.Actuator
	switch {
	case dp.Format == model.Bool && act:
		return "switch"
	case dp.Format == model.Bool:
		return "binary_sensor"
	case !act:
		return "sensor"
	case len(dp.Allowed) > 0 || dp.Format == model.DiscreteText:
		return "select"
	case dp.Format.Numeric():
		return "number"
	}
	return "text"
}

// uniqueID is stable across restarts: gateway, device and datapoint.
func uniqueID(n Names, dp model.Datapoint) string {
	return "gridbox_" + n.Site + "_" + dp.Device + "_" + dp.Name
}

// Discovery returns the discovery config of one datapoint.
func Discovery(n Names, dp model.Datapoint) Entity {
	comp := Component(dp)
	base := n.Native + "/" + dp.Device + "/" + dp.Name
	online := "{{ 'online' if value_json.online else 'offline' }}"
	dev := map[string]any{
		"identifiers": []string{"gridbox_" + n.Site + "_" + dp.Device},
		"name":        dp.Device,
		"via_device":  "gridbox_" + n.Site,
	}
	if n.Driver != "" {
		dev["model"] = n.Driver + " device"
	}
	c := map[string]any{
		"unique_id":   uniqueID(n, dp),
		"object_id":   dp.Device + "_" + dp.Name,
		"name":        title(dp),
		"device":      dev,
		"state_topic": base,
		"availability": []map[string]any{
			{"topic": n.Native + "/$state", "value_template": online},
			{"topic": n.Native + "/" + dp.Device + "/$state", "value_template": online},
		},
		"availability_mode": "all",
		"origin":            map[string]any{"name": "gridbox"},
	}
	switch comp {
	case "binary_sensor", "switch":
		c["value_template"] = "{{ 'ON' if value_json.value else 'OFF' }}"
	default:
		c["value_template"] = "{{ value_json.value }}"
	}
	if dp.Kind == model.Actuator {
		c["command_topic"] = base + "/set"
	}
	switch comp {
	case "sensor":
		sensorClass(c, dp)
	case "number":
		numberLimits(c, dp)
		c["command_template"] = `{"value": {{ value }}}`
	case "select":
		opts, numeric := options(dp)
		c["options"] = opts
		c["command_template"] = `{"value": {{ value | tojson }}}`
		if numeric {
			c["command_template"] = `{"value": {{ value }}}`
		}
	case "switch":
		c["payload_on"], c["payload_off"] = `{"value": true}`, `{"value": false}`
		c["state_on"], c["state_off"] = "ON", "OFF"
	case "text":
		c["command_template"] = `{"value": {{ value | tojson }}}`
	}
	return Entity{Component: comp, Topic: n.Prefix + "/" + comp + "/" + dp.Device + "/" + dp.Name + "/config", Config: c}
}

// Gateway is the discovery config of the gateway itself: a connectivity
// binary_sensor on <native>/$state, and the device the others are "via".
func Gateway(n Names) Entity {
	c := map[string]any{
		"unique_id":      "gridbox_" + n.Site + "_gateway",
		"object_id":      "gridbox_" + n.Site,
		"name":           "gateway",
		"device_class":   "connectivity",
		"state_topic":    n.Native + "/$state",
		"value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
		"device":         map[string]any{"identifiers": []string{"gridbox_" + n.Site}, "name": "gridbox " + n.Site, "manufacturer": "gridbox", "model": "gateway"},
		"origin":         map[string]any{"name": "gridbox"},
	}
	return Entity{Component: "binary_sensor", Topic: n.Prefix + "/binary_sensor/gridbox_" + n.Site + "/gateway/config", Config: c}
}

// ConfigTopic is where Discovery publishes a datapoint's config.
func ConfigTopic(prefix string, dp model.Datapoint) string {
	return prefix + "/" + Component(dp) + "/" + dp.Device + "/" + dp.Name + "/config"
}

// title is the entity name: the description, else the datapoint name.
func title(dp model.Datapoint) string {
	if dp.Description != "" {
		return dp.Description
	}
	return strings.ReplaceAll(dp.Name, "_", " ")
}

// classes maps a unit to Home Assistant's device class and state class.
var classes = map[string][2]string{
	"mW": {"power", "measurement"}, "W": {"power", "measurement"}, "kW": {"power", "measurement"}, "MW": {"power", "measurement"},
	"Wh": {"energy", "total_increasing"}, "kWh": {"energy", "total_increasing"}, "MWh": {"energy", "total_increasing"},
	"mV": {"voltage", "measurement"}, "V": {"voltage", "measurement"}, "kV": {"voltage", "measurement"},
	"mA": {"current", "measurement"}, "A": {"current", "measurement"},
	"Hz": {"frequency", "measurement"},
	"°C": {"temperature", "measurement"}, "°F": {"temperature", "measurement"}, "K": {"temperature", "measurement"},
	"var": {"reactive_power", "measurement"}, "kvar": {"reactive_power", "measurement"},
	"VA": {"apparent_power", "measurement"},
}

// Class returns the device class and state class of a sensor; empty when
// Home Assistant has none for it (text, unknown units).
func Class(dp model.Datapoint) (deviceClass, stateClass string) {
	if !dp.Format.Numeric() {
		return "", ""
	}
	if dp.Unit == "%" && (dp.Role == "battery_soc" || strings.Contains(dp.Name, "soc")) {
		return "battery", "measurement"
	}
	if c, ok := classes[dp.Unit]; ok {
		return c[0], c[1]
	}
	return "", "measurement"
}

func sensorClass(c map[string]any, dp model.Datapoint) {
	if dp.Unit != "" && dp.Format.Numeric() {
		c["unit_of_measurement"] = dp.Unit
	}
	dc, sc := Class(dp)
	if dc != "" {
		c["device_class"] = dc
	}
	if sc != "" {
		c["state_class"] = sc
	}
}

// numberLimits sets min, max and step from the datapoint; without limits
// the range is wide (Home Assistant's default is 1–100) and shown as a box.
func numberLimits(c map[string]any, dp model.Datapoint) {
	lo, hi := -1e9, 1e9
	if dp.Min != nil {
		lo = *dp.Min
	}
	if dp.Max != nil {
		hi = *dp.Max
	}
	step := 1.0
	if lo != math.Trunc(lo) || hi != math.Trunc(hi) {
		step = 0.01
	}
	c["min"], c["max"], c["step"] = lo, hi, step
	c["mode"] = "box"
	if dp.Min != nil && dp.Max != nil {
		c["mode"] = "slider"
	}
	if dp.Unit != "" {
		c["unit_of_measurement"] = dp.Unit
		if dc, ok := classes[dp.Unit]; ok {
			c["device_class"] = dc[0]
		}
	}
}

// options are a discrete actuator's allowed values as strings; numeric
// reports whether they are all numbers (written back as numbers).
func options(dp model.Datapoint) ([]string, bool) {
	out := make([]string, 0, len(dp.Allowed))
	numeric := len(dp.Allowed) > 0
	for _, a := range dp.Allowed {
		switch v := a.(type) {
		case float64:
			out = append(out, fmt.Sprint(v))
		case int:
			out = append(out, fmt.Sprint(v))
		case string:
			out = append(out, v)
			numeric = false
		default:
			out = append(out, fmt.Sprint(v))
			numeric = false
		}
	}
	return out, numeric
}
