package docscheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/profile"
)

// The Grafana recipe (docs/grafana.md) and its dashboard
// (examples/grafana-dashboard.json) must name only what gridbox writes: the
// demo's devices and their profiles' datapoints, the PostgreSQL store's
// tables and columns, and the InfluxDB output's measurement, tags and field.

// demoDatapoints maps each demo device id to the datapoint names of its
// built-in profile. The devices are read from cmd/gridbox/demo.go
// (demoDevices), the datapoints from the profile package.
func demoDatapoints(t *testing.T, root string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "cmd", "gridbox", "demo.go"))
	if err != nil {
		t.Fatal(err)
	}
	fn := regexp.MustCompile(`(?s)func demoDevices\(\)[^{]*\{(.*?)\n\}`).FindSubmatch(src)
	if fn == nil {
		t.Fatal("cmd/gridbox/demo.go: no func demoDevices")
	}
	pairs := regexp.MustCompile(`\{"([^"]+)",\s*"([^"]+)"\}`).FindAllSubmatch(fn[1], -1)
	if len(pairs) == 0 {
		t.Fatal("cmd/gridbox/demo.go: demoDevices lists no devices")
	}
	sums, err := profile.Builtin().Summaries()
	if err != nil {
		t.Fatal(err)
	}
	byProfile := map[string][]string{}
	for _, s := range sums {
		for _, d := range s.Datapoints {
			byProfile[s.Name] = append(byProfile[s.Name], d.Name)
		}
	}
	out := map[string][]string{}
	for _, p := range pairs {
		dps, ok := byProfile[string(p[2])]
		if !ok {
			t.Fatalf("demo device %s: profile %s is not built in", p[1], p[2])
		}
		out[string(p[1])] = dps
	}
	return out
}

// pgSchema returns the columns of each table the PostgreSQL store creates,
// read from the migrations in store/postgres/schema.go.
func pgSchema(t *testing.T, root string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "store", "postgres", "schema.go"))
	if err != nil {
		t.Fatal(err)
	}
	create := regexp.MustCompile(`CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+) \(`)
	column := regexp.MustCompile(`^\s*([a-z_]+)\s+(?:integer|bigint|smallint|text|double precision)\b`)
	tables := map[string][]string{}
	table := ""
	for _, line := range strings.Split(string(src), "\n") {
		if m := create.FindStringSubmatch(line); m != nil {
			table = m[1]
			tables[table] = nil
			continue
		}
		if table == "" {
			continue
		}
		if strings.Contains(line, ");") {
			table = ""
			continue
		}
		if m := column.FindStringSubmatch(line); m != nil {
			tables[table] = append(tables[table], m[1])
		}
	}
	for _, want := range []string{"datapoints", "samples"} {
		if len(tables[want]) == 0 {
			t.Fatalf("store/postgres/schema.go: no columns found for table %s (parser out of date?)", want)
		}
	}
	return tables
}

var (
	sqlTableAlias = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+([a-z_]+)(?:\s+(?:AS\s+)?([a-z_]+))?`)
	sqlColumnRef  = regexp.MustCompile(`\b([a-z_]+)\.([a-z_]+)\b`)
	sqlDevice     = regexp.MustCompile(`\bd\.device\s*=\s*'([^']*)'`)
	sqlNameEq     = regexp.MustCompile(`\bd\.name\s*=\s*'([^']*)'`)
	sqlNameIn     = regexp.MustCompile(`(?i)\bd\.name\s+IN\s*\(([^)]*)\)`)
	sqlLiteral    = regexp.MustCompile(`'([^']*)'`)
	sqlKeywords   = map[string]bool{"where": true, "on": true, "group": true, "order": true, "limit": true, "join": true}

	fluxFrom    = regexp.MustCompile(`\bFROM\s+"([^"]+)"`)
	fluxTag     = regexp.MustCompile(`"([a-z_]+)"\s*(?:=|!=|=~|!~)\s*'([^']*)'`)
	fluxField   = regexp.MustCompile(`\(\s*"([^"]+)"\s*\)`)
	fluxTagKeys = []string{"datapoint", "device", "quality", "unit"} // output/influx/line.go
	qualities   = []string{"good", "stale", "bad"}
)

// checkSQL reports SQL that names a table or column the store does not
// create. It returns the tables the query reads.
func checkSQL(t *testing.T, where, sql string, schema map[string][]string) []string {
	t.Helper()
	alias := map[string]string{}
	var tables []string
	for _, m := range sqlTableAlias.FindAllStringSubmatch(sql, -1) {
		tbl := m[1]
		if _, ok := schema[tbl]; !ok {
			t.Errorf("%s: table %q is not one the PostgreSQL store creates (%v)", where, tbl, keys(schema))
			continue
		}
		tables = append(tables, tbl)
		alias[tbl] = tbl
		if a := m[2]; a != "" && !sqlKeywords[strings.ToLower(a)] {
			alias[a] = tbl
		}
	}
	for _, m := range sqlColumnRef.FindAllStringSubmatch(sql, -1) {
		tbl, ok := alias[m[1]]
		if !ok {
			t.Errorf("%s: %s.%s: %q is no table or alias of the query", where, m[1], m[2], m[1])
			continue
		}
		if !slices.Contains(schema[tbl], m[2]) {
			t.Errorf("%s: %s.%s: table %s has no column %q (%v)", where, m[1], m[2], tbl, m[2], schema[tbl])
		}
	}
	// $__unixEpochFrom() expands to an integer literal; times 1000 it
	// overflows PostgreSQL's integer unless cast first.
	for _, macro := range []string{"$__unixEpochFrom()", "$__unixEpochTo()"} {
		if n := strings.Count(sql, macro); n != strings.Count(sql, macro+"::bigint") {
			t.Errorf("%s: %s without ::bigint (integer out of range once multiplied by 1000)", where, macro)
		}
	}
	return tables
}

// sqlDatapoints returns the device/name pairs a dashboard SQL query selects.
func sqlDatapoints(t *testing.T, where, sql string) []string {
	t.Helper()
	devs := sqlDevice.FindAllStringSubmatch(sql, -1)
	if len(devs) != 1 {
		t.Errorf("%s: want exactly one d.device = '…' condition, found %d", where, len(devs))
		return nil
	}
	var names []string
	for _, m := range sqlNameEq.FindAllStringSubmatch(sql, -1) {
		names = append(names, m[1])
	}
	for _, m := range sqlNameIn.FindAllStringSubmatch(sql, -1) {
		for _, l := range sqlLiteral.FindAllStringSubmatch(m[1], -1) {
			names = append(names, l[1])
		}
	}
	if len(names) == 0 {
		t.Errorf("%s: no d.name condition", where)
	}
	var out []string
	for _, n := range names {
		out = append(out, devs[0][1]+"/"+n)
	}
	return out
}

// influxDatapoints checks an InfluxQL query against the output's mapping (the
// measurement is the datapoint name, tags datapoint/device/quality/unit,
// field value) and returns the device/name pairs it selects.
func influxDatapoints(t *testing.T, where, q string) []string {
	t.Helper()
	froms := fluxFrom.FindAllStringSubmatch(q, -1)
	if len(froms) != 1 {
		t.Errorf("%s: want one FROM \"<datapoint>\", found %d", where, len(froms))
		return nil
	}
	for _, m := range fluxField.FindAllStringSubmatch(q, -1) {
		if m[1] != "value" {
			t.Errorf("%s: field %q: the InfluxDB output writes one field, \"value\"", where, m[1])
		}
	}
	device := ""
	for _, m := range fluxTag.FindAllStringSubmatch(q, -1) {
		switch {
		case !slices.Contains(fluxTagKeys, m[1]):
			t.Errorf("%s: tag %q: the InfluxDB output writes the tags %v", where, m[1], fluxTagKeys)
		case m[1] == "device":
			device = m[2]
		case m[1] == "quality" && !slices.Contains(qualities, m[2]):
			t.Errorf("%s: quality %q: want one of %v", where, m[2], qualities)
		case m[1] == "datapoint" && m[2] != froms[0][1]:
			t.Errorf("%s: datapoint tag %q differs from the measurement %q", where, m[2], froms[0][1])
		}
	}
	if device == "" {
		t.Errorf("%s: no \"device\" = '…' condition (several devices share datapoint names)", where)
		return nil
	}
	return []string{device + "/" + froms[0][1]}
}

func keys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// panel is the part of a Grafana panel the checks read.
type panel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource *struct {
		Type string `json:"type"`
	} `json:"datasource"`
	Targets []struct {
		RefID      string `json:"refId"`
		RawSQL     string `json:"rawSql"`
		Query      string `json:"query"`
		Datasource *struct {
			Type string `json:"type"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

// TestGrafanaDashboard: every query of examples/grafana-dashboard.json names
// a demo device and only datapoints of that device's profile, the SQL only
// the store's tables and columns, the InfluxQL only the output's mapping; and
// both back ends show the same datapoints.
func TestGrafanaDashboard(t *testing.T) {
	r := root(t)
	dps := demoDatapoints(t, r)
	schema := pgSchema(t, r)
	data, err := os.ReadFile(filepath.Join(r, "examples", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("examples/grafana-dashboard.json: %v", err)
	}
	if dash.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want a current Grafana's (36 or newer)", dash.SchemaVersion)
	}
	shown := map[string][]string{} // data source type → device/name pairs
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				where := "examples/grafana-dashboard.json: panel " + p.Title + " query " + tg.RefID
				ds := ""
				if tg.Datasource != nil {
					ds = tg.Datasource.Type
				} else if p.Datasource != nil {
					ds = p.Datasource.Type
				}
				var got []string
				switch {
				case tg.RawSQL != "" && (ds == "grafana-postgresql-datasource" || ds == "postgres"):
					if tables := checkSQL(t, where, tg.RawSQL, schema); !slices.Contains(tables, "samples") {
						t.Errorf("%s: does not read samples", where)
					}
					got = sqlDatapoints(t, where, tg.RawSQL)
				case tg.Query != "" && ds == "influxdb":
					got = influxDatapoints(t, where, tg.Query)
				default:
					t.Errorf("%s: data source type %q with neither rawSql (PostgreSQL) nor query (InfluxDB)", where, ds)
				}
				for _, dn := range got {
					dev, name, _ := strings.Cut(dn, "/")
					names, ok := dps[dev]
					switch {
					case !ok:
						t.Errorf("%s: device %q is not a demo device (%v)", where, dev, keys(dps))
					case !slices.Contains(names, name):
						t.Errorf("%s: datapoint %s: the profile of %s has no %q", where, dn, dev, name)
					}
					if !slices.Contains(shown[ds], dn) {
						shown[ds] = append(shown[ds], dn)
					}
				}
			}
		}
	}
	walk(dash.Panels)
	pg, fx := shown["grafana-postgresql-datasource"], shown["influxdb"]
	if len(pg) == 0 || len(fx) == 0 {
		t.Fatalf("want panels for both PostgreSQL and InfluxDB, got %v", shown)
	}
	slices.Sort(pg)
	slices.Sort(fx)
	if !slices.Equal(pg, fx) {
		t.Errorf("the PostgreSQL row shows %v, the InfluxDB row %v: want the same datapoints", pg, fx)
	}
}

// TestGrafanaDocSQL: the SQL of docs/grafana.md reads gridbox's real tables
// (samples joined with datapoints) and names only their columns and the demo's
// datapoints; its InfluxQL follows the output's mapping.
func TestGrafanaDocSQL(t *testing.T) {
	r := root(t)
	dps := demoDatapoints(t, r)
	schema := pgSchema(t, r)
	data, err := os.ReadFile(filepath.Join(r, "docs", "grafana.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	grant := regexp.MustCompile(`(?i)\bGRANT\s+SELECT\s+ON\s+([a-z_, ]+?)\s+TO\b`)
	reads := map[string]bool{}
	selects := 0
	for i, b := range blocks {
		sql := b[1]
		where := "docs/grafana.md: sql block " + string(rune('1'+i))
		for _, m := range grant.FindAllStringSubmatch(sql, -1) {
			for _, tbl := range strings.Split(m[1], ",") {
				if tbl = strings.TrimSpace(tbl); schema[tbl] == nil {
					t.Errorf("%s: GRANT on %q, not a table of the PostgreSQL store", where, tbl)
				}
				reads[tbl] = true
			}
		}
		switch {
		case fluxFrom.MatchString(sql):
			for _, dn := range influxDatapoints(t, where, sql) {
				dev, name, _ := strings.Cut(dn, "/")
				if !slices.Contains(dps[dev], name) {
					t.Errorf("%s: %s is not a demo datapoint", where, dn)
				}
			}
		case regexp.MustCompile(`(?i)^\s*SELECT\b`).MatchString(sql):
			selects++
			for _, tbl := range checkSQL(t, where, sql, schema) {
				reads[tbl] = true
			}
			for _, dn := range sqlDatapoints(t, where, sql) {
				dev, name, _ := strings.Cut(dn, "/")
				if !slices.Contains(dps[dev], name) {
					t.Errorf("%s: %s is not a demo datapoint", where, dn)
				}
			}
		}
	}
	if selects == 0 {
		t.Fatal("docs/grafana.md: no SELECT in a ```sql block")
	}
	for _, tbl := range []string{"datapoints", "samples"} {
		if !reads[tbl] {
			t.Errorf("docs/grafana.md: the SQL never mentions table %s", tbl)
		}
	}
}
