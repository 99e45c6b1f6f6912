package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// pairState is what survives a restart for one controlled actuator: its
// setpoint and schedule with the timestamps they were sent with.
type pairState struct {
	Setpoint   []SetpointItem `json:"setpoint"`
	SetpointTS int64          `json:"setpoint_timestamp"`
	Schedule   []ScheduleItem `json:"schedule"`
	ScheduleTS int64          `json:"schedule_timestamp"`
}

// stateFile keeps every pair's state in one JSON file, replaced atomically
// (temp file, fsync, rename) on every change.
type stateFile struct{ path string }

func (f stateFile) load() (map[string]pairState, error) {
	out := map[string]pairState{}
	if f.path == "" {
		return out, nil
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("control: read %s: %w", f.path, err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("control: %s is not a control state file: %w", f.path, err)
	}
	return out, nil
}

func (f stateFile) save(st map[string]pairState) error {
	if f.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("control: encode state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".control-*.json")
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("control: write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("control: sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("control: replace %s: %w", f.path, err)
	}
	return nil
}
