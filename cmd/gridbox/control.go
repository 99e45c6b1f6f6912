package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
)

// controller is what `gridbox run` offers the uplink's down-link
// (uplink.Controller): validate and write a config, and restart the gateway
// in-process with it. The process, its PID, the disk queues and the store
// stay; the sinks and devices are rebuilt (connections are re-opened, the
// last values are restored from the store).
type controller struct {
	path   string
	reload chan *config.Config // the run loop restarts the gateway with what it receives

	mu sync.Mutex // serialises writes of the config file
	id string
}

func newController(path string) (*controller, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &controller{path: path, reload: make(chan *config.Config, 1), id: configID(data)}, nil
}

func configID(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// check validates a config the way `gridbox check` does and returns every
// problem as "<path>: <message>" (with the line when known).
func check(data []byte) (*config.Config, []string) {
	cfg, err := config.Parse(data, "", os.LookupEnv)
	var errs config.Errors
	if err != nil && !errors.As(err, &errs) {
		return nil, []string{err.Error()}
	}
	if cfg != nil {
		var gerrs config.Errors
		if errors.As(gateway.Check(cfg, gateway.Options{Profiles: profile.Builtin()}), &gerrs) {
			errs = append(errs, gerrs...)
		}
	}
	if len(errs) == 0 {
		return cfg, nil
	}
	errs = dedupe(errs)
	errs.Sort()
	out := make([]string, len(errs))
	for i, e := range errs {
		p := e.Path
		if p == "" {
			p = "(config)"
		}
		out[i] = p + ": " + e.Msg
		if e.Line > 0 {
			out[i] += fmt.Sprintf(" (line %d)", e.Line)
		}
	}
	return nil, out
}

// ApplyConfig implements uplink.Controller.
func (c *controller) ApplyConfig(_ context.Context, data []byte) (string, []string, func(), error) {
	cfg, errs := check(data)
	if len(errs) > 0 {
		return "", errs, nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := writeAtomic(c.path, data); err != nil {
		return "", nil, nil, err
	}
	cfg.File = c.path
	c.id = configID(data)
	return c.id, nil, func() { c.restart(cfg) }, nil
}

// EditConfig implements api.ConfigEditor: edit gets the file's bytes and
// returns the new ones, which are checked, written and applied like a
// remote config. The lock makes concurrent edits apply one after the other.
func (c *controller) EditConfig(_ context.Context, edit func(old []byte) ([]byte, error)) (string, []string, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, err := os.ReadFile(c.path)
	if err != nil {
		return "", nil, nil, fmt.Errorf("config: %w", err)
	}
	data, err := edit(old)
	if err != nil {
		return "", nil, nil, err
	}
	cfg, errs := check(data)
	if len(errs) > 0 {
		return "", errs, nil, nil
	}
	if err := writeAtomic(c.path, data); err != nil {
		return "", nil, nil, err
	}
	cfg.File = c.path
	c.id = configID(data)
	return c.id, nil, func() { c.restart(cfg) }, nil
}

// ConfigFile implements api.ConfigEditor.
func (c *controller) ConfigFile() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, err := os.ReadFile(c.path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

// Reload implements uplink.Controller: the config file, re-read.
func (c *controller) Reload() error {
	data, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg, errs := check(data)
	if len(errs) > 0 {
		return fmt.Errorf("config %s: %d error(s), first: %s", c.path, len(errs), errs[0])
	}
	cfg.File = c.path
	c.mu.Lock()
	c.id = configID(data)
	c.mu.Unlock()
	c.restart(cfg)
	return nil
}

// RestartDevice implements uplink.Controller. There is no per-device
// restart in the gateway: the whole gateway restarts in-process.
func (c *controller) RestartDevice(string) error { return c.Reload() }

// ConfigID implements uplink.Controller.
func (c *controller) ConfigID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// restart hands cfg to the run loop; a newer config replaces a waiting one.
func (c *controller) restart(cfg *config.Config) {
	for {
		select {
		case c.reload <- cfg:
			return
		default:
		}
		select {
		case <-c.reload:
		default:
		}
	}
}

// writeAtomic replaces path with data: a synced temporary file renamed over
// it. The previous version is kept as <path>.bak.
func writeAtomic(path string, data []byte) error {
	if prev, err := os.ReadFile(path); err == nil {
		if err := os.WriteFile(path+".bak", prev, 0o600); err != nil {
			return fmt.Errorf("write config backup: %w", err)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".gridbox-config-*")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if st, serr := os.Stat(path); serr == nil {
			_ = os.Chmod(tmp, st.Mode().Perm())
		}
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
