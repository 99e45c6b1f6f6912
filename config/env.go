package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var secretRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandSecrets replaces ${NAME} in every scalar with the environment value.
func expandSecrets(n *yaml.Node, path string, env func(string) (string, bool)) []FieldError {
	var errs []FieldError
	switch n.Kind {
	case yaml.ScalarNode:
		n.Value = secretRE.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := m[2 : len(m)-1]
			v, ok := env(name)
			if !ok {
				errs = append(errs, FieldError{Line: n.Line, Path: path, Msg: fmt.Sprintf("environment variable %s is not set", name)})
			}
			return v
		})
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, expandSecrets(n.Content[i+1], joinPath(path, n.Content[i].Value), env)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, expandSecrets(c, fmt.Sprintf("%s[%d]", path, i), env)...)
		}
	}
	return errs
}

// EnvOverride is one GRIDBOX_<PATH> variable and the key path it sets.
type EnvOverride struct{ Var, Path string }

// EnvOverrides lists the environment variables that override the core
// scalar keys (site, log.*); EnvFor lists those of a section.
func EnvOverrides() []EnvOverride {
	var out []EnvOverride
	collectEnv(reflect.TypeOf(Config{}), "", &out)
	return out
}

// EnvFor lists the GRIDBOX_<SECTION>_<KEY> variables that override the
// scalar keys of a section whose config struct is sample's type.
func EnvFor(section string, sample any) []EnvOverride {
	var out []EnvOverride
	t := reflect.TypeOf(sample)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	collectEnv(t, section, &out)
	return out
}

func collectEnv(t reflect.Type, path string, out *[]EnvOverride) {
	for key, ft := range yamlFields(t) {
		p := joinPath(path, key)
		switch {
		case ft == reflect.TypeOf(Duration(0)):
			*out = append(*out, EnvOverride{envName(p), p})
		case ft.Kind() == reflect.Struct:
			collectEnv(ft, p, out)
		case ft.Kind() == reflect.String || ft.Kind() == reflect.Int || ft.Kind() == reflect.Bool:
			*out = append(*out, EnvOverride{envName(p), p})
		}
	}
}

func envName(path string) string {
	return "GRIDBOX_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(path))
}

// applyEnv sets scalar keys from GRIDBOX_* variables, creating keys as
// needed; root is the node the overrides' paths start at.
func applyEnv(root *yaml.Node, overrides []EnvOverride, env func(string) (string, bool)) []FieldError {
	for _, o := range overrides {
		v, ok := env(o.Var)
		if !ok {
			continue
		}
		setPath(root, strings.Split(o.Path, "."), v)
	}
	return nil
}

// ApplyEnv applies a section's overrides (EnvFor) to its mapping node n;
// the section's own key is the first part of every override's path.
func ApplyEnv(n *yaml.Node, overrides []EnvOverride, env func(string) (string, bool)) {
	if env == nil || n.Kind != yaml.MappingNode {
		return
	}
	for _, o := range overrides {
		if v, ok := env(o.Var); ok {
			_, rest, _ := strings.Cut(o.Path, ".")
			setPath(n, strings.Split(rest, "."), v)
		}
	}
}

func setPath(n *yaml.Node, keys []string, v string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != keys[0] {
			continue
		}
		c := n.Content[i+1]
		if len(keys) == 1 {
			*c = yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: c.Line, Column: c.Column}
			return
		}
		if c.Kind != yaml.MappingNode {
			*c = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: c.Line}
		}
		setPath(c, keys[1:], v)
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: keys[0]}
	var c *yaml.Node
	if len(keys) == 1 {
		c = &yaml.Node{Kind: yaml.ScalarNode, Value: v}
	} else {
		c = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setPath(c, keys[1:], v)
	}
	n.Content = append(n.Content, k, c)
}
