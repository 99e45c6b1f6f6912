// Package loadmanagement is EV load management: every cycle it reads the
// site meter per phase and the chargers, and distributes the available
// current — the site maximum per phase minus the other load, times the
// max_total_cur_prc percentage — among the active chargers (docs/loadmanagement.md).
package loadmanagement

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Modes of distribution.
const (
	ModeEqual    = "equal"    // every active charger gets the same current
	ModePriority = "priority" // higher priority first, each up to its maximum
	ModePV       = "pv"       // equal, from the PV surplus only
	ModePrice    = "price"    // equal, while the price is below the limit
)

// Modes lists the modes, the allowed values of the `mode` input.
func Modes() []string { return []string{ModeEqual, ModePriority, ModePV, ModePrice} }

// Defaults.
const (
	DefaultInterval          = time.Second
	DefaultVoltage           = 230.0
	DefaultMinCurrent        = 6.0
	DefaultMaxCurrent        = 32.0
	DefaultHysteresis        = 2.0
	DefaultMinSwitchInterval = 5 * time.Minute
	DefaultStartSurplus      = 1400.0
	DefaultStartDelay        = time.Minute
	DefaultStopDelay         = 5 * time.Minute
	DefaultRaiseDelay        = 3 * time.Second
)

// Config is the `loadmanagement:` section.
type Config struct {
	Interval          config.Duration `yaml:"interval"`
	SiteMaxCurrent    float64         `yaml:"site_max_current"`  // A per phase
	Meter             string          `yaml:"meter"`             // device; "" = the device with role grid_power
	Currents          []string        `yaml:"currents"`          // instead of meter: three "<device>/<name>", L1..L3
	GridPower         string          `yaml:"grid_power"`        // for pv: "<device>/<name>"; "" = the role grid_power datapoint
	Voltage           float64         `yaml:"voltage"`           // V per phase, for W ↔ A
	Mode              string          `yaml:"mode"`              // start mode
	MaxTotalCurPrc    float64         `yaml:"max_total_cur_prc"` // start value of the input, %
	Chargers          []Charger       `yaml:"chargers"`          // empty: every device with max_current and enabled
	PV                PV              `yaml:"pv"`
	Price             Price           `yaml:"price"`
	SafeCurrent       *float64        `yaml:"safe_current"` // when the meter is stale; nil = each charger's minimum; 0 = off
	Hysteresis        float64         `yaml:"hysteresis"`   // A, for 1 → 3 phase switching
	MinSwitchInterval config.Duration `yaml:"min_switch_interval"`
	RaiseDelay        config.Duration `yaml:"raise_delay"`      // a higher allocation waits this long; lower ones apply at once
	Defaults          ChargerDefaults `yaml:"charger_defaults"` // for discovered chargers
}

// Charger is one managed charger.
type Charger struct {
	Device       string  `yaml:"device"`
	Priority     float64 `yaml:"priority"`    // higher first; start value of the <device>_priority input
	MinCurrent   float64 `yaml:"min_current"` // A; below it the charger is set to 0
	MaxCurrent   float64 `yaml:"max_current"` // A
	Phases       int     `yaml:"phases"`      // 1 or 3: the phases it charges on (start value when switch_phases is set)
	Phase        int     `yaml:"phase"`       // 1..3: the phase a 1-phase charge uses
	SwitchPhases string  `yaml:"switch_phases"`
}

// ChargerDefaults are the settings of discovered chargers (and the defaults of listed ones).
type ChargerDefaults struct {
	MinCurrent float64 `yaml:"min_current"`
	MaxCurrent float64 `yaml:"max_current"`
	Phases     int     `yaml:"phases"`
}

// PV configures mode pv: surplus thresholds in W and their delays.
type PV struct {
	StartSurplus float64         `yaml:"start_surplus"`
	StopSurplus  float64         `yaml:"stop_surplus"`
	StartDelay   config.Duration `yaml:"start_delay"`
	StopDelay    config.Duration `yaml:"stop_delay"`
}

// Price configures mode price.
type Price struct {
	Datapoint string  `yaml:"datapoint"`
	Limit     float64 `yaml:"limit"`
}

// NewConfig returns the section with its defaults.
func NewConfig() *Config {
	return &Config{Interval: config.Duration(DefaultInterval), Voltage: DefaultVoltage, Mode: ModeEqual,
		MaxTotalCurPrc: 100, Hysteresis: DefaultHysteresis, MinSwitchInterval: config.Duration(DefaultMinSwitchInterval),
		RaiseDelay: config.Duration(DefaultRaiseDelay),
		PV:         PV{StartSurplus: DefaultStartSurplus, StartDelay: config.Duration(DefaultStartDelay), StopDelay: config.Duration(DefaultStopDelay)},
		Defaults:   ChargerDefaults{MinCurrent: DefaultMinCurrent, MaxCurrent: DefaultMaxCurrent, Phases: 3}}
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if c.Interval.D() < 10*time.Millisecond {
		add("interval", "%v: want at least 10ms", c.Interval.D())
	}
	if c.SiteMaxCurrent <= 0 {
		add("site_max_current", "%v: want the site's maximum current per phase in A (more than 0)", c.SiteMaxCurrent)
	}
	if c.Meter != "" && !model.ValidID(c.Meter) {
		add("meter", "%q: want a device id", model.Short(c.Meter))
	}
	if c.Meter != "" && len(c.Currents) > 0 {
		add("currents", "set meter or currents, not both")
	}
	if len(c.Currents) != 0 && len(c.Currents) != 3 {
		add("currents", "want three datapoints (L1, L2, L3), got %d", len(c.Currents))
	}
	for i, k := range c.Currents {
		checkKey(add, fmt.Sprintf("currents[%d]", i), k)
	}
	if c.GridPower != "" {
		checkKey(add, "grid_power", c.GridPower)
	}
	if c.Voltage <= 0 {
		add("voltage", "%v: want more than 0 V", c.Voltage)
	}
	if !validMode(c.Mode) {
		add("mode", "%q: want one of %s", model.Short(c.Mode), strings.Join(Modes(), ", "))
	}
	if c.MaxTotalCurPrc < 0 || c.MaxTotalCurPrc > 100 {
		add("max_total_cur_prc", "%v: want 0…100 %%", c.MaxTotalCurPrc)
	}
	if c.SafeCurrent != nil && *c.SafeCurrent < 0 {
		add("safe_current", "%v: want 0 (off) or a current in A", *c.SafeCurrent)
	}
	if c.Hysteresis < 0 {
		add("hysteresis", "%v: want 0 A or more", c.Hysteresis)
	}
	if c.MinSwitchInterval.D() < 0 {
		add("min_switch_interval", "%v: want 0 or more", c.MinSwitchInterval.D())
	}
	if c.RaiseDelay.D() < 0 {
		add("raise_delay", "%v: want 0 or more", c.RaiseDelay.D())
	}
	errs = append(errs, c.validatePV()...)
	if c.Mode == ModePrice && c.Price.Datapoint == "" {
		add("price.datapoint", "mode price needs the price datapoint")
	}
	if c.Price.Datapoint != "" {
		checkKey(add, "price.datapoint", c.Price.Datapoint)
	}
	errs = append(errs, checkLimits("charger_defaults", c.Defaults.MinCurrent, c.Defaults.MaxCurrent, c.Defaults.Phases, 1)...)
	seen := map[string]int{}
	for i, ch := range c.Chargers {
		p := fmt.Sprintf("chargers[%d]", i)
		if !model.ValidID(ch.Device) {
			add(p+".device", "%q: want a device id", model.Short(ch.Device))
		}
		if j, dup := seen[ch.Device]; dup {
			add(p+".device", "%s is listed twice (also chargers[%d])", ch.Device, j)
		}
		seen[ch.Device] = i
		if ch.Priority < 0 || ch.Priority > 100 {
			add(p+".priority", "%v: want 0…100", ch.Priority)
		}
		if ch.SwitchPhases != "" {
			checkKey(add, p+".switch_phases", ch.SwitchPhases)
		}
		errs = append(errs, checkLimits(p, ch.MinCurrent, ch.MaxCurrent, ch.Phases, ch.Phase)...)
	}
	return errs
}

func (c *Config) validatePV() []config.FieldError {
	var errs []config.FieldError
	if c.PV.StopSurplus > c.PV.StartSurplus {
		errs = append(errs, config.Errf("pv.stop_surplus", "%v W is above start_surplus %v W", c.PV.StopSurplus, c.PV.StartSurplus))
	}
	if c.PV.StartDelay.D() < 0 || c.PV.StopDelay.D() < 0 {
		errs = append(errs, config.Errf("pv", "delays must be 0 or more"))
	}
	return errs
}

// checkLimits checks a charger's currents and phases (0 = the default).
func checkLimits(p string, minA, maxA float64, phases, phase int) []config.FieldError {
	var errs []config.FieldError
	if minA < 0 || maxA < 0 || (maxA > 0 && minA > maxA) {
		errs = append(errs, config.Errf(p+".min_current", "%v…%v A: want 0 < min_current ≤ max_current", minA, maxA))
	}
	if phases != 0 && phases != 1 && phases != 3 {
		errs = append(errs, config.Errf(p+".phases", "%d: want 1 or 3", phases))
	}
	if phase < 0 || phase > 3 {
		errs = append(errs, config.Errf(p+".phase", "%d: want 1, 2 or 3", phase))
	}
	return errs
}

func checkKey(add func(string, string, ...any), path, key string) {
	d, n, _ := strings.Cut(key, "/")
	if !model.ValidID(d) || !model.ValidID(n) {
		add(path, "%q: want <device>/<name>", model.Short(key))
	}
}

func validMode(m string) bool {
	for _, v := range Modes() {
		if m == v {
			return true
		}
	}
	return false
}

// resolve fills a listed charger's unset fields from the defaults.
func (d ChargerDefaults) resolve(ch Charger) Charger {
	if ch.MinCurrent == 0 {
		ch.MinCurrent = d.MinCurrent
	}
	if ch.MaxCurrent == 0 {
		ch.MaxCurrent = d.MaxCurrent
	}
	if ch.Phases == 0 {
		ch.Phases = d.Phases
	}
	if ch.Phase == 0 {
		ch.Phase = 1
	}
	return ch
}
