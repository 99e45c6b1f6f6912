// Package computed is the `computed:` section: datapoints whose values are
// expressions over other datapoints (docs/computed.md). Each computed
// device id is registered on the bus as a device of its own; a value is
// published whenever an input changes.
package computed

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Item is one computed datapoint.
type Item struct {
	Name        string `yaml:"name"` // <device>/<name> of the computed datapoint
	Expr        string `yaml:"expr"`
	Unit        string `yaml:"unit"`
	Role        string `yaml:"role"`
	Description string `yaml:"description"`
}

// Config is the `computed:` section, a list of items.
type Config struct {
	Items []Item `yaml:"items"`

	exprs []*Expression // compiled by Validate, by item
}

// Validate checks names, compiles every expression (an error names its
// line and column) and refuses a computed datapoint that depends on itself.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(i int, key, format string, args ...any) {
		errs = append(errs, config.Errf(fmt.Sprintf("items[%d].%s", i, key), format, args...))
	}
	c.exprs = make([]*Expression, len(c.Items))
	seen := map[string]int{}
	for i, it := range c.Items {
		d, n, _ := strings.Cut(it.Name, "/")
		switch j, dup := seen[it.Name]; {
		case !model.ValidID(d) || !model.ValidID(n):
			add(i, "name", "%q: want <device>/<name> (slugs)", model.Short(it.Name))
		case dup:
			add(i, "name", "%s is computed twice (also items[%d])", it.Name, j)
		}
		seen[it.Name] = i
		if strings.TrimSpace(it.Expr) == "" {
			add(i, "expr", "missing (like \"grid/ac_power + pv/ac_power\")")
			continue
		}
		e, err := Compile(it.Expr)
		if err != nil {
			add(i, "expr", "%v", err)
			continue
		}
		if len(e.Refs()) == 0 {
			add(i, "expr", "reads no datapoint: a constant is not a computed datapoint")
			continue
		}
		c.exprs[i] = e
	}
	if len(errs) == 0 {
		errs = append(errs, c.checkCycles()...)
	}
	return errs
}

// checkCycles reports a computed datapoint that reads itself, directly or
// through other computed datapoints.
func (c *Config) checkCycles() []config.FieldError {
	idx := make(map[string]int, len(c.Items))
	for i, it := range c.Items {
		idx[it.Name] = i
	}
	state := make([]int, len(c.Items)) // 0 new, 1 on the path, 2 done
	var visit func(i int, path []string) []string
	visit = func(i int, path []string) []string {
		state[i] = 1
		path = append(path, c.Items[i].Name)
		for _, r := range c.exprs[i].Refs() {
			j, ok := idx[r]
			switch {
			case !ok || state[j] == 2:
			case state[j] == 1:
				cyc := append([]string(nil), path[slices.Index(path, r):]...)
				return append(cyc, r)
			default:
				if cyc := visit(j, path); cyc != nil {
					return cyc
				}
			}
		}
		state[i] = 2
		return nil
	}
	for i := range c.Items {
		if state[i] == 0 {
			if cyc := visit(i, nil); cyc != nil {
				return []config.FieldError{config.Errf(fmt.Sprintf("items[%d].expr", idx[cyc[0]]), "reads itself: %s", strings.Join(cyc, " → "))}
			}
		}
	}
	return nil
}
