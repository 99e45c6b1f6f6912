package datalogger

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/gridbox/gridbox/dialect/datalogger/dlconfig"
)

// datalogConfig translates a config in the datalogger's own format into
// the running gridbox config (its devices and this dialect's keys) and
// applies that like a remote config; the datalogger config is stored.
func (d *Dialect) datalogConfig(ctx context.Context, p []byte) {
	ed, ok := d.ctl.(dlconfig.Editor)
	if !ok {
		d.refuse(ctx, TopicConfig, "a datalogger-format config needs a controller that edits the config file (`gridbox run`)")
		return
	}
	dir, err := filepath.Abs(d.dataDir())
	if err != nil {
		d.refuse(ctx, TopicConfig, "data directory: "+err.Error())
		return
	}
	id, notes, apply, errs := dlconfig.Apply(ctx, ed, p, dir)
	if len(errs) > 0 {
		d.refuse(ctx, TopicConfig, strings.Join(errs, "; "))
		return
	}
	for _, n := range notes {
		d.count("unsupported")
		d.log.Warn("datalogger d/config: part not translated", "note", n)
		d.send(ctx, TopicLog, []byte("d/config: not translated: "+n), 1, false)
	}
	d.count("config")
	d.log.Info("datalogger d/config (datalogger format) applied", "config_id", id, "not_translated", len(notes))
	d.send(ctx, TopicLog, []byte("d/config applied: config "+id), 1, false)
	apply()
}

func (d *Dialect) dataDir() string {
	if d.cfg.DataDir != "" {
		return d.cfg.DataDir
	}
	return "data"
}
