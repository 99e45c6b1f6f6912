// Command gridbox is the energy gateway: see `gridbox help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, as README.md "Commands" documents them.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

const usage = `gridbox — energy gateway

usage:
  gridbox run      [-c gridbox.yaml]          run the gateway
  gridbox demo     [--http ADDR] [--mqtt ADDR] run a gateway against built-in simulated devices
  gridbox sim      PROFILE --listen HOST:PORT [--unit N] [--faults SPEC]
                                              run one simulated device (Modbus TCP, HTTP, KEBA UDP, Homematic XML-RPC)
  gridbox check    [-c gridbox.yaml]          validate a config; print every error
  gridbox profiles                            list built-in device profiles
  gridbox read     URL SPEC...                one-shot read for commissioning (gridbox read -h)
  gridbox scan     TARGET... [--units 1-247] [--timeout 500ms]
                                              find Modbus TCP units, print a devices: list (gridbox scan -h)
  gridbox backup   [-c gridbox.yaml] FILE     consistent copy of the store and config, also while running
  gridbox restore  [-c gridbox.yaml] [--force] FILE   restore a backup into the configured store
  gridbox import   [-c gridbox.yaml] [--format csv|influx|bemcom] [--strict] FILE   bulk-load history into the store
  gridbox ingest   --broker URL --pg postgres://… [--group NAME] [--client-id ID]
                                              fleet side: uplink messages into PostgreSQL
  gridbox version

common flags: --log-format text|json, --log-level debug|info|warn|error
exit codes: 0 ok, 1 runtime failure, 2 usage or config error
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"run": cmdRun, "demo": cmdDemo, "sim": cmdSim, "check": cmdCheck,
		"profiles": cmdProfiles, "read": cmdRead, "version": cmdVersion,
		"backup": cmdBackup, "restore": cmdRestore, "import": cmdImport, "scan": cmdScan,
		"ingest": cmdIngest,
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "gridbox: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return c(ctx, args[1:], stdout, stderr)
}

// logFlags are the logging flags every command takes.
type logFlags struct{ format, level string }

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *logFlags) {
	fs := flag.NewFlagSet("gridbox "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	lf := &logFlags{}
	fs.StringVar(&lf.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&lf.level, "log-level", "info", "log level: debug, info, warn or error")
	return fs, lf
}

// parse parses flags; it returns an exit code >= 0 when the command must stop.
func parse(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	return -1
}

func (lf *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(lf.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", lf.level)
	}
	o := &slog.HandlerOptions{Level: lvl}
	switch lf.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", lf.format)
}
