package api

import (
	"maps"
	"net/http"
	"sort"

	"github.com/gridbox/gridbox/config"
)

// DriverInfo is one entry of GET /api/v1/drivers: a driver's device entry
// as a JSON Schema (types, required keys, defaults, descriptions, enums;
// `profile` lists the driver's built-in profiles as its enum) and those
// profiles. The web UI generates its device form from it; the server
// checks what the form sends like `gridbox check`.
type DriverInfo struct {
	Name     string        `json:"name"`
	Schema   config.Schema `json:"schema"`
	Profiles []ProfileInfo `json:"profiles"`
}

func (s *Server) handleDrivers(w http.ResponseWriter, r *http.Request) {
	if e := checkParams(r.URL.Query()); e != nil {
		writeError(w, e)
		return
	}
	profiles, e := s.profileInfos()
	if e != nil {
		writeError(w, e)
		return
	}
	out := []DriverInfo{}
	for name, sch := range s.opts.DeviceSchemas {
		di := DriverInfo{Name: name, Schema: sch, Profiles: []ProfileInfo{}}
		var names []any
		for _, p := range profiles {
			if p.Driver == name {
				di.Profiles = append(di.Profiles, p)
				names = append(names, p.Name)
			}
		}
		di.Schema = withProfileEnum(sch, names)
		out = append(out, di)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// withProfileEnum returns sch with the built-in profile names as the
// suggestions (x-suggest: a file path is allowed too) of its profile key;
// sch itself is shared and left alone.
func withProfileEnum(sch config.Schema, names []any) config.Schema {
	props, _ := sch["properties"].(config.Schema)
	prof, ok := props["profile"].(config.Schema)
	if !ok || len(names) == 0 {
		return sch
	}
	np := maps.Clone(prof)
	np["x-suggest"] = names
	nprops := maps.Clone(props)
	nprops["profile"] = np
	out := maps.Clone(sch)
	out["properties"] = nprops
	return out
}
