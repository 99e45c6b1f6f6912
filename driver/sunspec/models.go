package sunspec

//go:generate go run ./internal/gen

// Type is a SunSpec point type.
type Type uint8

// The point types of the SunSpec information models.
const (
	Int16 Type = iota + 1
	Uint16
	Acc16
	Int32
	Uint32
	Acc32
	Int64
	Uint64
	Acc64
	Float32
	Float64
	Enum16
	Enum32
	Bitfield16
	Bitfield32
	SunSSF
	String
	Pad
	Count
)

// String returns the type's name as the model definitions spell it.
func (t Type) String() string {
	names := [...]string{Int16: "int16", Uint16: "uint16", Acc16: "acc16", Int32: "int32", Uint32: "uint32",
		Acc32: "acc32", Int64: "int64", Uint64: "uint64", Acc64: "acc64", Float32: "float32", Float64: "float64",
		Enum16: "enum16", Enum32: "enum32", Bitfield16: "bitfield16", Bitfield32: "bitfield32", SunSSF: "sunssf",
		String: "string", Pad: "pad", Count: "count"}
	if int(t) < len(names) && names[t] != "" {
		return names[t]
	}
	return "unknown"
}

// Access says whether a point may be written.
type Access bool

// Point access.
const (
	R  Access = false
	RW Access = true
)

// Point is one point of a model: Offset counts registers from the model's
// ID register (the ID is at 0, the length at 1), or from the start of its
// group for repeated points. SF names the scale-factor point, if any.
type Point struct {
	Name   string
	Offset uint16
	Size   uint16
	Type   Type
	SF     string
	Units  string
	Access Access
}

// Group is a repeating block of points (the modules of model 160).
type Group struct {
	Name   string
	Size   uint16
	Points []Point
}

// Model is one SunSpec information model. Len is the length of its fixed
// part without the two header registers; Repeat, when set, follows it any
// number of times.
type Model struct {
	ID     uint16
	Name   string
	Len    uint16
	Points []Point
	Repeat *Group
}

// Family groups models for naming and roles.
type Family uint8

// The model families.
const (
	Common Family = iota
	Inverter
	Meter
	Storage
	MPPT
)

// prefix is what the names of a family's points start with when a logical
// device holds models of several families; the inverter family has none.
func (f Family) prefix() string {
	switch f {
	case Meter:
		return "meter_"
	case Storage:
		return "battery_"
	case MPPT:
		return "mppt_"
	}
	return ""
}

// familyOf returns the family of a model id.
func familyOf(id uint16) Family {
	switch {
	case id == 1:
		return Common
	case id >= 201 && id <= 214:
		return Meter
	case id == 124 || id == 713 || id == 802:
		return Storage
	case id == 160:
		return MPPT
	}
	return Inverter
}

// Models returns every model gridbox decodes, in id order.
func Models() []*Model {
	return []*Model{model1, model101, model102, model103, model111, model112, model113,
		model120, model121, model122, model123, model124, model160,
		model201, model202, model203, model204, model211, model212, model213, model214,
		model701, model702, model703, model704, model713, model802}
}

// Lookup returns the model with id, or nil when gridbox does not decode it.
func Lookup(id uint16) *Model {
	for _, m := range Models() {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// point returns the fixed point called name, or nil.
func (m *Model) point(name string) *Point {
	for i := range m.Points {
		if m.Points[i].Name == name {
			return &m.Points[i]
		}
	}
	return nil
}
