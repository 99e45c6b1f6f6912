package store

import (
	"context"
	"fmt"
	"path/filepath"
)

// CheckNotInUse fails with ErrStoreInUse when another connection (a running
// gateway, a sqlite3 session) has the store in directory dir open — the same
// probe Restore makes. A directory without a store is not in use. Commands
// that write to the store without a gateway (gridbox import) call it before
// Open.
func CheckNotInUse(ctx context.Context, dir string) error {
	file := filepath.Join(dir, FileName)
	if _, err := probeTarget(ctx, file); err != nil {
		return fmt.Errorf("store: %s: %w", file, err)
	}
	return nil
}
