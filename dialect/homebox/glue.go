package homebox

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/computed"
	"github.com/gridbox/gridbox/model"
)

// Mapping is the home box's glue mapping file.
type Mapping struct {
	Ingredients map[string]Ingredient `json:"ingredients"`
	Recipes     map[string]Recipe     `json:"recipes"`
}

// Ingredient is an input topic (wildcards allowed), optionally a field of
// its JSON payload.
type Ingredient struct {
	FriendlyName string  `json:"friendly_name"`
	TopicIn      string  `json:"topic_in"`
	JSONTemplate *string `json:"json_template"`
}

// Recipe computes one output from ingredients.
type Recipe struct {
	FriendlyName string   `json:"friendly_name"`
	TopicOut     string   `json:"topic_out"`
	Recipe       string   `json:"recipe"`
	Entity       string   `json:"entity"`
	Channel      string   `json:"channel"`
	Unit         string   `json:"unit"`
	MetricKind   string   `json:"metricKind"`
	Metric       string   `json:"metric"`
	IgnoreAfter  *float64 `json:"ignore_after"`
	Ignore       bool     `json:"ignore"`
}

// glue is a loaded mapping, ready to run.
type glue struct {
	ingredients map[string]*ingredient
	recipes     []*recipe // by name
}

type ingredient struct {
	name   string
	filter string
	path   []string // into the JSON payload; nil: the payload is the value
}

type recipe struct {
	name string
	Recipe
	expr *computed.Expression
	uses []string // ingredient names
	dp   model.Datapoint
}

var (
	refRE      = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)
	templateRE = regexp.MustCompile(`^\{\{\s*value_json((?:\.[A-Za-z0-9_]+|\[\s*'[^']*'\s*\]|\[\s*"[^"]*"\s*\]|\[\d+\])+)\s*\}\}$`)
	stepRE     = regexp.MustCompile(`\.([A-Za-z0-9_]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|\[(\d+)\]`)
)

// LoadMapping reads and checks a glue mapping file.
func LoadMapping(path string) (*glue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("glue mapping: %w", err)
	}
	var m Mapping
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("glue mapping %s: %w", path, err)
	}
	g, err := compile(m)
	if err != nil {
		return nil, fmt.Errorf("glue mapping %s: %w", path, err)
	}
	return g, nil
}

func compile(m Mapping) (*glue, error) {
	g := &glue{ingredients: map[string]*ingredient{}}
	for name, in := range m.Ingredients {
		if err := checkFilter(in.TopicIn); err != nil {
			return nil, fmt.Errorf("ingredients.%s.topic_in: %w", name, err)
		}
		ing := &ingredient{name: name, filter: in.TopicIn}
		if in.JSONTemplate != nil && strings.TrimSpace(*in.JSONTemplate) != "" {
			p, err := jsonPath(*in.JSONTemplate)
			if err != nil {
				return nil, fmt.Errorf("ingredients.%s.json_template: %w", name, err)
			}
			ing.path = p
		}
		g.ingredients[name] = ing
	}
	names := make([]string, 0, len(m.Recipes))
	for n := range m.Recipes {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]string{}
	for _, name := range names {
		r, err := compileRecipe(name, m.Recipes[name], g.ingredients)
		if err != nil {
			return nil, fmt.Errorf("recipes.%s.%w", name, err)
		}
		if r == nil {
			continue
		}
		if other, dup := seen[r.dp.Key()]; dup {
			return nil, fmt.Errorf("recipes.%s: entity/channel %s/%s is also recipe %s", name, r.Entity, r.Channel, other)
		}
		seen[r.dp.Key()] = name
		g.recipes = append(g.recipes, r)
	}
	return g, nil
}

func compileRecipe(name string, rc Recipe, ings map[string]*ingredient) (*recipe, error) {
	if rc.Ignore {
		return nil, nil
	}
	if rc.Entity == "" || rc.Channel == "" {
		e, c, ok := fromTopic(rc.TopicOut)
		if !ok {
			return nil, fmt.Errorf("entity: missing, and topic_out %q is not data/devices/<entity>/<channel>", rc.TopicOut)
		}
		rc.Entity, rc.Channel = e, c
	}
	if rc.TopicOut == "" {
		rc.TopicOut = "data/devices/" + rc.Entity + "/" + rc.Channel
	}
	if strings.ContainsAny(rc.TopicOut, "+#") {
		return nil, fmt.Errorf("topic_out: %q has wildcards", rc.TopicOut)
	}
	if rc.MetricKind != "" && !slices.Contains(model.MetricKinds(), rc.MetricKind) {
		return nil, fmt.Errorf("metricKind: %q: want one of %v", rc.MetricKind, model.MetricKinds())
	}
	r := &recipe{name: name, Recipe: rc}
	src := refRE.ReplaceAllStringFunc(rc.Recipe, func(s string) string {
		n := refRE.FindStringSubmatch(s)[1]
		if !slices.Contains(r.uses, n) {
			r.uses = append(r.uses, n)
		}
		return `dp("in/` + n + `")`
	})
	for _, u := range r.uses {
		if _, ok := ings[u]; !ok {
			return nil, fmt.Errorf("recipe: %q names no ingredient %q", rc.Recipe, u)
		}
	}
	if len(r.uses) == 0 {
		return nil, fmt.Errorf("recipe: %q uses no ingredient (like {{total_consumption}})", rc.Recipe)
	}
	e, err := computed.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("recipe: %q: %w", rc.Recipe, err)
	}
	r.expr = e
	dev, point := slug(rc.Entity), slug(rc.Channel)
	if dev == "" || point == "" {
		return nil, fmt.Errorf("entity: %q/%q give no device id and datapoint name", rc.Entity, rc.Channel)
	}
	r.dp = model.Datapoint{Device: dev, Name: point, Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric,
		Unit: rc.Unit, Description: rc.FriendlyName, MetricKind: rc.MetricKind}}
	return r, nil
}

// fromTopic splits data/devices/<entity>/<channel>.
func fromTopic(t string) (string, string, bool) {
	rest, ok := strings.CutPrefix(t, "data/devices/")
	e, c, ok2 := strings.Cut(rest, "/")
	return e, c, ok && ok2 && e != "" && c != "" && !strings.Contains(c, "/")
}

// jsonPath parses a json_template like {{ value_json.total }} or
// {{ value_json['emeter']['total'] }}.
func jsonPath(t string) ([]string, error) {
	m := templateRE.FindStringSubmatch(strings.TrimSpace(t))
	if m == nil {
		return nil, fmt.Errorf("%q: want {{ value_json.<field> }} (dots, ['key'] or [index])", t)
	}
	var p []string
	for _, s := range stepRE.FindAllStringSubmatch(m[1], -1) {
		for _, part := range s[1:] {
			if part != "" {
				p = append(p, part)
				break
			}
		}
	}
	return p, nil
}

// extract reads an ingredient's number from a payload.
func (in *ingredient) extract(payload []byte) (float64, error) {
	s := strings.TrimSpace(string(payload))
	if in.path == nil {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return 0, fmt.Errorf("not a number or JSON: %.40q", s)
	}
	for _, step := range in.path {
		switch x := v.(type) {
		case map[string]any:
			v = x[step]
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(x) {
				return 0, fmt.Errorf("no element %s", step)
			}
			v = x[i]
		default:
			return 0, fmt.Errorf("no field %s", step)
		}
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case bool:
		return map[bool]float64{true: 1, false: 0}[x], nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

func checkFilter(f string) error {
	if f == "" {
		return fmt.Errorf("missing")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if (strings.Contains(l, "+") && l != "+") || (strings.Contains(l, "#") && (l != "#" || i != len(levels)-1)) {
			return fmt.Errorf("%q: + and # must be whole levels, # the last", f)
		}
	}
	return nil
}

// match reports whether topic matches an MQTT filter.
func match(filter, topic string) bool {
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fl {
		if f == "#" {
			return true
		}
		if i >= len(tl) || (f != "+" && f != tl[i]) {
			return false
		}
	}
	return len(fl) == len(tl)
}

// slug makes an id of a home box name: lower case, other characters _.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), "_-")
	if !model.ValidID(out) {
		return ""
	}
	return out
}
