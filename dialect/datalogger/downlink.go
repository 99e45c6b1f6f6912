package datalogger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// downlink handles one d/config or d/command message.
func (d *Dialect) downlink(ctx context.Context, m inMsg) {
	switch m.topic {
	case TopicConfig:
		d.config(ctx, m.payload)
	case TopicCommand:
		d.commands(ctx, m.payload)
	}
}

// refuse logs and counts a refused down-link message and tells the back
// end on u/log/msg.
func (d *Dialect) refuse(ctx context.Context, topic, why string) {
	d.count("refused")
	d.log.Warn("datalogger down-link message refused", "topic", topic, "reason", why)
	d.send(ctx, TopicLog, []byte(topic+" refused: "+why), 1, false)
}

// config applies a whole gridbox config (JSON or YAML) through the
// gateway's controller, the one the uplink's remote config uses.
func (d *Dialect) config(ctx context.Context, p []byte) {
	switch {
	case !d.cfg.RemoteConfig:
		d.refuse(ctx, TopicConfig, "remote configuration is off (dialects.datalogger.remote_config: false)")
		return
	case d.ctl == nil:
		d.refuse(ctx, TopicConfig, "not supported by this gateway (no controller: run it with `gridbox run`)")
		return
	case datalogConfig(p):
		d.refuse(ctx, TopicConfig, "this is a datalogger-format config (devices as an object, readings); send a gridbox config")
		return
	}
	id, errs, apply, err := d.ctl.ApplyConfig(ctx, p)
	switch {
	case err != nil:
		d.refuse(ctx, TopicConfig, err.Error())
	case len(errs) > 0:
		d.refuse(ctx, TopicConfig, strings.Join(errs, "; "))
	default:
		d.count("config")
		d.log.Info("datalogger d/config applied", "config_id", id)
		d.send(ctx, TopicLog, []byte("d/config applied: config "+id), 1, false)
		apply()
	}
}

// datalogConfig reports whether p is in the datalogger's own config format.
func datalogConfig(p []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(p, &top) != nil {
		return false
	}
	if _, ok := top["readings"]; ok {
		return true
	}
	devs := strings.TrimSpace(string(top["devices"]))
	return strings.HasPrefix(devs, "{")
}

// commands answers a JSON list of command names, each on u/command_response.
func (d *Dialect) commands(ctx context.Context, p []byte) {
	var names []string
	if err := json.Unmarshal(p, &names); err != nil {
		d.refuse(ctx, TopicCommand, fmt.Sprintf("want a JSON list of command names like [\"ping\"]: %v", err))
		return
	}
	var after []func()
	for _, n := range names {
		answer, then := d.command(ctx, n)
		d.send(ctx, TopicCommandResponse, []byte(answer), 1, false)
		if then != nil {
			after = append(after, then)
		}
	}
	for _, f := range after {
		f()
	}
}

// command runs one command: its text answer and what runs after answering.
func (d *Dialect) command(ctx context.Context, name string) (string, func()) {
	if !slices.Contains(AllCommands(), name) {
		d.count("refused")
		return fmt.Sprintf("%s: unknown command (known: %s)", name, strings.Join(AllCommands(), ", ")), nil
	}
	if !slices.Contains(d.cfg.Commands, name) {
		d.count("refused")
		return fmt.Sprintf("%s: not allowed by this gateway's config (dialects.datalogger.commands: %s)", name, strings.Join(d.cfg.Commands, ", ")), nil
	}
	d.count("command")
	switch name {
	case "ping":
		return fmt.Sprintf("ping: pong %d", time.Now().Unix()), nil
	case "read_now":
		return "read_now: a u/data message follows", func() { d.cycle(ctx, time.Now()) }
	case "reload":
		if d.ctl == nil {
			return "reload: not supported by this gateway (no controller)", nil
		}
		return "reload: reloading the config file", func() {
			if err := d.ctl.Reload(); err != nil {
				d.log.Error("datalogger reload failed", "err", err)
				d.send(ctx, TopicLog, []byte("reload failed: "+err.Error()), 1, false)
			}
		}
	case "snap_refresh":
		return "snap_refresh: not supported: gridbox is not a snap; update its package instead", nil
	default: // sys_reboot
		return "sys_reboot: not supported: gridbox does not reboot its host", nil
	}
}
