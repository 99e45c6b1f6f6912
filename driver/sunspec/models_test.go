package sunspec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
)

// officialDir finds the official SunSpec model definitions: the folder
// named by $GRIDBOX_SUNSPEC_MODELS, else shared/data/sunspec-models beside
// the repository or beside a folder above it (a git worktree); "" when absent.
func officialDir() string {
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

type officialPoint struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int    `json:"size"`
	SF     any    `json:"sf"`
	Units  string `json:"units"`
	Access string `json:"access"`
}

type officialGroup struct {
	Name   string          `json:"name"`
	Count  any             `json:"count"`
	Points []officialPoint `json:"points"`
	Groups []officialGroup `json:"groups"`
}

// TestModelTablesMatchOfficialDefinitions cross-checks every point of
// every model table (offset, type, size, scale factor, units, access)
// against the official SunSpec JSON, when it is beside the repository.
func TestModelTablesMatchOfficialDefinitions(t *testing.T) {
	dir := officialDir()
	if dir == "" {
		testenv.Missing(t, "official SunSpec models (shared/data/sunspec-models beside the repository, or $GRIDBOX_SUNSPEC_MODELS)")
	}
	for _, m := range Models() {
		t.Run(fmt.Sprint(m.ID), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("model_%d.json", m.ID)))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				ID    int           `json:"id"`
				Group officialGroup `json:"group"`
			}
			if err := json.Unmarshal(data, &doc); err != nil || doc.ID != int(m.ID) {
				t.Fatalf("id %d, %v", doc.ID, err)
			}
			checkModel(t, m, doc.Group)
		})
	}
}

func checkModel(t *testing.T, m *Model, g officialGroup) {
	var want []Point
	off := 0
	add := func(prefix string, p officialPoint, at int) Point {
		sf := ""
		if p.SF != nil {
			sf = fmt.Sprint(p.SF)
		}
		return Point{Name: prefix + p.Name, Offset: uint16(at), Size: uint16(p.Size), SF: sf, Units: p.Units,
			Access: Access(p.Access == "RW"), Type: typeOf(t, p.Type)}
	}
	for _, p := range g.Points {
		if p.Name != "ID" && p.Name != "L" {
			want = append(want, add("", p, off))
		}
		off += p.Size
	}
	var repeat []Point
	for _, sub := range g.Groups {
		if c, ok := sub.Count.(float64); ok && c == 0 {
			at := 0
			for _, p := range sub.Points {
				repeat = append(repeat, add("", p, at))
				at += p.Size
			}
			if m.Repeat == nil || m.Repeat.Size != uint16(at) || m.Repeat.Name != sub.Name {
				t.Errorf("repeated group %s of %d registers, table has %+v", sub.Name, at, m.Repeat)
			}
			continue
		}
		for _, p := range sub.Points {
			want = append(want, add(sub.Name+".", p, off))
			off += p.Size
		}
	}
	if int(m.Len) != off-2 {
		t.Errorf("length %d, official %d", m.Len, off-2)
	}
	comparePoints(t, "", m.Points, want)
	if m.Repeat != nil {
		comparePoints(t, m.Repeat.Name+".", m.Repeat.Points, repeat)
	}
}

func comparePoints(t *testing.T, prefix string, got, want []Point) {
	if len(got) != len(want) {
		t.Errorf("%s%d points, official %d", prefix, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%spoint %d: table %+v, official %+v", prefix, i, got[i], want[i])
		}
	}
}

func typeOf(t *testing.T, s string) Type {
	for ty := Int16; ty <= Count; ty++ {
		if ty.String() == s {
			return ty
		}
	}
	t.Errorf("type %q unknown to the tables", s)
	return 0
}
