package dlconfig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Editor is what the controller of `gridbox run` offers for editing the
// running config file (api.ConfigEditor's EditConfig): edit gets the
// file and returns the new one, which is checked like `gridbox check`
// and written atomically; apply restarts the gateway with it.
type Editor interface {
	EditConfig(ctx context.Context, edit func(old []byte) ([]byte, error)) (id string, problems []string, apply func(), err error)
}

// Files under the data directory.
const (
	StoredConfig = "datalogger/config.json" // the last applied datalogger config
	DriverDir    = "datalogger/drivers"     // inline drivers as driver files
)

// Apply translates the datalogger config p, writes its driver files under
// dir, and has ed check, write and prepare the new config file; on success
// p is stored as <dir>/datalogger/config.json. It returns the new config's
// id, the parts not translated, and apply (restart with the new config);
// or every problem found.
func Apply(ctx context.Context, ed Editor, p []byte, dir string) (string, []string, func(), []string) {
	c, err := Parse(p)
	if err != nil {
		return "", nil, nil, []string{err.Error()}
	}
	r, errs := Translate(c, filepath.Join(dir, DriverDir))
	if len(errs) > 0 {
		return "", nil, nil, errs
	}
	if err := WriteDrivers(r.Drivers); err != nil {
		return "", nil, nil, []string{err.Error()}
	}
	id, problems, apply, err := ed.EditConfig(ctx, func(old []byte) ([]byte, error) { return Edit(old, r) })
	switch {
	case err != nil:
		return "", nil, nil, []string{err.Error()}
	case len(problems) > 0:
		return "", nil, nil, problems
	}
	if err := store(filepath.Join(dir, StoredConfig), p); err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("the datalogger config was applied but not stored: %v", err))
	}
	return id, r.Notes, apply, nil
}

// store writes p to path atomically.
func store(path string, p []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, p, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
