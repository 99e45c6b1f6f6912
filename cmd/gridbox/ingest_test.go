package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/uplink/uplinktest"
	"github.com/jackc/pgx/v5"
)

// child is the test binary running as a gridbox subprocess (kill -9 is real).
type child struct {
	cmd *exec.Cmd
	log *testenv.Buffer
}

func spawn(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...), log: &testenv.Buffer{}}
	c.cmd.Env = append(os.Environ(), "GRIDBOX_TEST_MAIN=1")
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("gridbox %s log:\n%s", args[0], c.log.String())
		}
	})
	return c
}

// kill9 kills the child the hard way and reaps it.
func (c *child) kill9() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
}

// stop ends the child cleanly (SIGTERM), or kills it after 10 s.
func (c *child) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func startIngest(t *testing.T, broker, pg, clientID, metrics string) *child {
	c := spawn(t, "ingest", "--broker", "mqtt://"+broker, "--pg", pg, "--group", "g1",
		"--client-id", clientID, "--metrics", metrics, "--batch", "500")
	testenv.Eventually(t, 30*time.Second, clientID+" subscribed", func() bool {
		return strings.Contains(c.log.String(), "ingest: subscribed")
	})
	return c
}

func pgCount(t *testing.T, pg, query string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		return -1 // the table may not exist yet
	}
	return n
}

// TestIngestSharedKillRestart (acceptance 2): two ingest processes share
// the stream; one is killed with kill -9 mid-stream and restarted with the
// same --client-id; every value is in PostgreSQL exactly once.
func TestIngestSharedKillRestart(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	pg := uplinktest.PostgresDB(t)
	metA, metB := testenv.FreeAddr(t), testenv.FreeAddr(t)
	a := startIngest(t, m.Addr, pg, "ingest-a", metA)
	b := startIngest(t, m.Addr, pg, "ingest-b", metB)

	const msgs, per = 600, 40
	o := mqtt3.NewClientOptions().AddBroker("tcp://" + m.Addr).SetClientID("producer")
	pub := mqtt3.NewClient(o)
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	send := func(from, to int) {
		for seq := from; seq <= to; seq++ {
			var vals []string
			for i := range per {
				vals = append(vals, fmt.Sprintf(`{"dp":"meter/p%d","v":%d.5,"ts":%d,"q":"good"}`, i%4, seq, 1700000000000+int64(seq*per+i)))
			}
			p := fmt.Sprintf(`{"site":"s%d","seq":%d,"sent":%d,"values":[%s]}`, seq%3, seq, time.Now().UnixMilli(), strings.Join(vals, ","))
			if tok := pub.Publish(fmt.Sprintf("s%d/data", seq%3), 1, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("publish seq %d: %v", seq, tok.Error())
			}
		}
	}
	send(1, 200)
	testenv.Eventually(t, 60*time.Second, "ingest-a has received part of the stream", func() bool {
		return testenv.Metric(t, "http://"+metA+"/metrics", "gridbox_ingest_messages_total") > 0
	})
	a.kill9()
	send(201, 400) // part of this waits in ingest-a's session at the broker
	a = startIngest(t, m.Addr, pg, "ingest-a", metA)
	if !strings.Contains(a.log.String(), "session_present=true") {
		t.Fatalf("the restarted ingest-a did not resume its session:\n%s", a.log.String())
	}
	send(401, msgs)

	want := msgs * per
	testenv.Eventually(t, 90*time.Second, fmt.Sprintf("%d rows in PostgreSQL", want), func() bool {
		return pgCount(t, pg, "SELECT count(*) FROM gridbox_samples") >= want
	})
	if n := pgCount(t, pg, "SELECT count(*) FROM gridbox_samples"); n != want {
		t.Fatalf("%d rows, want %d", n, want)
	}
	got := testenv.Metric(t, "http://"+metB+"/metrics", "gridbox_ingest_messages_total")
	if got <= 0 || got >= msgs {
		t.Fatalf("ingest-b committed %v of %d messages: the stream was not shared", got, msgs)
	}
	if got := testenv.Metric(t, "http://"+metA+"/metrics", "gridbox_ingest_messages_total"); got <= 0 {
		t.Fatalf("the restarted ingest-a committed %v messages: it got none of its session's messages", got)
	}
	_ = b
}
