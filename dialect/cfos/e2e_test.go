package cfos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
)

const root = "cfos_mqtt"

// startGateway runs a gateway from YAML until the test ends.
func startGateway(t *testing.T, src string) *gateway.Gateway {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := gw.Wait(); err != nil {
				t.Errorf("gateway stopped with: %v", err)
			}
		})
	})
	return gw
}

// meterBridge is the outside meter: a long-running mosquitto_pub -l that
// publishes set/M3 every 300 ms with the site's currents — a base load
// plus what the wallboxes draw (read from the gateway, as a real meter at
// the connection point would measure it).
type meterBridge struct {
	base atomic.Int64 // A per phase
	sent atomic.Int64
}

func startMeterBridge(t *testing.T, addr string, b *bus.Bus, base int64) *meterBridge {
	t.Helper()
	m := &meterBridge{}
	m.base.Store(base)
	bin := testenv.Tool(t, "mosquitto_pub")
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "-t", root+"/set/M3", "-q", "1", "-l")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := io.WriteString(in, m.reading(b)+"\n"); err != nil {
					return
				}
				m.sent.Add(1)
			}
		}
	})
	t.Cleanup(func() { _ = in.Close(); cancel(); wg.Wait(); _ = cmd.Wait() })
	return m
}

func (m *meterBridge) reading(b *bus.Bus) string {
	var cur [3]float64
	for p := range 3 {
		cur[p] = float64(m.base.Load())
		for _, wb := range []string{"wb1", "wb2"} {
			if _, v, has, _ := b.Datapoint(wb, fmt.Sprintf("current_l%d", p+1)); has && v.Quality == model.Good {
				f, _ := model.AsFloat(v.Value)
				cur[p] += f
			}
		}
	}
	return fmt.Sprintf(`{"model": "TestModell", "import_wh": 12345, "export_wh": 23456, "voltage": [231, 232, 233], "current": [%.0f, %.0f, %.0f]}`,
		cur[0]*1000, cur[1]*1000, cur[2]*1000)
}

// state decodes the last retained message on get/<what>.
func state(s *mqttcli.Sub, what string) map[string]any {
	m, ok := s.Last(root + "/get/" + what)
	if !ok {
		return nil
	}
	var v map[string]any
	_ = json.Unmarshal([]byte(m.Payload), &v)
	return v
}

func answers(s *mqttcli.Sub) []map[string]any {
	var out []map[string]any
	for _, m := range s.Msgs() {
		if m.Topic == root+"/api_res" {
			var v map[string]any
			_ = json.Unmarshal([]byte(m.Payload), &v)
			out = append(out, v)
		}
	}
	return out
}

func audit(t *testing.T, api, key string) []model.AuditRecord {
	t.Helper()
	resp, err := http.Get(api + "/audit?datapoint=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var recs []model.AuditRecord
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

func num(v any) float64 { f, _ := v.(float64); return f }

// allowed reads a wallbox simulator's allowed current (holding register 0,
// A × 10) with mbpoll, the independent judge.
func allowed(t *testing.T, mbpoll, addr string) float64 {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(mbpoll, "-m", "tcp", "-a", "1", "-r", "1", "-c", "1", "-t", "4", "-1", "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "[1]:")
	if i < 0 {
		t.Fatalf("mbpoll output without [1]:\n%s", out)
	}
	raw, err := strconv.Atoi(strings.TrimSpace(strings.Fields(string(out[i+4:]))[0]))
	if err != nil {
		t.Fatalf("mbpoll output %q: %v", out[i:], err)
	}
	return float64(raw) / 10
}
