package modbus

import (
	"fmt"
	"strings"
)

// table is one of the four Modbus data tables.
type table uint8

const (
	holding table = iota
	input
	coil
	discrete
)

func (t table) String() string {
	return [...]string{"holding", "input", "coil", "discrete"}[t]
}

// isBits reports whether the table holds single bits (coils, discrete inputs).
func (t table) isBits() bool { return t == coil || t == discrete }

// writable reports whether the table accepts writes.
func (t table) writable() bool { return t == holding || t == coil }

func parseTable(s string) (table, bool) {
	switch strings.ToLower(s) {
	case "", "holding":
		return holding, true
	case "input":
		return input, true
	case "coil", "coils":
		return coil, true
	case "discrete", "discrete_input":
		return discrete, true
	}
	return 0, false
}

// valKind is the Go shape of a type's raw value.
type valKind uint8

const (
	kSigned valKind = iota
	kUnsigned
	kFloat
	kString
	kBool
)

// typeInfo describes a register type: its shape, width in bits and registers.
type typeInfo struct {
	name  string
	kind  valKind
	width int // bits of the raw value; 0 for string and coil bools
	regs  uint16
}

func parseType(s string) (typeInfo, bool) {
	switch s {
	case "int16":
		return typeInfo{s, kSigned, 16, 1}, true
	case "uint16":
		return typeInfo{s, kUnsigned, 16, 1}, true
	case "int32":
		return typeInfo{s, kSigned, 32, 2}, true
	case "uint32":
		return typeInfo{s, kUnsigned, 32, 2}, true
	case "int64":
		return typeInfo{s, kSigned, 64, 4}, true
	case "uint64":
		return typeInfo{s, kUnsigned, 64, 4}, true
	case "float16":
		return typeInfo{s, kFloat, 16, 1}, true
	case "float32":
		return typeInfo{s, kFloat, 32, 2}, true
	case "float64":
		return typeInfo{s, kFloat, 64, 4}, true
	case "string":
		return typeInfo{s, kString, 0, 0}, true
	case "bool":
		return typeInfo{s, kBool, 16, 1}, true
	}
	return typeInfo{}, false
}

// typeNames lists the valid register types for error messages.
const typeNames = "int16, uint16, int32, uint32, int64, uint64, float16, float32, float64, string, bool"

// parseOrder turns an order name into byte swap (inside each register) and
// word swap (register order reversed) flags.
func parseOrder(s string, t typeInfo) (byteSwap, wordSwap bool, err error) {
	switch strings.ToUpper(s) {
	case "", "ABCD", "AB":
		return false, false, nil
	case "BADC", "BA":
		return true, false, nil
	case "CDAB":
		return false, true, checkWordSwap(s, t)
	case "DCBA":
		// For 16-bit values DCBA is just a byte swap.
		return true, t.regs > 1 || t.kind == kString, checkWordSwap(s, t)
	}
	return false, false, fmt.Errorf("unknown order %q (want ABCD, DCBA, BADC, CDAB, or AB/BA for 16-bit types)", s)
}

func checkWordSwap(s string, t typeInfo) error {
	if t.kind == kString {
		return fmt.Errorf("order %s is not supported for strings (want ABCD or BADC)", s)
	}
	return nil
}

// mapping is one entry of a register's `map`: raw value → value.
type mapping struct {
	hex  bool    // key was written 0x…: compare the raw bit pattern
	bits uint64  // raw pattern (integer types, or hex keys)
	num  float64 // decimal key for float types
	val  any     // nil = not available
}
