package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The edge datalogger's down-link (`downlink: datalogger`): the back end
// sends <root>/d/config (a whole config) and <root>/d/command (a JSON list
// of command names); answers are text on <root>/u/log/msg and, one per
// command, <root>/u/command_response. With topic_root a/<node_id> these
// are the topics a datalogger's broker bridge used
// (docs/dialect-datalogger.md).

// Down-link modes.
const (
	DownlinkGridbox    = "gridbox"
	DownlinkDatalogger = "datalogger"
	contentText        = "text/plain"
)

// dlCommands maps the datalogger's command names to the uplink's.
var dlCommands = map[string]string{"ping": "ping", "read_now": "read-now", "reload": "reload"}

// dlUnsupported are datalogger commands gridbox answers as not supported.
var dlUnsupported = map[string]string{
	"snap_refresh": "gridbox is not a snap; update its package instead",
	"sys_reboot":   "gridbox does not reboot its host",
}

// datalogger handles one <root>/d/… message.
func (s *Sink) datalogger(ctx context.Context, name string, p []byte) {
	switch name {
	case "config":
		s.dlConfig(ctx, p)
	case "command":
		s.dlCommandList(p)
	}
}

func (s *Sink) dlSay(topic, text string) {
	lp := s.cur.Load()
	if lp == nil {
		s.log.Warn("down-link answer not delivered: not connected", "topic", topic)
		return
	}
	done := make(chan error, 1)
	err := (*lp).send(s.root+"/"+topic, []byte(text), contentText, false, func(err error) { done <- err })
	if err == nil {
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			err = errors.New("no PUBACK within 5s")
		}
	}
	if err != nil {
		s.log.Warn("down-link answer not delivered", "topic", topic, "err", err)
	}
}

func (s *Sink) dlConfig(ctx context.Context, p []byte) {
	var r result
	after := s.configCmd(ctx, p, &r)
	label := "ok"
	if len(r.Errors) > 0 {
		label = "refused"
		s.dlSay("u/log/msg", "d/config refused: "+strings.Join(r.Errors, "; "))
	} else {
		s.dlSay("u/log/msg", "d/config applied: config "+r.ConfigID)
	}
	s.m.commands.WithLabelValues("config", label).Inc()
	s.log.Info("down-link config (datalogger)", "ok", label == "ok", "errors", len(r.Errors))
	if after != nil && label == "ok" {
		after()
	}
}

func (s *Sink) dlCommandList(p []byte) {
	var names []string
	if err := json.Unmarshal(p, &names); err != nil {
		s.m.commands.WithLabelValues("unknown", "refused").Inc()
		s.dlSay("u/log/msg", fmt.Sprintf("d/command refused: want a JSON list of command names like [\"ping\"]: %v", err))
		return
	}
	var later []func()
	for _, n := range names {
		text, after := s.dlCommand(n)
		s.dlSay("u/command_response", text)
		if after != nil {
			later = append(later, after)
		}
	}
	for _, f := range later {
		f()
	}
}

// dlCommand answers one datalogger command as text.
func (s *Sink) dlCommand(name string) (string, func()) {
	if why, ok := dlUnsupported[name]; ok {
		s.m.commands.WithLabelValues(name, "refused").Inc()
		return name + ": not supported: " + why, nil
	}
	cmd, ok := dlCommands[name]
	if !ok {
		s.m.commands.WithLabelValues("unknown", "refused").Inc()
		return fmt.Sprintf("%s: unknown command (known: ping, read_now, reload, snap_refresh, sys_reboot)", name), nil
	}
	if !slices.Contains(s.cfg.Commands, cmd) {
		s.m.commands.WithLabelValues(cmd, "refused").Inc()
		return fmt.Sprintf("%s: not allowed by this gateway's config (uplink commands: %s)", name, strings.Join(s.cfg.Commands, ", ")), nil
	}
	var r result
	after := s.command(cmd, "", &r)
	if len(r.Errors) > 0 {
		s.m.commands.WithLabelValues(cmd, "refused").Inc()
		return strings.Join(r.Errors, "; "), nil
	}
	s.m.commands.WithLabelValues(cmd, "ok").Inc()
	switch cmd {
	case "ping":
		return fmt.Sprintf("ping: pong %d", r.Pong/1000), nil
	case "read-now":
		return fmt.Sprintf("read_now: %d values queued", r.Values), nil
	}
	return name + ": reloading the config file", after
}
