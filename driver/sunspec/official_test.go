package sunspec_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// modelsDir finds the official SunSpec model definitions: the folder
// named by $GRIDBOX_SUNSPEC_MODELS, else shared/data/sunspec-models beside
// the repository or beside a folder above it (a git worktree); "" when absent.
func modelsDir() string {
	if dir := os.Getenv("GRIDBOX_SUNSPEC_MODELS"); dir != "" {
		return dir
	}
	up := []string{"..", ".."}
	for range 3 {
		up = append(up, "..")
		dir := filepath.Join(append(up, "shared", "data", "sunspec-models")...)
		if _, err := os.Stat(filepath.Join(dir, "model_1.json")); err == nil {
			return dir
		}
	}
	return ""
}

// jsonPoint and jsonGroup are the parts of an official model definition the tests use.
type jsonPoint struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int    `json:"size"`
	SF     any    `json:"sf"`
	Units  string `json:"units"`
	Access string `json:"access"`
}

type jsonGroup struct {
	Name   string      `json:"name"`
	Count  any         `json:"count"`
	Points []jsonPoint `json:"points"`
	Groups []jsonGroup `json:"groups"`
}

// loadModel reads model_<id>.json.
func loadModel(t *testing.T, dir string, id int) jsonGroup {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("model_%d.json", id)))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ID    int       `json:"id"`
		Group jsonGroup `json:"group"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.ID != id {
		t.Fatalf("model_%d.json: id %d, %v", id, m.ID, err)
	}
	return m.Group
}

// officialImage lays out a chain from the official definitions only (not
// gridbox's tables): the marker at base, each model's points with the given
// raw values (int for integer types, float64 for float32, string) and the
// type's not-implemented sentinel otherwise, then the end header.
func officialImage(t *testing.T, dir string, base int, chain []officialModel) map[int]uint16 {
	t.Helper()
	im := map[int]uint16{base: 0x5375, base + 1: 0x6E53}
	pos := base + 2
	for _, m := range chain {
		g := loadModel(t, dir, m.id)
		off := 0
		put := func(p jsonPoint) {
			for i, r := range officialEncode(t, p, m.vals[p.Name]) {
				im[pos+off+i] = r
			}
			off += p.Size
		}
		for _, p := range g.Points {
			put(p)
		}
		for _, sub := range g.Groups {
			for _, p := range sub.Points {
				put(p)
			}
		}
		im[pos] = uint16(m.id)
		im[pos+1] = uint16(off - 2)
		pos += off
	}
	im[pos], im[pos+1] = 0xFFFF, 0
	return im
}

// officialModel is one model of an image: raw values by point name.
type officialModel struct {
	id   int
	vals map[string]any
}

// officialEncode returns the registers of a point holding v, or its sentinel for nil.
func officialEncode(t *testing.T, p jsonPoint, v any) []uint16 {
	out := make([]uint16, p.Size)
	if v == nil {
		switch p.Type {
		case "int16", "sunssf", "int32", "int64":
			out[0] = 0x8000
		case "uint16", "enum16", "bitfield16", "uint32", "enum32", "bitfield32", "uint64":
			for i := range out {
				out[i] = 0xFFFF
			}
		case "float32":
			out[0] = 0x7FC0
		}
		return out
	}
	switch x := v.(type) {
	case int:
		u := uint64(int64(x))
		for i := range out {
			out[len(out)-1-i] = uint16(u >> (16 * i))
		}
	case float64:
		u := math.Float32bits(float32(x))
		out[0], out[1] = uint16(u>>16), uint16(u)
	case string:
		for i := 0; i < len(x) && i/2 < len(out); i++ {
			out[i/2] |= uint16(x[i]) << (8 * (1 - i%2))
		}
	default:
		t.Fatalf("point %s: value %T", p.Name, v)
	}
	return out
}
