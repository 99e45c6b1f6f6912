package homematic

import (
	"fmt"
	"math"
	"strings"

	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
)

// Operation bits of a parameter description.
const (
	opRead  = 1
	opWrite = 2
	opEvent = 4
)

// param is one parameter of a channel's VALUES paramset as a datapoint.
type param struct {
	address, key, typ string
	dp                model.Datapoint
}

func validName(s string) bool { return model.ValidID(s) }

// paramName is the datapoint name of a parameter: the configured one, else
// "<address>_<key>" slugged.
func paramName(names map[string]string, address, key string) string {
	if n, ok := names[address+"/"+key]; ok {
		return n
	}
	return devstat.Slug(address + "_" + key)
}

// describe turns one parameter description into a param; channelType is
// the channel's TYPE for the description.
func describe(address, channelType, key, name string, desc map[string]any) (*param, error) {
	typ, ok := desc["TYPE"].(string)
	if !ok {
		return nil, fmt.Errorf("%s %s: TYPE is %T, want a string", address, key, desc["TYPE"])
	}
	ops, _ := desc["OPERATIONS"].(int)
	p := &param{address: address, key: key, typ: strings.ToUpper(typ)}
	m := &p.dp.Meta
	m.Kind = model.Sensor
	if ops&opWrite != 0 {
		m.Kind = model.Actuator
	}
	m.Unit, _ = desc["UNIT"].(string)
	m.Unit = strings.TrimSpace(m.Unit)
	m.Description = strings.TrimSpace(fmt.Sprintf("%s of %s %s", key, channelType, address))
	lo, loOK := model.AsFloat(desc["MIN"])
	hi, hiOK := model.AsFloat(desc["MAX"])
	switch p.typ {
	case "FLOAT", "INTEGER":
		m.Format = model.ContinuousNumeric
		if loOK && hiOK && lo <= hi {
			m.Min, m.Max = &lo, &hi
		}
	case "ENUM":
		m.Format = model.DiscreteNumeric
		if loOK && hiOK && lo <= hi && hi-lo < 256 {
			for i := lo; i <= hi; i++ {
				m.Allowed = append(m.Allowed, i)
			}
		}
		if list, ok := desc["VALUE_LIST"].([]any); ok {
			m.Description += fmt.Sprintf(" (values %v)", list)
		}
	case "BOOL", "ACTION":
		m.Format = model.Bool
	case "STRING":
		m.Format = model.GenericText
	default:
		return nil, fmt.Errorf("%s %s: unknown TYPE %q", address, key, typ)
	}
	p.dp.Name = name
	if err := p.dp.CheckMeta(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", address, key, err)
	}
	return p, nil
}

// fromCCU converts a value the CCU sent into a datapoint value.
func (p *param) fromCCU(v any) (any, error) {
	switch p.typ {
	case "FLOAT", "INTEGER", "ENUM":
		if f, ok := model.AsFloat(v); ok {
			return f, nil
		}
	case "BOOL", "ACTION":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "STRING":
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s %s: value %v is %T, want %s", p.address, p.key, model.Short(fmt.Sprint(v)), v, p.typ)
}

// toCCU converts a validated write into the paramset's type: FLOAT as a
// double, INTEGER and ENUM as an int.
func (p *param) toCCU(v any) (any, error) {
	switch p.typ {
	case "FLOAT":
		if f, ok := model.AsFloat(v); ok {
			return f, nil
		}
	case "INTEGER", "ENUM":
		if f, ok := model.AsFloat(v); ok {
			if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
				return nil, fmt.Errorf("%v: %s %s takes an integer", v, p.address, p.key)
			}
			return int(f), nil
		}
	case "BOOL", "ACTION":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "STRING":
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%v is %T: %s %s takes %s", v, v, p.address, p.key, p.typ)
}
