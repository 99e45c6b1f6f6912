package influx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// influxd is a private InfluxDB 1.x server for the tests: its own config,
// free loopback ports and data in a temporary directory. stop and start
// again keep the data (an outage, not a new server).
type influxd struct {
	bin, dir, conf string
	URL            string
	mu             sync.Mutex
	cmd            *exec.Cmd
	exited         chan struct{}
	Log            testenv.Buffer
}

// newInfluxd starts a private server whose files live in dir; the caller
// stops it. tb is only used to skip (or fail in CI) when influxd is missing.
func newInfluxd(tb testing.TB, dir string) (*influxd, error) {
	bin := testenv.Tool(tb, "influxd")
	s := &influxd{bin: bin, dir: dir, conf: filepath.Join(dir, "influxdb.conf")}
	httpAddr, rpcAddr := testenv.FreeAddr(tb), testenv.FreeAddr(tb)
	s.URL = "http://" + httpAddr
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = %q
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
`, rpcAddr, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpAddr)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return s, s.start()
}

// startInfluxd starts a private server for one test, stopped at its end.
func startInfluxd(t testing.TB) *influxd {
	t.Helper()
	s, err := newInfluxd(t, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

var shared struct {
	once sync.Once
	s    *influxd
	err  error
	dir  string
}

// sharedInfluxd is the package's server for tests that do not stop it;
// each such test uses a database of its own. TestMain stops it.
func sharedInfluxd(t testing.TB) *influxd {
	t.Helper()
	testenv.Tool(t, "influxd")
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "gridbox-influxd-")
		if shared.err == nil {
			shared.s, shared.err = newInfluxd(t, shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.s != nil {
		shared.s.stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// start runs influxd and waits until /ping answers 204.
func (s *influxd) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, "-config", s.conf)
	cmd.Stdout, cmd.Stderr = &s.Log, &s.Log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("influxd exited at start: %s", s.Log.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("influxd did not answer /ping within 30s: %v; log: %s", err, s.Log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends influxd (SIGTERM, then SIGKILL after 15 s) and waits for it.
func (s *influxd) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// series is one series of a query answer.
type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// query runs q against db (GET /query, epoch=ms) and returns the series of
// its first statement.
func (s *influxd) query(t testing.TB, db, q string) []series {
	t.Helper()
	resp, err := http.Get(s.URL + "/query?" + url.Values{"db": {db}, "q": {q}, "epoch": {"ms"}}.Encode())
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	defer resp.Body.Close()
	var a struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string   `json:"error"`
			Series []series `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	if a.Error != "" || len(a.Results) == 0 || a.Results[0].Error != "" {
		t.Fatalf("query %q: %s %+v", q, a.Error, a.Results)
	}
	return a.Results[0].Series
}

// count returns how many points of measurement m are in db (0 when neither exists yet).
func (s *influxd) count(t testing.TB, db, m string) int {
	t.Helper()
	resp, err := http.Get(s.URL + "/query?" + url.Values{"db": {db}, "q": {fmt.Sprintf(`SELECT count("value") FROM %q`, m)}}.Encode())
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var a struct {
		Results []struct {
			Series []series `json:"series"`
		} `json:"results"`
	}
	if json.NewDecoder(resp.Body).Decode(&a) != nil || len(a.Results) == 0 || len(a.Results[0].Series) == 0 {
		return 0
	}
	n, _ := a.Results[0].Series[0].Values[0][1].(float64)
	return int(n)
}
