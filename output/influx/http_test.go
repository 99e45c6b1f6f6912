package influx

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// request is what a fake server received.
type request struct {
	method, path string
	query        map[string]string
	header       http.Header
	body         string
}

// fake is an httptest server answering writes with the statuses in
// answers (204 once they run out), recording every request.
type fake struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	answers []string // "code body"
}

func newFake(t *testing.T, answers ...string) *fake {
	f := &fake{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("gzip: %v", err)
				return
			}
			rd = zr
		}
		body, _ := io.ReadAll(rd)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.Path, q, r.Header.Clone(), string(body)})
		code, msg := 204, ""
		if len(f.answers) > 0 {
			fmt.Sscanf(f.answers[0], "%d", &code)
			_, msg, _ = strings.Cut(f.answers[0], " ")
			f.answers = f.answers[1:]
		}
		f.mu.Unlock()
		w.WriteHeader(code)
		io.WriteString(w, msg)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// TestV2WriteRequest: a 2.x output posts to /api/v2/write with org, bucket
// and precision, the token header and a gzip-compressed body (the default);
// gzip: false sends plain text.
func TestV2WriteRequest(t *testing.T) {
	for _, gz := range []bool{true, false} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			f := newFake(t)
			b, sub := newBus(t, point("power", model.ContinuousNumeric, "W"))
			c := &Config{URL: f.URL + "/", Org: "home", Bucket: "energy", Token: "s3cret", Precision: "s", FlushEvery: dur(10 * time.Millisecond)}
			if !gz {
				c.Gzip = ptr(false)
			}
			o := open(t, c, b)
			o.run(t, sub)
			b.Publish(model.Value{Device: "pv", Name: "power", Value: 5.0, Time: 1_700_000_000_999, Quality: model.Good})
			testenv.Eventually(t, waitLimit, "written", func() bool { return o.written() == 1 })
			r := f.requests()[0]
			if r.method != "POST" || r.path != "/api/v2/write" || fmt.Sprint(r.query) != "map[bucket:energy org:home precision:s]" {
				t.Errorf("request %s %s %v", r.method, r.path, r.query)
			}
			if got := r.header.Get("Authorization"); got != "Token s3cret" {
				t.Errorf("Authorization %q", got)
			}
			if got, want := r.header.Get("Content-Encoding"), map[bool]string{true: "gzip"}[gz]; got != want {
				t.Errorf("Content-Encoding %q, want %q", got, want)
			}
			if want := "power,datapoint=power,device=pv,quality=good,unit=W value=5 1700000000\n"; r.body != want {
				t.Errorf("body %q, want %q", r.body, want)
			}
		})
	}
}

// TestV1WriteRequest: a 1.x output posts to /write?db=…&precision=…, with
// basic auth when a username is set; "database not found" creates the
// database with CREATE DATABASE and writes again.
func TestV1WriteRequest(t *testing.T) {
	f := newFake(t, `404 {"error":"database not found: \"my db\""}`, `200 {"results":[{"statement_id":0}]}`)
	b, sub := newBus(t, point("on", model.Bool, ""))
	o := open(t, &Config{URL: f.URL, Database: "my db", Username: "u", Password: "p", FlushEvery: dur(10 * time.Millisecond)}, b)
	o.run(t, sub)
	b.Publish(model.Value{Device: "pv", Name: "on", Value: false, Time: 42, Quality: model.Good})
	testenv.Eventually(t, waitLimit, "written", func() bool { return o.written() == 1 })
	rs := f.requests()
	if len(rs) != 3 {
		t.Fatalf("%d requests, want write, create, write: %+v", len(rs), rs)
	}
	if rs[0].path != "/write" || fmt.Sprint(rs[0].query) != "map[db:my db precision:ms]" || rs[2].path != "/write" {
		t.Errorf("writes: %s %v, %s", rs[0].path, rs[0].query, rs[2].path)
	}
	if rs[1].path != "/query" || rs[1].body != `q=CREATE+DATABASE+%22my+db%22` {
		t.Errorf("create: %s %q", rs[1].path, rs[1].body)
	}
	if u, p, ok := (&http.Request{Header: rs[0].header}).BasicAuth(); !ok || u != "u" || p != "p" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	if !strings.Contains(o.log.String(), "database created") {
		t.Errorf("creation not logged")
	}
}

// TestRetryAndRejection: 503 and 500 are retried with backoff (counted) and
// the batch then written once; a 400 partial write drops only the lines the
// server names (dropped=N), counted as rejected.
func TestRetryAndRejection(t *testing.T) {
	f := newFake(t, `503 {"error":"busy"}`, `500 {"error":"oops"}`, "204 ", `400 {"error":"partial write: field type conflict: input field \"value\" on measurement \"p0\" is type boolean, already exists as type float dropped=1"}`)
	b, sub := newBus(t, numbers(1)...)
	o := open(t, &Config{URL: f.URL, Database: "d", BatchSize: ptr(3), Backoff: dur(10 * time.Millisecond)}, b)
	o.run(t, sub)
	for i := range 3 {
		b.Publish(modelValue(i, int64(i)))
	}
	testenv.Eventually(t, waitLimit, "first batch written", func() bool { return o.written() == 3 })
	if o.retried() != 2 {
		t.Errorf("retried %d, want 2", o.retried())
	}
	for i := range 3 {
		b.Publish(modelValue(i, int64(10+i)))
	}
	testenv.Eventually(t, waitLimit, "second batch answered", func() bool { return o.dropped(dropRejected) == 1 })
	if o.written() != 5 {
		t.Errorf("written %d, want 5", o.written())
	}
	rs := f.requests()
	if len(rs) != 4 || rs[0].body != rs[2].body {
		t.Errorf("%d requests; the retried body changed: %q vs %q", len(rs), rs[0].body, rs[len(rs)-1].body)
	}
}

// TestConfig: defaults, and validation errors naming their keys.
func TestConfig(t *testing.T) {
	s := (&Config{URL: "http://x:8086/", Database: "d"}).settings("cloud")
	if s.url != "http://x:8086" || s.precision != "ms" || s.batchSize != 5000 || s.flush != time.Second || !s.gzip ||
		s.maxBuffer != 100<<20 || s.bufferDir != "data/influx-cloud" {
		t.Errorf("defaults: %+v", s)
	}
	for _, c := range []struct {
		yaml string
		want string // the FieldErrors, as path: msg; joined
	}{
		{`influx: {url: "http://127.0.0.1:8086", database: gridbox, precision: ms}`, ""},
		{`influx: {url: "https://eu.example.com", org: home, bucket: energy, token: t}`, ""},
		{`{}`, `: an output needs exactly one output type (valid: influx)`},
		{`influx: {url: "ftp://x", database: d}`, `influx.url: "ftp://x": scheme "ftp": want http or https`},
		{`influx: {database: d}`, `influx.url: required (like http://127.0.0.1:8086)`},
		{`influx: {url: "http://x"}`, `influx.database: required: database (InfluxDB 1.x) or org and bucket (2.x)`},
		{`influx: {url: "http://x", org: o}`, `influx.bucket: required with org (InfluxDB 2.x)`},
		{`influx: {url: "http://x", database: d, bucket: b}`, `influx.database: set database (InfluxDB 1.x) or org and bucket (2.x), not both`},
		{`influx: {url: "http://x", database: d, precision: m}`, `influx.precision: "m": want one of ns, us, ms, s`},
		{`influx: {url: "http://x", database: d, batch_size: 0, flush_interval: 0s, max_buffer: 0}`,
			`influx.batch_size: 0: want 1..100000; influx.flush_interval: 0s: must be positive; influx.max_buffer: 0: want a positive number of bytes`},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(c.yaml), &n); err != nil {
			t.Fatal(err)
		}
		o := Kind().NewConfig()
		errs := config.Decode(n.Content[0], o, "outputs[0]")
		errs = append(errs, o.Validate()...)
		var got []string
		for _, e := range errs {
			got = append(got, e.Path+": "+e.Msg)
		}
		if strings.Join(got, "; ") != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.yaml, strings.Join(got, "; "), c.want)
		}
	}
	// Unknown keys inside influx: are refused with their path.
	var n yaml.Node
	yaml.Unmarshal([]byte(`influx: {url: "http://x", database: d, databse: e}`), &n)
	errs := config.Decode(n.Content[0], Kind().NewConfig(), "outputs[0]")
	if len(errs) != 1 || errs[0].Path != "outputs[0].influx.databse" || !strings.Contains(errs[0].Msg, "unknown key") {
		t.Errorf("unknown key: %+v", errs)
	}
}
