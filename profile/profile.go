// Package profile holds the device profiles built into the binary and
// resolves a device's `profile:` key to profile bytes: a built-in name, else
// a file path. Profiles are decoded by their driver (driver/modbus); this
// package reads only the generic fields it needs to list them.
package profile

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gridbox/gridbox/config"
)

// builtinFS holds the built-in profiles, one YAML file per profile.
//
//go:embed builtin/*.yaml
var builtinFS embed.FS

// builtinDir is the folder of the built-in profiles inside builtinFS.
const builtinDir = "builtin"

// Library resolves profile names and paths; it implements driver.ProfileSource.
type Library struct {
	fsys fs.FS  // holds the built-in profiles
	dir  string // folder of the profiles inside fsys
}

// Builtin returns the library of profiles embedded in the binary.
func Builtin() *Library {
	return &Library{fsys: builtinFS, dir: builtinDir}
}

// Names lists the built-in profile names, sorted.
func (l *Library) Names() []string {
	matches, err := fs.Glob(l.fsys, path.Join(l.dir, "*.yaml"))
	if err != nil {
		return nil // only for a malformed pattern, which this one is not
	}
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(path.Base(m), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Load returns the YAML of a built-in profile or, when nameOrPath is not a
// built-in name, of the file at that path, with a source name for errors.
func (l *Library) Load(nameOrPath string) ([]byte, string, error) {
	if nameOrPath == "" {
		return nil, "", fmt.Errorf("empty profile name (built-in profiles: %s)", strings.Join(l.Names(), ", "))
	}
	if l.isBuiltin(nameOrPath) {
		file := path.Join(l.dir, nameOrPath+".yaml")
		data, err := fs.ReadFile(l.fsys, file)
		if err != nil {
			return nil, "", fmt.Errorf("built-in profile %s: %w", nameOrPath, err)
		}
		return data, file, nil
	}
	data, err := config.ReadFile(nameOrPath) // regular files only: check must not wait on a FIFO or /dev/stdin
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("profile %q: no built-in profile and no file of that name (built-in profiles: %s)",
			nameOrPath, strings.Join(l.Names(), ", "))
	}
	if err != nil {
		return nil, "", fmt.Errorf("profile %q: %w", nameOrPath, err)
	}
	return data, nameOrPath, nil
}

// isBuiltin reports whether name is one of the built-in profile names.
func (l *Library) isBuiltin(name string) bool {
	for _, n := range l.Names() {
		if n == name {
			return true
		}
	}
	return false
}

// Summary is the driver-independent description of one profile, for listings.
type Summary struct {
	Name        string
	Driver      string
	Description string
	Sign        string
	Datapoints  []DatapointSummary
}

// DatapointSummary is the generic metadata of one datapoint of a profile.
type DatapointSummary struct {
	Name        string
	Kind        string // sensor or actuator
	Unit        string
	Role        string
	Description string
	Detect      string // the optional component it belongs to (meter, battery); empty: always there
}

// summaryDoc is the part of a profile file that every driver shares; other
// keys are ignored here and checked by the driver.
type summaryDoc struct {
	Name        string        `yaml:"name"`
	Driver      string        `yaml:"driver"`
	Description string        `yaml:"description"`
	Sign        string        `yaml:"sign"`
	Registers   []registerDoc `yaml:"registers"`  // Modbus profiles
	Datapoints  []registerDoc `yaml:"datapoints"` // profiles of other drivers
	Detect      []struct {
		Name      string        `yaml:"name"`
		Registers []registerDoc `yaml:"registers"`
	} `yaml:"detect"`
}

// registerDoc is the generic part of one register or datapoint of a profile.
type registerDoc struct {
	Name        string `yaml:"name"`
	Kind        string `yaml:"kind"`
	Unit        string `yaml:"unit"`
	Role        string `yaml:"role"`
	Description string `yaml:"description"`
}

// Summaries describes every built-in profile, sorted by name.
func (l *Library) Summaries() ([]Summary, error) {
	names := l.Names()
	sums := make([]Summary, 0, len(names))
	for _, name := range names {
		data, src, err := l.Load(name)
		if err != nil {
			return nil, err
		}
		s, err := summarize(data, src)
		if err != nil {
			return nil, err
		}
		sums = append(sums, s)
	}
	return sums, nil
}

// summarize decodes the generic fields of one profile.
func summarize(data []byte, source string) (Summary, error) {
	var doc summaryDoc
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return Summary{}, fmt.Errorf("%s: %w", source, err)
	}
	s := Summary{Name: doc.Name, Driver: doc.Driver, Description: doc.Description, Sign: doc.Sign}
	add := func(r registerDoc, detect string) {
		kind := r.Kind
		if kind == "" {
			kind = "sensor"
		}
		s.Datapoints = append(s.Datapoints, DatapointSummary{
			Name: r.Name, Kind: kind, Unit: r.Unit, Role: r.Role, Description: r.Description, Detect: detect,
		})
	}
	for _, r := range append(doc.Registers, doc.Datapoints...) {
		add(r, "")
	}
	for _, d := range doc.Detect {
		for _, r := range d.Registers {
			add(r, d.Name)
		}
	}
	return s, nil
}
