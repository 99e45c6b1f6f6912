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
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "usage: gridbox sim PROFILE --listen HOST:PORT [--unit N]\nprofiles: %s\n", strings.Join(sim.Names(), ", "))
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
	s, err := sim.Open(ctx, name, *listen, uint8(*unit), log)
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
