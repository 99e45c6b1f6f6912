package mqtt

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// TestMosquittoCLI talks to the embedded broker with the real Mosquitto
// command-line clients, as a user would.
func TestMosquittoCLI(t *testing.T) {
	sub := needProgram(t, "mosquitto_sub")
	pub := needProgram(t, "mosquitto_pub")
	br := startBroker(t)
	host, port, _ := net.SplitHostPort(br.Addr())
	dev := &device{}
	b := newBus(t, dev)
	b.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.5, Time: 1700000000000, Quality: model.Good})
	startPublisher(t, b, Options{Broker: "embedded", Embedded: br})
	watch(t, br.Addr(), "gridbox/$state").waitExact(t, "gridbox/$state", `{"online":true,"version":"test"}`)

	t.Run("mosquitto_sub sees the retained topics", func(t *testing.T) {
		out, _ := exec.Command(sub, "-h", host, "-p", port, "-t", "gridbox/#", "-v", "-W", "3").Output() // -W ends it with a non-zero status
		for _, line := range []string{
			`gridbox/$state {"online":true,"version":"test"}`,
			`gridbox/room/$state {"online":true,"last_seen":1700000000000}`,
			`gridbox/room/temperature {"value":21.5,"timestamp":1700000000000,"quality":"good"}`,
			`gridbox/$meta/room/setpoint {"kind":"actuator","format":"continuous_numeric","unit":"°C","min":15,"max":30,"role":"setpoint"}`,
		} {
			if !strings.Contains(string(out), line+"\n") {
				t.Errorf("mosquitto_sub output lacks %q:\n%s", line, out)
			}
		}
	})

	t.Run("mosquitto_pub write gets a result", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, sub, "-h", host, "-p", port, "-t", "gridbox/room/setpoint/set/result", "-C", "1")
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// mosquitto_sub gives no sign of having subscribed: publish until it got an answer.
		for done := false; !done; {
			if err := exec.Command(pub, "-h", host, "-p", port, "-t", "gridbox/room/setpoint/set", "-m", "26").Run(); err != nil {
				t.Fatalf("mosquitto_pub: %v", err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("mosquitto_sub: %v", err)
				}
				done = true
			case <-time.After(time.Second):
			}
		}
		if got := out.String(); !strings.HasPrefix(got, `{"ok":true,"value":26,"timestamp":`) {
			t.Errorf("result %q", got)
		}
		if w := dev.writes(); len(w) == 0 || w[0] != 26.0 {
			t.Errorf("device writes %v", w)
		}
	})

	t.Run("mosquitto_rr request and answer", func(t *testing.T) {
		rr := needProgram(t, "mosquitto_rr")
		out, err := exec.Command(rr, "-h", host, "-p", port, "-t", "gridbox/room/setpoint/set",
			"-e", "gridbox/room/setpoint/set/result", "-m", `{"value": 40}`, "-W", "10").Output()
		if err != nil {
			t.Fatalf("mosquitto_rr: %v", err)
		}
		if got := strings.TrimSpace(string(out)); got != `{"ok":false,"error":"above max 30"}` {
			t.Errorf("answer %q", got)
		}
	})
}
