package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gridbox/gridbox/driver/modbus/scan"
	"github.com/gridbox/gridbox/profile"
)

const scanUsage = `usage: gridbox scan TARGET... [--units 1-247] [--timeout 500ms] [--concurrency 32]

TARGET is host:port or an IPv4 CIDR range with a port (192.168.1.0/24:502), as separate
arguments or comma-separated. Every endpoint that accepts a connection is asked for holding
register 0 of each unit id; data or an exception means the unit is there (the gateway
exceptions 10 and 11 mean it is not). Progress goes to stderr; stdout gets a devices: list
for a gridbox config: SunSpec devices as driver: sunspec, the others as driver: modbus with
the built-in profile whose registers all answered, else the register that did.
`

// scanArgs are the parsed arguments of `gridbox scan`.
type scanArgs struct {
	targets     []string
	units       []uint8
	timeout     time.Duration
	concurrency int
}

func parseScanArgs(args []string, stderr io.Writer) (scanArgs, int) {
	fs := flag.NewFlagSet("gridbox scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	units := fs.String("units", "1-247", "unit ids: 1-247, 3, 1,3,10-12")
	timeout := fs.Duration("timeout", scan.DefaultTimeout, "connect and request timeout")
	conc := fs.Int("concurrency", scan.DefaultConcurrency, "endpoints scanned at once")
	var a scanArgs
	for { // flags may come before, between and after the targets
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stderr, scanUsage)
				return a, exitOK
			}
			fmt.Fprintf(stderr, "gridbox scan: %v\n%s", err, scanUsage)
			return a, exitUsage
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		a.targets, args = append(a.targets, args[0]), args[1:]
	}
	var err error
	switch {
	case len(a.targets) == 0:
		err = errors.New("no targets")
	case *timeout <= 0:
		err = fmt.Errorf("--timeout %s: must be positive", *timeout)
	case *conc < 1 || *conc > 1024:
		err = fmt.Errorf("--concurrency %d is out of 1..1024", *conc)
	}
	if err == nil {
		a.units, err = scan.ParseUnits(*units)
	}
	if err == nil {
		a.targets, err = scan.ParseTargets(a.targets)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gridbox scan: %v\n%s", err, scanUsage)
		return a, exitUsage
	}
	a.timeout, a.concurrency = *timeout, *conc
	return a, -1
}

// cmdScan is `gridbox scan`: exit 0 when a unit answered, 1 when none did
// (or the scan was interrupted), 2 for a mistake in the command line.
func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a, code := parseScanArgs(args, stderr)
	if code >= 0 {
		return code
	}
	lib := profile.Builtin()
	start := time.Now()
	step := max(1, len(a.targets)/10)
	units := scan.Scan(ctx, a.targets, scan.Options{
		Units: a.units, Timeout: a.timeout, Concurrency: a.concurrency, Profiles: lib, Names: lib.Names(),
		Progress: func(p scan.Progress) {
			if len(p.Found) > 0 {
				fmt.Fprintf(stderr, "scan: %s: units %s\n", p.Endpoint, unitList(p.Found))
			}
			if p.Done%step == 0 || p.Done == p.Total {
				fmt.Fprintf(stderr, "scan: %d/%d endpoints, %d accepting a connection, %d units\n", p.Done, p.Total, p.Answering, p.Units)
			}
		},
	})
	fmt.Fprintf(stderr, "scan: done in %s: %d units\n", time.Since(start).Round(time.Millisecond), len(units))
	if err := scan.WriteConfig(stdout, units); err != nil {
		fmt.Fprintln(stderr, "gridbox scan:", err)
		return exitRuntime
	}
	if len(units) == 0 || ctx.Err() != nil {
		return exitRuntime
	}
	return exitOK
}

func unitList(ids []uint8) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}
