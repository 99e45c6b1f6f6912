package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sim"
)

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, lf := newFlags("sim", stderr)
	listen := fs.String("listen", "127.0.0.1:5020", "listen address HOST:PORT (Modbus TCP; HTTP for the HTTP profiles and homematic-ccu; UDP for keba-p30)")
	unit := fs.Uint("unit", 0, "Modbus unit id (0 = the profile's default)")
	faultSpec := fs.String("faults", "", "inject faults (Modbus TCP only): timeout=5%,exception=2%,garbage=1%,slow=200ms,halfopen,seed=N")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "usage: gridbox sim PROFILE --listen HOST:PORT [--unit N] [--faults SPEC]\nprofiles: %s\n", strings.Join(sim.Names(), ", "))
		return exitUsage
	}
	name := args[0]
	if c := parse(fs, args[1:]); c >= 0 {
		return c
	}
	if *unit > 247 {
		fmt.Fprintf(stderr, "gridbox sim: --unit %d: want 0..247\n", *unit)
		return exitUsage
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox:", err)
		return exitUsage
	}
	faults, err := sim.ParseFaults(*faultSpec)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox sim: --faults:", err)
		return exitUsage
	}
	var s sim.Simulator
	if faults.Any() {
		s, err = sim.StartFaulty(ctx, name, *listen, uint8(*unit), faults, log)
	} else {
		s, err = sim.Open(ctx, name, *listen, uint8(*unit), log)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gridbox sim %s: %v\n", name, err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "simulating %s on %s (Ctrl-C to stop)\n", name, s.URL())
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintln(stderr, "gridbox sim:", err)
		return exitRuntime
	}
	return exitOK
}

func cmdProfiles(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs, _ := newFlags("profiles", stderr)
	if c := parse(fs, args); c >= 0 {
		return c
	}
	sums, err := profile.Builtin().Summaries()
	if err != nil {
		fmt.Fprintln(stderr, "gridbox profiles:", err)
		return exitRuntime
	}
	profile.WriteList(stdout, sums)
	return exitOK
}
