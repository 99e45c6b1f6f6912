package gateway_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/gateway"
	"github.com/x448/float16"
)

// roomSetpoint reads the demo room's setpoint register with mbpoll, the
// independent judge, as °C (float16, bytes swapped inside the register).
func roomSetpoint(t *testing.T, mbpoll, host, port string) float64 {
	t.Helper()
	out, err := exec.Command(mbpoll, "-m", "tcp", "-a", "1", "-r", "2", "-c", "1", "-t", "4:hex", "-1", "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "[2]:")
	if i < 0 {
		t.Fatalf("mbpoll output without [2]:\n%s", out)
	}
	var reg uint16
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out[i+4:])), "0x%04X", &reg); err != nil {
		t.Fatalf("mbpoll output %q: %v", out[i:], err)
	}
	return float64(float16.Frombits(reg>>8 | reg<<8).Float32())
}

// TestSetpointScheduleEndToEnd: setpoints and schedules sent over MQTT in
// the building framework's message format drive the demo room's setpoint
// register (read by mbpoll), schedule items start and end on time, refusals
// list their problems, the decision is readable over REST, and every
// controller write is in the audit log.
func TestSetpointScheduleEndToEnd(t *testing.T) {
	mbpoll := requireTool(t, "mbpoll")
	room := startSim(t, "demo-room", "")
	host, port := splitAddr(t, room.Addr())
	dir := t.TempDir()
	gw, stop := startConfig(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
control:
  - {actuator: room/setpoint, sensor: room/temperature}
devices:
  - {id: room, driver: modbus, url: "tcp://%s", profile: demo-room, interval: 300ms, timeout: 300ms, retries: 0, write_gap: 100ms}
`, dir, room.Addr()), gateway.Options{})
	w := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	mustGet(t, w, "gridbox/room/temperature")
	judge := func(want float64) {
		t.Helper()
		waitFor(t, 15*time.Second, fmt.Sprintf("mbpoll reads setpoint %g", want), func() bool { return roomSetpoint(t, mbpoll, host, port) == want })
	}

	now := time.Now().UnixMilli()
	// A setpoint with a wide comfort range: the schedule may run within it.
	w.publish(t, "gridbox/room/setpoint/setpoint", fmt.Sprintf(`{"setpoint": [{"from_timestamp": null, "to_timestamp": null, "preferred_value": 22, "min_value": 10, "max_value": 40}], "timestamp": %d}`, now))
	waitFor(t, 10*time.Second, "setpoint result", func() bool {
		m, ok := w.get("gridbox/room/setpoint/setpoint/result")
		return ok && strings.Contains(m.payload, `"ok":true`)
	})
	judge(22)

	// A schedule item that starts in 1.5 s and ends 8 s later (long enough for
	// mbpoll to see it on a loaded machine).
	from, to := time.Now().Add(1500*time.Millisecond).UnixMilli(), time.Now().Add(9500*time.Millisecond).UnixMilli()
	w.publish(t, "gridbox/room/setpoint/schedule", fmt.Sprintf(`{"schedule": [{"from_timestamp": %d, "to_timestamp": %d, "value": 27}], "timestamp": %d}`, from, to, now+1))
	if got := roomSetpoint(t, mbpoll, host, port); got != 22 && time.Now().UnixMilli() < from {
		t.Fatalf("the schedule item ran before its from_timestamp: %g", got)
	}
	judge(27)
	var st struct {
		Decision struct {
			Act    bool
			Value  any
			Reason string
		}
	}
	getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/datapoints/room/setpoint/control", &st)
	if time.Now().UnixMilli() < to && (!st.Decision.Act || st.Decision.Value != 27.0 || !strings.Contains(st.Decision.Reason, "schedule")) {
		t.Errorf("decision while the schedule runs: %+v", st.Decision)
	}
	judge(22) // the item ended at its to_timestamp: back to the preferred value

	// Refused: every problem listed, nothing applied.
	w.forget("gridbox/room/setpoint/setpoint/result")
	w.publish(t, "gridbox/room/setpoint/setpoint", fmt.Sprintf(`{"setpoint": [{"preferred_value": 99}, {"from_timestamp": 9, "to_timestamp": 5, "preferred_value": 20}], "timestamp": %d}`, now+2))
	m := mustGet(t, w, "gridbox/room/setpoint/setpoint/result")
	if !strings.Contains(m.payload, `"ok":false`) || !strings.Contains(m.payload, "[0].preferred_value: above max 30") || !strings.Contains(m.payload, "[1].from_timestamp") {
		t.Fatalf("refused setpoint answered %s", m.payload)
	}

	// Both active: the sensor outside the setpoint's range → the preferred value;
	// a setpoint without flexibility → the preferred value; only a schedule → its value.
	w.publish(t, "gridbox/room/setpoint/schedule", fmt.Sprintf(`{"schedule": [{"from_timestamp": null, "to_timestamp": null, "value": 27}], "timestamp": %d}`, now+3))
	w.publish(t, "gridbox/room/setpoint/setpoint", fmt.Sprintf(`{"setpoint": [{"preferred_value": 20, "min_value": 35, "max_value": 40}], "timestamp": %d}`, now+4))
	judge(20)
	w.publish(t, "gridbox/room/setpoint/setpoint", fmt.Sprintf(`{"setpoint": [{"preferred_value": 23}], "timestamp": %d}`, now+5))
	judge(23)
	w.publish(t, "gridbox/room/setpoint/setpoint", fmt.Sprintf(`{"setpoint": null, "timestamp": %d}`, now+6))
	judge(27)

	var recs []struct {
		Source, Result, Error string
		Value                 any
	}
	getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/audit?from=0&datapoint=room/setpoint", &recs)
	var written []any
	for _, r := range recs {
		switch {
		case r.Source != "control":
			t.Errorf("audit record from %s: %+v", r.Source, r)
		case r.Result == "applied":
			written = append(written, r.Value)
		case r.Result != "refused" || !strings.Contains(r.Error, "rate limited"):
			t.Errorf("controller write %+v", r)
		}
	}
	// No redundant writes: each decided value reached the device once, in
	// order. (A decision that changes within the datapoint's write_gap of the
	// last write is refused by the rate limit, recorded as such, and applied
	// when the controller tries again.)
	if want := []any{22.0, 27.0, 22.0, 20.0, 23.0, 27.0}; fmt.Sprint(written) != fmt.Sprint(want) {
		t.Fatalf("controller writes %v, want %v (audit %+v)", written, want, recs)
	}

	// The setpoint survives a restart (state file in the store's directory).
	stop()
	if _, err := os.Stat(filepath.Join(dir, "control.json")); err != nil {
		t.Fatalf("control state not kept: %v", err)
	}
}
