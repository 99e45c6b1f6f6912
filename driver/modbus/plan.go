package modbus

import (
	"fmt"
	"sort"
)

// Protocol limits of one read request.
const (
	maxRegisters = 125  // registers per FC 3/4 read
	maxBits      = 2000 // bits per FC 1/2 read
)

// read is one request of a poll plan: a contiguous range of one table that
// covers one or more fields.
type read struct {
	table  table
	start  uint16
	count  uint16
	fields []*field // sorted by address
}

func (r read) String() string {
	return fmt.Sprintf("%s %d@%d", r.table, r.count, r.start)
}

// makePlan groups fields by table, sorts them by address and merges
// neighbours into reads of at most maxRegs registers (maxBits bits) that skip
// at most maxGap unused addresses.
func makePlan(fields []*field, maxGap, maxRegs int) []read {
	sorted := append([]*field(nil), fields...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.unitKey() != b.unitKey() {
			return a.unitKey() < b.unitKey()
		}
		if a.table != b.table {
			return a.table < b.table
		}
		if a.reg.Address != b.reg.Address {
			return a.reg.Address < b.reg.Address
		}
		return a.n > b.n
	})
	var plan []read
	var cur []*field
	flush := func() {
		if len(cur) > 0 {
			plan = append(plan, newRead(cur))
			cur = nil
		}
	}
	for _, f := range sorted {
		if len(cur) > 0 && !fits(cur, f, maxGap, maxRegs) {
			flush()
		}
		cur = append(cur, f)
	}
	flush()
	return plan
}

// fits reports whether f can join the read being built from cur.
func fits(cur []*field, f *field, maxGap, maxRegs int) bool {
	first := cur[0]
	if f.table != first.table || f.unitKey() != first.unitKey() {
		return false
	}
	limit := maxRegs
	if f.table.isBits() {
		limit = maxBits
	}
	start, end := span(cur)
	if int(f.reg.Address)-end > maxGap {
		return false
	}
	return max(end, f.end())-start <= limit
}

// span returns the first address and the end (exclusive) of fields.
func span(fields []*field) (start, end int) {
	start = int(fields[0].reg.Address)
	for _, f := range fields {
		start = min(start, int(f.reg.Address))
		end = max(end, f.end())
	}
	return start, end
}

func newRead(fields []*field) read {
	start, end := span(fields)
	return read{table: fields[0].table, start: uint16(start), count: uint16(end - start), fields: fields}
}

// split halves a read by its fields; ok is false for a single-field read.
func split(r read) (a, b read, ok bool) {
	if len(r.fields) < 2 {
		return r, read{}, false
	}
	h := len(r.fields) / 2
	return newRead(r.fields[:h:h]), newRead(r.fields[h:]), true
}

// slice returns the registers of f out of a read's response.
func (r read) slice(regs []uint16, f *field) []uint16 {
	off := int(f.reg.Address) - int(r.start)
	return regs[off : off+int(f.n)]
}

// unitKey is the field's own unit id, or -1 for the device's.
func (f *field) unitKey() int {
	if f.reg.unit == nil {
		return -1
	}
	return int(*f.reg.unit)
}

// unitFor returns the unit id a read of f goes to: its own, else def.
func (f *field) unitFor(def uint8) uint8 {
	if f.reg.unit != nil {
		return *f.reg.unit
	}
	return def
}
