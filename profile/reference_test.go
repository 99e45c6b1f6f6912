package profile

import (
	"reflect"
	"testing"
)

// point is what the register reference (docs/profiles.md, "Built-in
// profiles") fixes about a datapoint of a built-in profile.
type point struct {
	name, table string
	address     uint16
	typ, kind   string
	unit, role  string
	scale       float64
}

// expected returns the datapoints of each built-in profile as the tables
// of docs/profiles.md give them, in profile order.
func expected() map[string][]point {
	return map[string][]point{
		"demo-room": {
			{"temperature", "input", 1, "float16", "sensor", "°C", "", 0},
			{"setpoint", "holding", 1, "float16", "actuator", "°C", "", 0},
		},
		"sma-stp": {
			{"device_class", "holding", 30051, "uint32", "", "", "", 0},
			{"device_type", "holding", 30053, "uint32", "", "", "", 0},
			{"serial_number", "holding", 30057, "uint32", "", "", "", 0},
			{"status", "holding", 30201, "uint32", "", "", "", 0},
			{"energy_total", "holding", 30529, "uint32", "", "Wh", "", 0},
			{"ac_power", "holding", 30775, "int32", "", "W", "pv_power", 0},
			{"ac_power_l1", "holding", 30777, "int32", "", "W", "", 0},
			{"ac_power_l2", "holding", 30779, "int32", "", "W", "", 0},
			{"ac_power_l3", "holding", 30781, "int32", "", "W", "", 0},
			{"voltage_l1", "holding", 30783, "uint32", "", "V", "", 0.01},
			{"voltage_l2", "holding", 30785, "uint32", "", "V", "", 0.01},
			{"voltage_l3", "holding", 30787, "uint32", "", "V", "", 0.01},
			{"frequency", "holding", 30803, "uint32", "", "Hz", "", 0.01},
			{"temperature", "holding", 30953, "int32", "", "°C", "", 0.1},
		},
		"huawei-sun2000": {
			{"rated_power", "holding", 30075, "uint32", "", "W", "", 0},
			{"dc_power", "holding", 32064, "int32", "", "W", "", 0},
			{"ac_power", "holding", 32080, "int32", "", "W", "pv_power", 0},
			{"energy_total", "holding", 32106, "uint32", "", "Wh", "", 10},
			{"meter_voltage_l1", "holding", 37101, "int32", "", "V", "", 0.1},
			{"meter_voltage_l2", "holding", 37103, "int32", "", "V", "", 0.1},
			{"meter_voltage_l3", "holding", 37105, "int32", "", "V", "", 0.1},
			{"meter_current_l1", "holding", 37107, "int32", "", "A", "", 0.01},
			{"meter_current_l2", "holding", 37109, "int32", "", "A", "", 0.01},
			{"meter_current_l3", "holding", 37111, "int32", "", "A", "", 0.01},
			{"meter_power", "holding", 37113, "int32", "", "W", "grid_power", -1},
			{"meter_energy_export", "holding", 37119, "uint32", "", "Wh", "", 10},
			{"meter_energy_import", "holding", 37121, "uint32", "", "Wh", "", 10},
			{"battery_capacity", "holding", 37758, "uint32", "", "Wh", "", 0},
			{"battery_soc", "holding", 37760, "uint16", "", "%", "battery_soc", 0.1},
			{"battery_power", "holding", 37765, "int32", "", "W", "battery_power", 0},
			{"battery_energy_charged", "holding", 37780, "uint32", "", "Wh", "", 10},
			{"battery_energy_discharged", "holding", 37782, "uint32", "", "Wh", "", 10},
		},
		"janitza-umg96rm": {
			{"voltage_l1", "input", 19000, "float32", "", "V", "", 0},
			{"voltage_l2", "input", 19002, "float32", "", "V", "", 0},
			{"voltage_l3", "input", 19004, "float32", "", "V", "", 0},
			{"voltage_l1_l2", "input", 19006, "float32", "", "V", "", 0},
			{"voltage_l2_l3", "input", 19008, "float32", "", "V", "", 0},
			{"voltage_l3_l1", "input", 19010, "float32", "", "V", "", 0},
			{"current_l1", "input", 19012, "float32", "", "A", "", 0},
			{"current_l2", "input", 19014, "float32", "", "A", "", 0},
			{"current_l3", "input", 19016, "float32", "", "A", "", 0},
			{"current_n", "input", 19018, "float32", "", "A", "", 0},
			{"ac_power_l1", "input", 19020, "float32", "", "W", "", 0},
			{"ac_power_l2", "input", 19022, "float32", "", "W", "", 0},
			{"ac_power_l3", "input", 19024, "float32", "", "W", "", 0},
			{"ac_power", "input", 19026, "float32", "", "W", "grid_power", 0},
			{"frequency", "input", 19050, "float32", "", "Hz", "", 0},
			{"energy_import", "input", 19068, "float32", "", "Wh", "", 0},
			{"energy_export", "input", 19076, "float32", "", "Wh", "", 0},
		},
		"wallbox-sim": {
			{"max_current", "holding", 0, "uint16", "actuator", "A", "", 0.1},
			{"enabled", "holding", 1, "uint16", "actuator", "", "", 0},
			{"phases", "holding", 2, "uint16", "actuator", "", "", 0},
			{"current_l1", "input", 0, "uint16", "", "A", "", 0.01},
			{"current_l2", "input", 1, "uint16", "", "A", "", 0.01},
			{"current_l3", "input", 2, "uint16", "", "A", "", 0.01},
			{"ac_power", "input", 3, "uint32", "", "W", "ev_power", 0},
			{"status", "input", 5, "uint16", "", "", "", 0},
			{"energy_total", "input", 6, "uint32", "", "Wh", "", 0},
		},
	}
}

func TestProfilesMatchReference(t *testing.T) {
	for name, want := range expected() {
		t.Run(name, func(t *testing.T) {
			doc := loadStrict(t, name)
			got := make([]point, 0, len(doc.Registers))
			regs := doc.Registers
			for _, d := range doc.Detect {
				regs = append(regs, d.Registers...)
			}
			for _, r := range regs {
				got = append(got, point{r.Name, r.Table, r.Address, r.Type, string(r.Kind), r.Unit, r.Role, r.Scale})
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("datapoints differ from the reference\n got %v\nwant %v", got, want)
			}
		})
	}
	// The profiles of other drivers are checked by their drivers.
	if names := modbusNames(t); len(expected()) != len(names) {
		t.Errorf("reference table covers %d profiles, library has Modbus profiles %v", len(expected()), names)
	}
}

func TestDefaultUnits(t *testing.T) {
	for name, unit := range map[string]int{"demo-room": 1, "sma-stp": 3, "janitza-umg96rm": 1} {
		if doc := loadStrict(t, name); doc.Unit == nil || *doc.Unit != unit {
			t.Errorf("%s: unit = %v, want %d", name, doc.Unit, unit)
		}
	}
}

func TestDemoRoomEncodingAndLimits(t *testing.T) {
	doc := loadStrict(t, "demo-room")
	for _, r := range doc.Registers {
		if r.Order != "BA" || r.Format != "continuous_numeric" {
			t.Errorf("%s: order %q format %q, want BA continuous_numeric", r.Name, r.Order, r.Format)
		}
	}
	sp := doc.Registers[1]
	if sp.Min == nil || sp.Max == nil || *sp.Min != 15 || *sp.Max != 30 {
		t.Errorf("setpoint limits = %v..%v, want 15..30", sp.Min, sp.Max)
	}
}

// TestSMASentinels: every int32 maps 0x80000000 and every uint32 maps
// 0xFFFFFFFF to null ("not available").
func TestSMASentinels(t *testing.T) {
	sentinel := map[string]string{"int32": "0x80000000", "uint32": "0xFFFFFFFF"}
	for _, r := range loadStrict(t, "sma-stp").Registers {
		key := sentinel[r.Type]
		v, ok := r.Map[key]
		if !ok || v != nil || len(r.Map) != 1 {
			t.Errorf("%s (%s): map = %v, want {%q: null}", r.Name, r.Type, r.Map, key)
		}
	}
}

func TestSMAStatusAllowed(t *testing.T) {
	for _, r := range loadStrict(t, "sma-stp").Registers {
		if r.Name != "status" {
			continue
		}
		want := []any{35, 303, 307, 455}
		if r.Format != "discrete_numeric" || !reflect.DeepEqual(r.Allowed, want) {
			t.Errorf("status: format %q allowed %v, want discrete_numeric %v", r.Format, r.Allowed, want)
		}
		return
	}
	t.Fatal("sma-stp has no status datapoint")
}
