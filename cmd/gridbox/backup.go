package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/store"
)

const backupUsage = "usage: gridbox backup [-c gridbox.yaml] FILE"
const restoreUsage = "usage: gridbox restore [-c gridbox.yaml] [--force] [--config-out PATH] FILE"

// cmdBackup writes a consistent copy of the embedded store, with the config
// file and a metadata record, to FILE while a gateway may be running on it.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlags("backup", stderr)
	path := fs.String("c", "gridbox.yaml", "config file: its store is backed up, the file itself goes into the backup")
	fs.Usage = func() { fmt.Fprintln(stderr, backupUsage); fs.PrintDefaults() }
	file, code := parseOneArg(fs, args, stderr, backupUsage)
	if code >= 0 {
		return code
	}
	cfg, sc, code := storeConfig(*path, "backup", stderr)
	if sc == nil {
		return code
	}
	raw, err := os.ReadFile(*path)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox backup:", err)
		return exitRuntime
	}
	src, _ := filepath.Abs(filepath.Join(sc.Path, store.FileName))
	cfgAbs, _ := filepath.Abs(*path)
	info := store.BackupInfo{
		Meta: map[string]string{
			"gridbox_version": version,
			"created":         time.Now().UTC().Format(time.RFC3339Nano),
			"site":            cfg.Site,
			"source":          src,
			"config_file":     cfgAbs,
		},
		Config: map[string][]byte{filepath.Base(*path): raw},
	}
	st, err := store.Backup(ctx, sc.Path, file, info)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox backup:", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "backup %s: %d datapoints, %d samples, %d rollups, %s, schema %d, config %s, in %s\n",
		file, st.Datapoints, st.Samples, st.Rollups, byteSize(st.Bytes), st.SchemaVersion, filepath.Base(*path), st.Took.Round(time.Millisecond))
	return exitOK
}

// cmdRestore makes a backup file the store of the config, which must not be
// in use by a running gateway.
func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlags("restore", stderr)
	path := fs.String("c", "gridbox.yaml", "config file: the backup is restored into its store.path")
	force := fs.Bool("force", false, "replace a store that holds data (the old file is kept as gridbox.db.bak-<time>)")
	cfgOut := fs.String("config-out", "", "also write the config file embedded in the backup to `PATH` (must not exist)")
	fs.Usage = func() { fmt.Fprintln(stderr, restoreUsage); fs.PrintDefaults() }
	file, code := parseOneArg(fs, args, stderr, restoreUsage)
	if code >= 0 {
		return code
	}
	_, sc, code := storeConfig(*path, "restore", stderr)
	if sc == nil {
		return code
	}
	if *cfgOut != "" {
		if _, err := os.Stat(*cfgOut); err == nil {
			fmt.Fprintf(stderr, "gridbox restore: --config-out %s: the file exists; not overwriting it\n", *cfgOut)
			return exitRuntime
		}
	}
	st, err := store.Restore(ctx, file, sc.Path, store.RestoreOptions{Force: *force})
	if err != nil {
		fmt.Fprintln(stderr, "gridbox restore:", err)
		return exitRuntime
	}
	m := st.Info.Meta
	fmt.Fprintf(stdout, "restored %s (gridbox %s, site %q, taken %s) into %s: %d datapoints, %d samples, %d rollups, %s\n",
		file, m["gridbox_version"], m["site"], m["created"], filepath.Join(sc.Path, store.FileName), st.Datapoints, st.Samples, st.Rollups, byteSize(st.Bytes))
	if st.Kept != "" {
		fmt.Fprintf(stdout, "the previous store is kept as %s\n", st.Kept)
	}
	if *cfgOut != "" {
		names := slices.Sorted(maps.Keys(st.Info.Config))
		if len(names) == 0 {
			fmt.Fprintln(stderr, "gridbox restore: --config-out: the backup holds no config file")
			return exitRuntime
		}
		f, err := os.OpenFile(*cfgOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = f.Write(st.Info.Config[names[0]])
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			fmt.Fprintln(stderr, "gridbox restore: --config-out:", err)
			return exitRuntime
		}
		fmt.Fprintf(stdout, "config %s written to %s\n", names[0], *cfgOut)
	}
	return exitOK
}

// parseOneArg parses flags before and after exactly one positional argument.
func parseOneArg(fs *flag.FlagSet, args []string, stderr io.Writer, usage string) (string, int) {
	var pos []string
	for {
		if c := parse(fs, args); c >= 0 {
			return "", c
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, usage)
		return "", exitUsage
	}
	return pos[0], -1
}

// storeConfig loads and checks the config and returns its embedded store's
// section; a PostgreSQL store is refused (exit 1).
func storeConfig(path, cmd string, stderr io.Writer) (*config.Config, *store.Config, int) {
	cfg, code := loadConfig(path, stderr)
	if cfg == nil {
		return nil, nil, code
	}
	if err := gateway.Check(cfg, gateway.Options{Profiles: profile.Builtin()}); err != nil {
		return nil, nil, reportConfigErr(err, stderr)
	}
	cs, err := gateway.SinkConfigs(cfg, "store", gateway.Options{})
	if err != nil {
		return nil, nil, reportConfigErr(err, stderr)
	}
	sc, _ := cs[0].(*store.Config) // the store kind always has its default instance
	if sc.URL != "" {
		fmt.Fprintf(stderr, "gridbox %s: %s\n", cmd, map[string]string{
			"backup":  "backup of a PostgreSQL store: use pg_dump",
			"restore": "restore of a PostgreSQL store: use pg_restore or psql",
			"import":  "importing into a PostgreSQL store (store.url) is not supported yet: use the embedded store",
		}[cmd])
		return nil, nil, exitRuntime
	}
	sc.Path = sc.Dir()
	return cfg, sc, exitOK
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
