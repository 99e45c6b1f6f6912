package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
)

// Controller is what the program running the gateway offers the down-link:
// `gridbox run` provides one (cmd/gridbox/control.go). Without one, config
// and the commands that need it are answered as not supported.
type Controller interface {
	// ApplyConfig validates a whole config (YAML or JSON). On problems it
	// returns every one as "<path>: <message>". Otherwise it writes the
	// config file atomically and returns its id and apply, which restarts
	// the gateway in-process with it; the caller calls apply after answering.
	ApplyConfig(ctx context.Context, data []byte) (id string, errs []string, apply func(), err error)
	// Reload re-reads the config file and restarts the gateway in-process.
	Reload() error
	// RestartDevice restarts a device (the gateway in-process: there is no
	// per-device restart); unknown ids are an error.
	RestartDevice(id string) error
	// ConfigID identifies the running config (a hash of the file).
	ConfigID() string
}

type ctlKey struct{}

// WithController hands c to the uplinks the gateway started with ctx opens.
func WithController(ctx context.Context, c Controller) context.Context {
	return context.WithValue(ctx, ctlKey{}, c)
}

// ControllerFrom returns the controller in ctx, or nil.
func ControllerFrom(ctx context.Context) Controller {
	c, _ := ctx.Value(ctlKey{}).(Controller)
	return c
}

// result is the answer on <root>/cmd/<name>/result.
type result struct {
	OK       bool     `json:"ok"`
	Command  string   `json:"command"`
	ID       string   `json:"id,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	ConfigID string   `json:"config_id,omitempty"`
	Pong     int64    `json:"pong,omitempty"`
	Values   int      `json:"values,omitempty"`
}

// controlLoop answers down-link messages one at a time.
func (s *Sink) controlLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case in := <-s.inbox:
			if name, ok := strings.CutPrefix(in.topic, s.root+"/d/"); ok && s.cfg.Downlink == DownlinkDatalogger {
				s.datalogger(ctx, name, in.payload)
				continue
			}
			name, ok := strings.CutPrefix(in.topic, s.root+"/cmd/")
			if !ok || strings.Contains(name, "/") {
				continue
			}
			s.handle(ctx, name, in.payload)
		}
	}
}

func (s *Sink) handle(ctx context.Context, name string, p []byte) {
	var req struct {
		ID     string `json:"id"`
		Device string `json:"device"`
	}
	if name != "config" && len(p) > 0 {
		_ = json.Unmarshal(p, &req)
	}
	r := result{Command: name, ID: req.ID}
	var after func()
	switch {
	case name == "config":
		after = s.configCmd(ctx, p, &r)
	case !slices.Contains(AllCommands(), name):
		r.Errors = []string{fmt.Sprintf("%s: unknown command (known: config, %s)", name, strings.Join(AllCommands(), ", "))}
	case !slices.Contains(s.cfg.Commands, name):
		r.Errors = []string{fmt.Sprintf("%s: not allowed by this gateway's config (uplink commands: %s)", name, strings.Join(s.cfg.Commands, ", "))}
	default:
		after = s.command(name, req.Device, &r)
	}
	r.OK = len(r.Errors) == 0
	label := map[bool]string{true: "ok", false: "refused"}[r.OK]
	if !slices.Contains(append(AllCommands(), "config"), name) {
		s.m.commands.WithLabelValues("unknown", label).Inc()
	} else {
		s.m.commands.WithLabelValues(name, label).Inc()
	}
	s.log.Info("down-link command", "command", name, "ok", r.OK, "errors", len(r.Errors))
	b, _ := json.Marshal(r)
	if lp := s.cur.Load(); lp != nil {
		if err := s.publishWait(*lp, s.root+"/cmd/"+name+"/result", b, false); err != nil {
			s.log.Warn("down-link answer not delivered", "command", name, "err", err)
		}
	}
	if after != nil && r.OK {
		after()
	}
}

func (s *Sink) configCmd(ctx context.Context, p []byte, r *result) func() {
	if !s.cfg.RemoteConfig {
		r.Errors = []string{"config: remote configuration is off (uplink remote_config: false)"}
		return nil
	}
	if s.ctl == nil {
		r.Errors = []string{"config: not supported by this gateway (no controller)"}
		return nil
	}
	id, errs, apply, err := s.ctl.ApplyConfig(ctx, p)
	switch {
	case err != nil:
		r.Errors = []string{"config: " + err.Error()}
	case len(errs) > 0:
		r.Errors = errs
	default:
		r.ConfigID = id
		return apply
	}
	return nil
}

func (s *Sink) command(name, device string, r *result) func() {
	switch name {
	case "ping":
		r.Pong = model.NowMs()
		return nil
	case "read-now":
		r.Values = s.readNow()
		return nil
	}
	if s.ctl == nil {
		r.Errors = []string{name + ": not supported by this gateway (no controller)"}
		return nil
	}
	switch name {
	case "reload":
		return func() { s.report(name, s.ctl.Reload()) }
	case "restart-device":
		if _, ok := s.env.Bus.Device(device); !ok || device == "" {
			r.Errors = []string{fmt.Sprintf("device: %q is not a configured device", device)}
			return nil
		}
		return func() { s.report(name, s.ctl.RestartDevice(device)) }
	}
	return nil
}

func (s *Sink) report(name string, err error) {
	if err != nil {
		s.m.commands.WithLabelValues(name, "failed").Inc()
		s.log.Error("down-link command failed", "command", name, "err", err)
	}
}

// readNow queues every datapoint's last value as one message now.
func (s *Sink) readNow() int {
	var buf [][]byte
	for _, p := range s.env.Bus.Datapoints() {
		if p.Last == nil || !s.cfg.selected(p.Last.Device+"/"+p.Last.Name) {
			continue
		}
		if b, err := encodeValue(nil, *p.Last); err == nil {
			buf = append(buf, b)
		}
	}
	if len(buf) == 0 {
		return 0
	}
	select {
	case s.readNowCh <- buf:
		return len(buf)
	default: // one is pending already
		return 0
	}
}

// publishMeta publishes the retained <root>/meta.
func (s *Sink) publishMeta(l link) {
	id := ""
	if s.ctl != nil {
		id = s.ctl.ConfigID()
	}
	b, _ := json.Marshal(map[string]any{
		"site": s.env.Site, "version": s.env.Version, "started": time.UnixMilli(s.started).UTC().Format(time.RFC3339),
		"started_ms": s.started, "arch": runtime.GOARCH, "os": runtime.GOOS, "config_id": id, "uplink": s.env.Name,
	})
	_ = l.send(s.root+"/meta", b, ContentJSON, true, func(error) {})
}
