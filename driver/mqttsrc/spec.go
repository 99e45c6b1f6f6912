package mqttsrc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
)

// spec is a compiled Point.
type spec struct {
	Point
	filter []string // topic levels
	wild   bool
	path   []string
}

// compile checks the points and fills their defaults (topic, kind).
func compile(points []Point, topic, key string) ([]*spec, []config.FieldError) {
	var out []*spec
	var errs []config.FieldError
	names := map[string]bool{}
	for i, p := range points {
		at := fmt.Sprintf("%s[%d]", key, i)
		add := func(field, format string, args ...any) {
			errs = append(errs, config.Errf(at+field, format, args...))
		}
		if p.Topic == "" {
			p.Topic = topic
		}
		if p.Kind == "" {
			p.Kind = model.Sensor
		}
		s := &spec{Point: p}
		if p.Topic == "" {
			add(".topic", "missing: set it here or the device's topic")
			continue
		}
		if err := checkFilter(p.Topic); err != nil {
			add(".topic", "%v", err)
			continue
		}
		s.filter = strings.Split(p.Topic, "/")
		s.wild = strings.ContainsAny(p.Topic, "+#")
		if p.Path != "" {
			s.path = strings.Split(p.Path, ".")
		}
		switch {
		case !s.wild && p.Name == "":
			add(".name", "missing (only a topic with wildcards names its datapoints itself)")
		case p.Name != "" && !model.ValidID(p.Name):
			add(".name", "%q is not a slug ([a-z0-9][a-z0-9_-]*)", p.Name)
		case !s.wild && names[p.Name]:
			add(".name", "%q given twice", p.Name)
		}
		names[p.Name] = true
		if p.Kind == model.Actuator && (s.wild || p.WriteTopic == "") {
			add(".write_topic", "an actuator needs a write_topic and a topic without wildcards")
		}
		if p.WriteTopic != "" && strings.ContainsAny(p.WriteTopic, "+#") {
			add(".write_topic", "%q: no wildcards in a topic to publish to", p.WriteTopic)
		}
		if !s.wild {
			dp := s.datapoint(p.Name, p.Format)
			if err := dp.CheckMeta(); err != nil {
				add("", "%v", err)
			}
		}
		out = append(out, s)
	}
	return out, errs
}

// datapoint is the datapoint of name with the spec's metadata; format is
// the configured one, else continuous_numeric (or the inferred one).
func (s *spec) datapoint(name string, format model.Format) model.Datapoint {
	m := s.Meta
	if m.Format == "" {
		m.Format = format
		if m.Format == "" {
			m.Format = model.ContinuousNumeric
		}
	}
	return model.Datapoint{Name: name, Meta: m}
}

// match returns the topic levels the filter's wildcards matched.
func (s *spec) match(topic string) ([]string, bool) {
	levels := strings.Split(topic, "/")
	var got []string
	for i, f := range s.filter {
		switch {
		case f == "#":
			return append(got, levels[i:]...), true
		case i >= len(levels):
			return nil, false
		case f == "+":
			got = append(got, levels[i])
		case f != levels[i]:
			return nil, false
		}
	}
	return got, len(levels) == len(s.filter)
}

// name is the datapoint name of a topic the spec matched.
func (s *spec) name(matched []string) string {
	if !s.wild {
		return s.Name
	}
	parts := matched
	if s.Name != "" {
		parts = append([]string{s.Name}, matched...)
	}
	return devstat.Slug(strings.Join(parts, "_"))
}

// flatten lists the leaves of a JSON value as (suffix, value): nested keys
// joined with "__", array items by index.
func flatten(prefix string, v any, out map[string]any, depth int) {
	if depth > 16 {
		return
	}
	join := func(k string) string {
		if prefix == "" {
			return devstat.Slug(k)
		}
		return prefix + "__" + devstat.Slug(k)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(join(k), e, out, depth+1)
		}
	case []any:
		for i, e := range x {
			flatten(join(strconv.Itoa(i)), e, out, depth+1)
		}
	default:
		out[prefix] = v
	}
}
