package httpdrv

import (
	"fmt"
	"net/http"
	"text/template"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/internal/docpath"
	"github.com/gridbox/gridbox/model"
)

// field is a compiled datapoint: for one unit (or none), with its write
// request's templates parsed.
type field struct {
	Point
	name      string // datapoint name (with the unit appended when units are set)
	unit      string // the unit this field is read from; "" without units
	writePath *template.Template
	writeBody *template.Template
}

func (f *field) datapoint() model.Datapoint {
	return model.Datapoint{Name: f.name, Meta: f.Meta}
}

// compilePoints checks points and makes one field per point and unit;
// prefix is the key path of the list for errors.
func compilePoints(points []Point, units []string, format, prefix string) ([]*field, []config.FieldError) {
	var errs []config.FieldError
	add := func(i int, key, format string, args ...any) {
		errs = append(errs, config.Errf(fmt.Sprintf("%s[%d].%s", prefix, i, key), format, args...))
	}
	if len(units) == 0 {
		units = []string{""}
	}
	var out []*field
	seen := map[string]int{}
	for i, p := range points {
		if p.Kind == "" {
			p.Kind = model.Sensor
		}
		if p.Format == "" {
			p.Format = model.ContinuousNumeric
		}
		if j, dup := seen[p.Name]; dup {
			add(i, "name", "%q is already used by %s[%d]", p.Name, prefix, j)
		}
		seen[p.Name] = i
		if err := docpath.CheckPath(format, p.Path); err != nil {
			add(i, "path", "%v", err)
		}
		f := &field{Point: p}
		if err := (&model.Datapoint{Name: p.Name, Meta: p.Meta}).CheckMeta(); err != nil {
			add(i, "name", "%v", err)
		}
		errs = append(errs, f.compileWrite(fmt.Sprintf("%s[%d]", prefix, i))...)
		for _, u := range units {
			g := *f
			g.unit, g.name = u, p.Name
			if u != "" {
				g.name = p.Name + "_" + slug(u)
			}
			out = append(out, &g)
		}
	}
	return out, errs
}

// compileWrite parses the write request of an actuator.
func (f *field) compileWrite(at string) []config.FieldError {
	var errs []config.FieldError
	switch {
	case f.Kind == model.Actuator && f.Write == nil:
		return []config.FieldError{config.Errf(at+".write", "an actuator needs a write request ({method, path, body})")}
	case f.Kind != model.Actuator && f.Write != nil:
		return []config.FieldError{config.Errf(at+".write", "only an actuator (kind: actuator) is written")}
	case f.Write == nil:
		return nil
	}
	var err error
	if f.Write.Method != "" && !validMethod(f.Write.Method) {
		errs = append(errs, config.Errf(at+".write.method", "%q is not an HTTP method", f.Write.Method))
	}
	if f.Write.Path == "" {
		errs = append(errs, config.Errf(at+".write.path", "missing"))
	}
	if f.writePath, err = parseTemplate(f.Write.Path); err != nil {
		errs = append(errs, config.Errf(at+".write.path", "%v", err))
	}
	if f.writeBody, err = parseTemplate(f.Write.Body); err != nil {
		errs = append(errs, config.Errf(at+".write.body", "%v", err))
	}
	return errs
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
