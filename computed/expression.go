package computed

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Expression is a compiled expression over datapoints.
type Expression struct {
	prog *vm.Program
	vars map[string]string // expr variable → datapoint key "<device>/<name>"
	refs []string          // datapoint keys, in order of appearance, once each
}

// shortRef is the short form of a reference: device/name without spaces,
// both parts of letters, digits and _ (a name with - needs dp("…")).
var shortRef = regexp.MustCompile(`^[a-z_][a-z0-9_]*/[a-z_][a-z0-9_]*`)

// Compile compiles an expression (docs/computed.md). References are
// written device/name or dp("device/name"). An error names line and column
// (1-based, counted in characters) of the problem in src.
func Compile(src string) (*Expression, error) {
	text, vars := rewrite(src)
	e := &Expression{vars: vars}
	tree, err := parser.Parse(text)
	if err != nil {
		return nil, e.posError(src, err)
	}
	calls := &dpCalls{vars: vars}
	ast.Walk(&tree.Node, calls)
	if calls.err != nil {
		return nil, e.posError(src, calls.err)
	}
	env := make(map[string]any, len(vars))
	for v := range vars {
		env[v] = 0.0
	}
	prog, err := expr.Compile(text, expr.Env(env), expr.AsFloat64(), expr.Patch(calls))
	if err != nil {
		return nil, e.posError(src, err)
	}
	e.prog = prog
	e.refs = keys(vars)
	return e, nil
}

// Refs lists the datapoints the expression reads.
func (e *Expression) Refs() []string { return e.refs }

// Eval evaluates the expression with the values of its datapoints by key.
func (e *Expression) Eval(vals map[string]float64) (float64, error) {
	env := make(map[string]any, len(e.vars))
	for v, key := range e.vars {
		env[v] = vals[key]
	}
	out, err := expr.Run(e.prog, env)
	if err != nil {
		return 0, fmt.Errorf("evaluate: %w", err)
	}
	f, ok := out.(float64)
	if !ok {
		return 0, fmt.Errorf("evaluate: result %v is not a number", out)
	}
	return f, nil
}

// rewrite replaces each short reference outside string literals by an
// identifier of the same length (the / becomes Q, which no slug holds), so
// positions in errors stay those of src.
func rewrite(src string) (string, map[string]string) {
	vars := map[string]string{}
	b := []byte(src)
	var quote byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case i > 0 && isIdent(b[i-1]):
		default:
			m := shortRef.Find(b[i:])
			if m == nil {
				continue
			}
			key := string(m)
			v := strings.Replace(key, "/", "Q", 1)
			vars[v] = key
			copy(b[i:], v)
			i += len(m) - 1
		}
	}
	return string(b), vars
}

func isIdent(c byte) bool {
	return c == '_' || c == '.' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// dpCalls finds dp("device/name") calls (Visit, before compiling) and
// replaces them by variables (as an expr patch).
type dpCalls struct {
	vars map[string]string
	err  error
}

// Visit implements ast.Visitor.
func (d *dpCalls) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); !ok || id.Value != "dp" {
		return
	}
	s, ok := argString(call)
	if !ok {
		if d.err == nil {
			d.err = &file.Error{Location: call.Location(), Message: `dp takes one datapoint in quotes, like dp("cp-001/ac_power")`}
		}
		return
	}
	v := d.varFor(s)
	ast.Patch(node, &ast.IdentifierNode{Value: v})
}

func argString(call *ast.CallNode) (string, bool) {
	if len(call.Arguments) != 1 {
		return "", false
	}
	s, ok := call.Arguments[0].(*ast.StringNode)
	if !ok {
		return "", false
	}
	dev, name, found := strings.Cut(s.Value, "/")
	return s.Value, found && slug.MatchString(dev) && slug.MatchString(name)
}

var slug = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// varFor returns the variable of a dp reference, made on first use.
func (d *dpCalls) varFor(key string) string {
	for v, k := range d.vars {
		if k == key && strings.HasPrefix(v, "Q") {
			return v
		}
	}
	v := fmt.Sprintf("Q%d", len(d.vars))
	d.vars[v] = key
	return v
}

// keys lists the datapoint keys of vars once each, sorted.
func keys(vars map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range vars {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// posError turns an expr error into "line L, column C: message" with the
// references written as in src.
func (e *Expression) posError(src string, err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		if strings.HasPrefix(err.Error(), "expected float64") {
			return fmt.Errorf("the result must be a number: %w", err)
		}
		return err
	}
	fe.Bind(file.NewSource(src))
	msg := fe.Message
	for v, k := range e.vars {
		msg = replaceWord(msg, v, k)
	}
	if strings.HasPrefix(msg, "unknown name") {
		msg += ` (a reference is device/name; one with - in it is written dp("device/name"))`
	}
	return fmt.Errorf("line %d, column %d: %s", fe.Line, fe.Column+1, msg)
}

// replaceWord replaces whole-word occurrences of old in s.
func replaceWord(s, old, repl string) string {
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(old) + `\b`)
	return re.ReplaceAllLiteralString(s, repl)
}
