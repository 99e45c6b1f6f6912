package modbus

import "github.com/gridbox/gridbox/model"

// Register describes one datapoint of a Modbus device: where it lives, how
// its bytes decode, and its datapoint metadata. Profiles and inline
// `registers:` use this schema (YAML keys in the tags).
type Register struct {
	Name  string `yaml:"name"`
	Table string `yaml:"table"` // holding (default), input, coil, discrete
	// Address is the 0-based protocol address (as on the wire).
	Address uint16 `yaml:"address"`
	// Type: int16, uint16, int32, uint32, int64, uint64, float16, float32,
	// float64, string, bool (coils/discrete or one bit of a register).
	Type string `yaml:"type"`
	// Order is the byte/word order of multi-byte values: ABCD (default, big
	// endian), DCBA, BADC, CDAB. For float16 and 16-bit ints, BA (or DCBA/BADC)
	// swaps the two bytes inside the register.
	Order  string `yaml:"order,omitempty"`
	Length uint16 `yaml:"length,omitempty"` // registers of a string
	// Bit selects one bit (0 = least significant) of a 16-bit register; the
	// value is then a bool (or 0/1 with a numeric format).
	Bit *uint8 `yaml:"bit,omitempty"`
	// Mask and Shift extract a bit field from an integer register: (raw & mask) >> shift.
	Mask  uint64 `yaml:"mask,omitempty"`
	Shift uint8  `yaml:"shift,omitempty"`
	// Scale and Offset: value = raw × scale + offset (scale 0 means 1).
	Scale  float64 `yaml:"scale,omitempty"`
	Offset float64 `yaml:"offset,omitempty"`
	// Map maps raw values (before scale) to values; a null maps a "not
	// available" sentinel to null. Keys are decimal or 0x-hex strings.
	Map map[string]any `yaml:"map,omitempty"`

	// WriteMultiple makes writes use FC 16 (registers) or FC 15 (coils) even
	// for a single register or coil; some devices (SMA inverters, for one)
	// accept only these.
	WriteMultiple bool `yaml:"write_multiple,omitempty"`

	// Datapoint metadata: kind (default sensor), format (default from the
	// type: continuous_numeric, bool, generic_text), unit, min, max,
	// allowed, description, role.
	model.Meta `yaml:",inline"`

	// Set by the converters of foreign driver files (driver_files.go), not
	// by YAML: a unit id of its own (nil: the device's), a bit-reversed
	// register (datalogger bit_order msb) and a datalogger typecast.
	unit   *uint8
	bitRev bool
	cast   string // "", int, float, str, bool
}
