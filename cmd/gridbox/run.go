package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/gridbox/gridbox/api"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/sdnotify"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/uplink"
)

func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs, lf := newFlags("run", stderr)
	path := fs.String("c", "gridbox.yaml", "config file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	if !flagSet(fs, "log-format") {
		lf.format = cfg.Log.Format
	}
	if !flagSet(fs, "log-level") {
		lf.level = cfg.Log.Level
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox:", err)
		return exitUsage
	}
	ctl, err := newController(*path)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox:", err)
		return exitUsage
	}
	// Under systemd (Type=notify): READY=1 once the gateway runs, watchdog
	// keep-alives while it does, STOPPING=1 on the way out.
	sd := sdnotify.FromEnv(os.Getenv)
	wdCtx, stopWatchdog := context.WithCancel(ctx)
	wdDone := make(chan struct{})
	go func() {
		defer close(wdDone)
		sd.Watchdog(wdCtx, func(err error) { log.Warn("systemd watchdog", "err", err) })
	}()
	defer func() { stopWatchdog(); <-wdDone }()
	ready := func(*gateway.Gateway) {
		if err := sd.Notify("READY=1"); err != nil {
			log.Warn("systemd notify", "err", err)
		}
	}
	code = runGateway(ctx, cfg, log, stderr, ready, ctl)
	_ = sd.Notify("STOPPING=1")
	return code
}

// runGateway starts a gateway, calls started (if any) once it listens, and
// blocks until ctx is done and everything has stopped. With a controller,
// a config it hands over (remote config, reload) restarts the gateway
// in-process; a config that fails to start falls back to the previous one.
func runGateway(ctx context.Context, cfg *config.Config, log *slog.Logger, stderr io.Writer, started func(*gateway.Gateway), ctl *controller) int {
	var reload chan *config.Config
	ctx = api.WithSessions(ctx, api.NewSessions()) // logins survive in-process restarts
	if ctl != nil {
		reload = ctl.reload
		ctx = uplink.WithController(ctx, ctl)
	}
	prev := cfg
	for {
		gw, cancel, code := startGateway(ctx, cfg, log, stderr)
		if code == exitRuntime && cfg != prev {
			log.Error("new config failed to start; restarting with the previous one")
			cfg = prev
			continue
		}
		if gw == nil {
			return code
		}
		if started != nil {
			started(gw)
		}
		var next *config.Config
		select {
		case <-ctx.Done():
			log.Info("stopping")
		case next = <-reload:
			log.Info("restarting the gateway with a new config", "config_id", ctl.ConfigID())
		}
		cancel()
		if err := gw.Wait(); err != nil {
			fmt.Fprintln(stderr, "gridbox:", err)
			if next == nil {
				return exitRuntime
			}
		}
		if next == nil {
			log.Info("stopped")
			return exitOK
		}
		prev, cfg = cfg, next
	}
}

// startGateway builds and starts one gateway; on failure it returns a nil
// gateway and the exit code.
func startGateway(ctx context.Context, cfg *config.Config, log *slog.Logger, stderr io.Writer) (*gateway.Gateway, context.CancelFunc, int) {
	gw, err := gateway.New(cfg, gateway.Options{Version: version, Log: log, Profiles: profile.Builtin()})
	if err != nil {
		return nil, nil, reportConfigErr(err, stderr)
	}
	runCtx, cancel := context.WithCancel(ctx)
	if err := gw.Start(runCtx); err != nil {
		cancel()
		fmt.Fprintln(stderr, "gridbox:", err)
		return nil, nil, exitRuntime
	}
	return gw, cancel, exitOK
}

func cmdCheck(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlags("check", stderr)
	path := fs.String("c", "gridbox.yaml", "config file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	// Every phase that can run does, and all their errors are printed
	// together: the config's keys and values (config.Load, which returns the
	// config as far as it decoded), then every device's driver settings and
	// profile (gateway.Check). Only a file that is not YAML stops at the first.
	cfg, err := config.Load(*path, os.LookupEnv)
	if cfg == nil {
		return reportConfigErr(err, stderr)
	}
	var errs config.Errors
	errors.As(err, &errs)
	var devErrs config.Errors
	if errors.As(gateway.Check(cfg, gateway.Options{Profiles: profile.Builtin()}), &devErrs) {
		errs = append(errs, devErrs...)
	}
	if len(errs) > 0 {
		errs = dedupe(errs) // a device without driver is reported by both phases
		errs.Sort()
		return reportConfigErr(errs, stderr)
	}
	fmt.Fprintf(stdout, "%s: ok (%d devices)\n", *path, len(cfg.Devices))
	return exitOK
}

// dedupe drops errors equal to an earlier one.
func dedupe(errs config.Errors) config.Errors {
	seen := make(map[config.FieldError]bool, len(errs))
	out := errs[:0]
	for _, e := range errs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// loadConfig loads a config; on failure it prints every error and returns the exit code.
func loadConfig(path string, stderr io.Writer) (*config.Config, int) {
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return nil, reportConfigErr(err, stderr)
	}
	return cfg, exitOK
}

func reportConfigErr(err error, stderr io.Writer) int {
	var es config.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(stderr, e.Error())
		}
		fmt.Fprintf(stderr, "gridbox: %d config error(s)\n", len(es))
		return exitUsage
	}
	fmt.Fprintln(stderr, "gridbox:", err)
	return exitUsage
}

// flagSet reports whether a flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}
