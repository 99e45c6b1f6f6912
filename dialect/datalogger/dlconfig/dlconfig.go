// Package dlconfig translates an edge datalogger's own configuration (the
// JSON it receives on d/config: devices, readings, drivers, read_interval,
// …) into gridbox's: Modbus devices whose profiles are the datalogger's
// drivers, and the datalogger dialect's vendor_ids, field_names, fields,
// read_interval and read_roundtime. Translate edits the running config
// file (the rest of it stays), so the result is checked, written and
// applied like any remote config (docs/dialect-datalogger.md).
package dlconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/model"
)

// Config is the datalogger's configuration as far as gridbox reads it.
type Config struct {
	Devices        map[string]Device          `json:"devices"`
	Readings       map[string]Reading         `json:"readings"`
	ReadInterval   *float64                   `json:"read_interval"`
	ReadRoundtime  *bool                      `json:"read_roundtime"`
	Drivers        map[string]json.RawMessage `json:"drivers"`
	Output         json.RawMessage            `json:"output"`
	StatusReadings json.RawMessage            `json:"status_readings"`
}

// Device is one entry of devices.
type Device struct {
	Driver          string   `json:"driver"`
	ReadingType     string   `json:"reading_type"`
	VendorID        string   `json:"vendor_id"`
	Enabled         *bool    `json:"enabled"`
	MinReadInterval *float64 `json:"min_read_interval"`
	Timeout         *float64 `json:"timeout"`
	Address         Address  `json:"address"`
}

// Address is a device's address.
type Address struct {
	Host           string `json:"host"`
	Port           int    `json:"port"`
	UnitID         *int   `json:"unit_id"`
	RegisterOffset int64  `json:"register_offset"`
	Device         string `json:"device"`
	Baudrate       int    `json:"baudrate"`
}

// Reading is one entry of readings: a device's driver field.
type Reading struct {
	Device string `json:"device"`
	Var    string `json:"var"`
}

// Defaults of the datalogger.
const (
	DefaultReadInterval = 60 // s
	DefaultPort         = 502
	DefaultUnit         = 1
)

// modbusTypes are the reading_type values translated to Modbus devices
// ("" decides by the address: host → TCP, device → RTU).
var modbusTypes = map[string]bool{"": true, "modbustcp": true, "modbus_tcp": true, "modbus": true,
	"modbusrtu": true, "modbus_rtu": true, "rtu": true, "serial": true}

// Known reports whether p looks like a datalogger config: a JSON object
// with readings, or with devices as an object (gridbox's are a list).
func Known(p []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(p, &top) != nil {
		return false
	}
	if _, ok := top["readings"]; ok {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(top["devices"]), []byte("{"))
}

// Result is a translation.
type Result struct {
	Devices []map[string]any  // gridbox devices, sorted by id
	Dialect map[string]any    // keys of dialects.datalogger
	Drivers map[string][]byte // driver file path → content (inline drivers)
	Notes   []string          // what was not translated, one sentence each
}

// Parse decodes a datalogger config; unknown keys are errors.
func Parse(p []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("datalogger config: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return c, nil
}

// Translate converts c. Inline drivers become driver files under
// driverDir (named by content, so a refused config never changes a file
// the running one uses); errs lists every problem.
func Translate(c Config, driverDir string) (Result, []string) {
	r := Result{Dialect: map[string]any{}, Drivers: map[string][]byte{}}
	var errs []string
	every := float64(DefaultReadInterval)
	if c.ReadInterval != nil {
		if *c.ReadInterval < 1 || *c.ReadInterval > 86400 {
			errs = append(errs, fmt.Sprintf("read_interval: %v: want 1..86400 seconds", *c.ReadInterval))
		} else {
			every = *c.ReadInterval
		}
	}
	r.Dialect["read_interval"] = seconds(every)
	if c.ReadRoundtime != nil {
		r.Dialect["read_roundtime"] = *c.ReadRoundtime
	}
	if len(c.Output) > 0 && string(c.Output) != "null" && string(c.Output) != "{}" && string(c.Output) != "[]" {
		r.Notes = append(r.Notes, "output: computed fields are not translated (define them as gridbox computed datapoints)")
	}
	if len(c.StatusReadings) > 0 && string(c.StatusReadings) != "null" && string(c.StatusReadings) != "[]" && string(c.StatusReadings) != "{}" {
		r.Notes = append(r.Notes, "status_readings: not translated (gridbox sends each device's online/offline status as _s)")
	}
	sel := selection(c.Readings, c.Devices, &errs)
	vids, names, fields := map[string]any{}, map[string]any{}, map[string]any{}
	for _, key := range sortedKeys(c.Devices) {
		d := c.Devices[key]
		if d.Enabled != nil && !*d.Enabled {
			r.Notes = append(r.Notes, fmt.Sprintf("devices.%s: disabled (enabled: false), left out", key))
			continue
		}
		if !modbusTypes[strings.ToLower(d.ReadingType)] {
			r.Notes = append(r.Notes, fmt.Sprintf("devices.%s: reading_type %q is not translated (only Modbus TCP/RTU), left out", key, d.ReadingType))
			continue
		}
		dev, derrs := device(key, d, every, c.Drivers, sel[key], driverDir, &r)
		if len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		r.Devices = append(r.Devices, dev)
		if d.VendorID != "" {
			vids[key] = d.VendorID
		}
		if s := sel[key]; len(s) > 0 {
			var list []string
			for _, rd := range s {
				dp := modbus.FieldName(rd.v)
				list = append(list, dp)
				names[key+"/"+dp] = rd.name
			}
			fields[key] = list
		}
	}
	if len(r.Devices) == 0 && len(errs) == 0 {
		errs = append(errs, "devices: no enabled Modbus device to translate")
	}
	r.Dialect["vendor_ids"], r.Dialect["field_names"], r.Dialect["fields"] = vids, names, fields
	return r, errs
}

type named struct{ name, v string }

// selection groups readings by device (sorted by reading name).
func selection(rs map[string]Reading, devs map[string]Device, errs *[]string) map[string][]named {
	out := map[string][]named{}
	for _, name := range sortedKeys(rs) {
		rd := rs[name]
		switch {
		case strings.HasPrefix(name, "_") || name == "":
			*errs = append(*errs, fmt.Sprintf("readings.%s: a reading name must not start with _ (reserved for _d, _vid, _s)", name))
		case rd.Var == "":
			*errs = append(*errs, fmt.Sprintf("readings.%s: var is required", name))
		default:
			if _, ok := devs[rd.Device]; !ok {
				*errs = append(*errs, fmt.Sprintf("readings.%s: device %q is not in devices", name, rd.Device))
				continue
			}
			out[rd.Device] = append(out[rd.Device], named{name, rd.Var})
		}
	}
	return out
}

// device translates one device.
func device(key string, d Device, every float64, drivers map[string]json.RawMessage, sel []named, dir string, r *Result) (map[string]any, []string) {
	p := "devices." + key
	var errs []string
	if !model.ValidID(key) {
		errs = append(errs, fmt.Sprintf("%s: %q is not a valid gridbox device id (letters, digits, _ and -)", p, key))
	}
	url, err := address(d)
	if err != nil {
		errs = append(errs, p+".address: "+err.Error())
	}
	if d.Driver == "" {
		errs = append(errs, p+".driver: required")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	unit := DefaultUnit
	if d.Address.UnitID != nil {
		unit = *d.Address.UnitID
	}
	interval := every
	if d.MinReadInterval != nil && *d.MinReadInterval > interval {
		interval = *d.MinReadInterval
	}
	dev := map[string]any{"id": key, "driver": "modbus", "url": url, "unit": unit, "interval": seconds(interval)}
	if d.Timeout != nil && *d.Timeout > 0 {
		dev["timeout"] = seconds(*d.Timeout)
	}
	raw, inline := drivers[d.Driver]
	if !inline {
		dev["profile"] = d.Driver // a built-in profile or a driver file
		if d.Address.RegisterOffset != 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s.address.register_offset: not applied to the named profile %q (only to inline drivers)", p, d.Driver))
		}
		return dev, nil
	}
	b, err := driverFile(raw, d.Address.RegisterOffset, sel)
	if err != nil {
		return nil, []string{fmt.Sprintf("drivers.%s: %v", d.Driver, err)}
	}
	sum := sha256.Sum256(b)
	file := filepath.Join(dir, fmt.Sprintf("%s-%s.json", d.Driver, hex.EncodeToString(sum[:4])))
	r.Drivers[file] = b
	dev["profile"] = file
	return dev, nil
}

// address is the device's Modbus URL.
func address(d Device) (string, error) {
	a := d.Address
	switch {
	case a.Host != "":
		port := a.Port
		if port == 0 {
			port = DefaultPort
		}
		if port < 1 || port > 65535 {
			return "", fmt.Errorf("port %d: want 1..65535", port)
		}
		return fmt.Sprintf("tcp://%s:%d", a.Host, port), nil
	case a.Device != "":
		baud := a.Baudrate
		if baud == 0 {
			baud = 9600
		}
		return fmt.Sprintf("rtu://%s?baud=%d", a.Device, baud), nil
	}
	return "", fmt.Errorf("want host (Modbus TCP) or device (Modbus RTU)")
}

// driverFile is an inline driver as a file: only the fields the readings
// use (all without readings), registers moved by offset.
func driverFile(raw json.RawMessage, offset int64, sel []named) ([]byte, error) {
	var drv map[string]json.RawMessage
	if err := json.Unmarshal(raw, &drv); err != nil {
		return nil, fmt.Errorf("want a JSON object (a datalogger driver): %w", err)
	}
	var fields map[string]map[string]any
	if err := json.Unmarshal(drv["fields"], &fields); err != nil && drv["fields"] != nil {
		return nil, fmt.Errorf("fields: want an object of fields: %w", err)
	}
	if len(sel) > 0 {
		keep := map[string]map[string]any{}
		for _, s := range sel {
			f, ok := fields[s.v]
			if !ok {
				return nil, fmt.Errorf("fields.%s: not in the driver (used by readings.%s)", s.v, s.name)
			}
			keep[s.v] = f
		}
		fields = keep
	}
	for _, f := range fields {
		shift(f, offset)
	}
	var common map[string]any
	if drv["common"] != nil {
		if err := json.Unmarshal(drv["common"], &common); err != nil {
			return nil, fmt.Errorf("common: want an object: %w", err)
		}
		shift(common, offset)
	}
	out := map[string]any{}
	for k, v := range drv {
		out[k] = v
	}
	out["fields"] = fields
	if common != nil {
		out["common"] = common
	}
	return json.MarshalIndent(out, "", "  ")
}

func shift(f map[string]any, offset int64) {
	if r, ok := f["register"].(float64); ok && offset != 0 {
		f["register"] = r + float64(offset)
	}
}

// WriteDrivers writes the driver files (atomically, each once).
func WriteDrivers(files map[string][]byte) error {
	for path, b := range files {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("driver directory: %w", err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return fmt.Errorf("driver file: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("driver file: %w", err)
		}
	}
	return nil
}

func seconds(s float64) string { return time.Duration(s * float64(time.Second)).String() }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
