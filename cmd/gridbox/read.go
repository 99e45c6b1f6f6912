package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/httpdrv"
	"github.com/gridbox/gridbox/driver/keba"
	"github.com/gridbox/gridbox/driver/knx"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/driver/socket"
	"github.com/gridbox/gridbox/driver/sunspec"
	"github.com/gridbox/gridbox/profile"
)

// readDriver is a driver `gridbox read` can read with.
type readDriver struct {
	name    string
	schemes []string // the URL schemes it reads
	open    func() driver.OneShot
	syntax  string // its URL and SPEC forms, for the usage text
	// discovers is set for drivers that find their points themselves
	// (SunSpec): a read without SPECs or --profile is then not an error.
	discovers bool
}

// readDrivers are the drivers of `gridbox read`, picked by the URL's scheme.
// A driver that implements driver.OneShot is added by one line.
var readDrivers = []readDriver{
	{name: "modbus", schemes: []string{"tcp", "udp", "rtu", "rtuovertcp", "rtuoverudp"}, open: modbus.OneShot, syntax: modbus.SpecSyntax},
	{name: "knx", schemes: []string{"udp"}, open: knx.OneShot, syntax: knx.SpecSyntax},
	{name: "sunspec", schemes: []string{"tcp", "rtuovertcp"}, open: sunspec.OneShot, syntax: sunspec.SpecSyntax, discovers: true},
	{name: "http", schemes: []string{"http", "https"}, open: httpdrv.OneShot, syntax: httpdrv.SpecSyntax},
	{name: "socket", schemes: []string{"tcp"}, open: socket.OneShot, syntax: socket.SpecSyntax},
	{name: "keba", schemes: []string{"udp"}, open: keba.OneShot, syntax: keba.SpecSyntax, discovers: true},
}

func cmdRead(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return readCommand{readDrivers, profile.Builtin()}.run(ctx, args, stdout, stderr)
}

// readCommand is `gridbox read` over a driver table and a profile source.
type readCommand struct {
	drivers  []readDriver
	profiles driver.ProfileSource
}

// readArgs are the parsed arguments of `gridbox read`.
type readArgs struct {
	url     string
	driver  string // --driver; "" picks by the URL's scheme
	json    bool   // --json: one JSON document instead of lines
	unit    *int
	timeout time.Duration
	profile string
	specs   []string
}

// errReadHelp is parseReadArgs' answer to -h or --help.
var errReadHelp = errors.New("help requested")

// run reads once and prints a line per reading: exit 0 if every read
// succeeded, 1 if one failed, 2 for a mistake in the command line.
func (c readCommand) run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := c.usage()
	a, err := parseReadArgs(args, usage)
	switch {
	case errors.Is(err, errReadHelp):
		fmt.Fprintln(stdout, usage)
		return exitOK
	case err != nil:
		fmt.Fprintln(stderr, "gridbox read:", err)
		return exitUsage
	}
	d, err := c.driverFor(a.driver, a.url)
	if err != nil {
		fmt.Fprintln(stderr, "gridbox read:", err)
		return exitUsage
	}
	if len(a.specs) == 0 && a.profile == "" && !d.discovers {
		fmt.Fprintf(stderr, "gridbox read: nothing to read: give SPECs or --profile\n%s\n", usage)
		return exitUsage
	}
	readings, err := d.open().ReadOnce(ctx, driver.ReadRequest{
		URL: a.url, Specs: a.specs, Profile: a.profile, Profiles: c.profiles, Unit: a.unit, Timeout: a.timeout,
	})
	if err != nil {
		fmt.Fprintln(stderr, "gridbox read:", err)
		return exitUsage
	}
	total, failed := 0, 0
	var all []driver.Reading
	for r := range readings {
		total++
		if r.Err != nil {
			failed++
		}
		if a.json {
			all = append(all, r)
			continue
		}
		printReading(stdout, r)
	}
	if a.json {
		printJSON(stdout, d.name, a.url, all)
	}
	switch {
	case failed > 0 && ctx.Err() != nil:
		fmt.Fprintln(stderr, "gridbox read:", ctx.Err())
		return exitRuntime
	case failed > 0:
		fmt.Fprintf(stderr, "gridbox read: %d of %d reads failed\n", failed, total)
		return exitRuntime
	}
	return exitOK
}

// usage is the help text, with each driver's URL and SPEC forms.
func (c readCommand) usage() string {
	var b strings.Builder
	b.WriteString(`usage: gridbox read [--driver NAME] URL [--unit N] [--timeout 1s] [--profile NAME] [--json] SPEC...
  Reads each SPEC, or every datapoint of a profile, once from the device at URL and prints
  what the device answered and the decoded value. --driver picks the driver; without it
  the URL's scheme does (the first driver below that reads the scheme).
  --driver NAME   the driver to read with (names below)
  --json          print one JSON document {"driver", "url", "readings": [...]} instead of lines
  --unit N        the device's address behind URL (Modbus unit id 0..255)
  --timeout D     per request (default 1s)
  --profile NAME  reads and prints every datapoint of a profile (built-in name or file)`)
	for _, d := range c.drivers {
		fmt.Fprintf(&b, "\n\n%s (%s):\n%s", d.name, strings.Join(d.schemes, ", "), d.syntax)
	}
	return b.String()
}

// driverFor picks the driver by name, or by the URL's scheme when name is "".
func (c readCommand) driverFor(name, url string) (readDriver, error) {
	if name != "" {
		var names []string
		for _, d := range c.drivers {
			if d.name == name {
				return d, nil
			}
			names = append(names, d.name)
		}
		return readDriver{}, fmt.Errorf("--driver %q is not a driver gridbox read knows (known: %s)", name, strings.Join(names, ", "))
	}
	scheme, _, ok := strings.Cut(url, "://")
	var known []string
	for _, d := range c.drivers {
		if ok && slices.Contains(d.schemes, scheme) {
			return d, nil
		}
		known = append(known, fmt.Sprintf("%s for %s", strings.Join(d.schemes, ", "), d.name))
	}
	if !ok {
		return readDriver{}, fmt.Errorf("url %q has no scheme (known: %s)", url, strings.Join(known, "; "))
	}
	return readDriver{}, fmt.Errorf("url %q: unknown scheme %q (known: %s)", url, scheme, strings.Join(known, "; "))
}

// parseReadArgs parses URL, SPECs and flags in any order.
func parseReadArgs(args []string, usage string) (readArgs, error) {
	a := readArgs{timeout: time.Second}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			if a.url == "" {
				a.url = arg
			} else {
				a.specs = append(a.specs, arg)
			}
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name == "h" || name == "help" {
			return a, errReadHelp
		}
		if name == "json" {
			if hasVal {
				return a, fmt.Errorf("--json takes no value\n%s", usage)
			}
			a.json = true
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return a, fmt.Errorf("flag %s needs a value\n%s", arg, usage)
			}
			i++
			val = args[i]
		}
		if err := a.setFlag(name, val, usage); err != nil {
			return a, err
		}
	}
	switch {
	case a.url == "":
		return a, fmt.Errorf("missing URL\n%s", usage)
	}
	return a, nil
}

func (a *readArgs) setFlag(name, val, usage string) error {
	switch name {
	case "unit":
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > 255 {
			return fmt.Errorf("--unit %q is not 0..255", val)
		}
		a.unit = &n
	case "timeout":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("--timeout %q is not a positive duration (like 500ms)", val)
		}
		a.timeout = d
	case "profile":
		a.profile = val
	case "driver":
		a.driver = val
	default:
		return fmt.Errorf("unknown flag --%s\n%s", name, usage)
	}
	return nil
}

// printReading prints one reading like mbpoll: name, what the device
// answered, and the value or the error.
func printReading(w io.Writer, r driver.Reading) {
	raw := r.Raw
	if raw != "" {
		raw += "  "
	}
	switch {
	case r.Err == nil:
		fmt.Fprintf(w, "%-32s %s= %s%s\n", r.Name, raw, formatValue(r.Value), unitSuffix(r.Unit))
	case r.Raw == "":
		fmt.Fprintf(w, "%-32s ERROR %v\n", r.Name, r.Err)
	default:
		fmt.Fprintf(w, "%-32s %sdecode error: %v\n", r.Name, raw, r.Err)
	}
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

// jsonReading is one reading of `gridbox read --json`.
type jsonReading struct {
	Name  string `json:"name"`
	Raw   string `json:"raw,omitempty"`
	Value any    `json:"value"`
	Unit  string `json:"unit,omitempty"`
	Error string `json:"error,omitempty"`
}

// printJSON prints the readings as one indented JSON document.
func printJSON(w io.Writer, driverName, url string, rs []driver.Reading) {
	doc := struct {
		Driver   string        `json:"driver"`
		URL      string        `json:"url"`
		Readings []jsonReading `json:"readings"`
	}{driverName, url, make([]jsonReading, 0, len(rs))}
	for _, r := range rs {
		jr := jsonReading{Name: r.Name, Raw: r.Raw, Value: r.Value, Unit: r.Unit}
		if r.Err != nil {
			jr.Error = r.Err.Error()
		}
		doc.Readings = append(doc.Readings, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}
