package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/ingest"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/uplink/uplinktest"
	"github.com/jackc/pgx/v5"
)

// startIngest runs n ingest processes (in-process) sharing one group and
// waits until each has subscribed.
func startIngest(t testing.TB, n int, broker, pg string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, n)
	for i := range n {
		log := &testenv.Buffer{}
		go func() {
			done <- ingest.Run(ctx, ingest.Options{
				Broker: "mqtt://" + broker, PG: pg, Group: "bench", ClientID: fmt.Sprintf("ingest-%d", i),
				Log: slog.New(slog.NewTextHandler(log, nil)),
			})
		}()
		testenv.Eventually(t, 30*time.Second, "ingest subscribed", func() bool { return strings.Contains(log.String(), "ingest: subscribed") })
	}
	t.Cleanup(func() {
		cancel()
		for range n {
			if err := <-done; err != nil {
				t.Errorf("ingest: %v", err)
			}
		}
	})
}

func count(t testing.TB, pg string) int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM gridbox_samples`).Scan(&n); err != nil {
		return 0
	}
	return n
}

// publish sends msgs uplink messages of per values each (QoS 1).
func publish(t testing.TB, broker string, msgs, per int) {
	t.Helper()
	c := mqtt3.NewClient(mqtt3.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("bench-producer"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	var toks []mqtt3.Token
	for seq := 1; seq <= msgs; seq++ {
		var b strings.Builder
		fmt.Fprintf(&b, `{"site":"s%d","seq":%d,"sent":%d,"values":[`, seq%10, seq, time.Now().UnixMilli())
		for i := range per {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"dp":"dev%d/p","v":%d.25,"ts":%d,"q":"good"}`, i%50, seq, 1700000000000+int64(seq*per+i))
		}
		b.WriteString("]}")
		toks = append(toks, c.Publish(fmt.Sprintf("s%d/data", seq%10), 1, false, b.String()))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(60*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
}

// BenchmarkIngest measures rows/s into PostgreSQL with one and with two
// ingest processes sharing the stream (400 messages of 1000 values).
//
//	go test -run '^$' -bench Ingest -benchtime 1x ./ingest
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("processes=%d", n), func(b *testing.B) {
			var rate float64
			for range b.N {
				m := uplinktest.StartMosquitto(b)
				pg := uplinktest.PostgresDB(b)
				startIngest(b, n, m.Addr, pg)
				const msgs, per = 400, 1000
				start := time.Now()
				publish(b, m.Addr, msgs, per)
				testenv.Eventually(b, 300*time.Second, "every row", func() bool { return count(b, pg) >= msgs*per })
				rate = msgs * per / time.Since(start).Seconds()
			}
			b.ReportMetric(rate, "rows/s")
		})
	}
}
