package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gridbox/gridbox/api"
	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/store"
)

// Start opens the store, the broker and the listeners and starts every
// device and sink. They run until ctx is done; then call Wait.
func (g *Gateway) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			g.closeAll()
		}
	}()
	if err := g.openStore(ctx); err != nil {
		return err
	}
	pub, err := g.openMQTT()
	if err != nil {
		return err
	}
	apiSrv, err := api.New(g.bus, api.Options{
		Auth: g.cfg.HTTP.Auth, Tokens: g.cfg.HTTP.Tokens, MetricsAuth: g.cfg.HTTP.MetricsAuth,
		Version: g.opts.Version, Log: g.log.With("component", "api"), Metrics: g.reg, Gatherer: g.reg, History: g.store,
	})
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	if g.cfg.HTTP.Auth == "none" {
		g.log.Warn("http.auth is none: the API accepts writes from anyone who can reach it; use only on loopback or in a lab", "listen", g.cfg.HTTP.Listen)
	}
	ln, err := net.Listen("tcp", g.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", g.cfg.HTTP.Listen, err)
	}
	g.httpLn = ln
	g.httpSrv = &http.Server{Handler: apiSrv.Handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: api.MaxHeaderBytes, BaseContext: func(net.Listener) context.Context { return ctx }}

	storeSub := g.bus.Subscribe("store", bus.Options{Size: 1 << 16})
	mqttSub := g.bus.Subscribe("mqtt", bus.Options{Size: 1 << 16, States: true})
	g.goRun("store", func() error { defer g.bus.Unsubscribe(storeSub); return g.store.Run(ctx, storeSub) })
	g.goRun("mqtt", func() error { defer g.bus.Unsubscribe(mqttSub); return pub.Run(ctx, mqttSub) })
	g.goRun("http", g.serveHTTP)
	g.goRun("http shutdown", func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := g.httpSrv.Shutdown(sctx); err != nil {
			return g.httpSrv.Close()
		}
		return nil
	})
	for _, d := range g.devices {
		g.goRun("device "+d.id, func() error { return d.dev.Run(ctx, g.bus) })
	}
	g.log.Info("gateway started", "site", g.cfg.Site, "devices", len(g.devices), "http", g.HTTPAddr(), "mqtt", g.MQTTAddr())
	return nil
}

func (g *Gateway) serveHTTP() error {
	if err := g.httpSrv.Serve(g.httpLn); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (g *Gateway) openStore(ctx context.Context) error {
	st, err := store.Open(ctx, store.Options{
		Path: g.cfg.Store.Path, BatchSize: g.cfg.Store.BatchSize, FlushInterval: g.cfg.Store.FlushInterval.D(),
		Log: g.log.With("component", "store"), Metrics: g.reg,
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", g.cfg.Store.Path, err)
	}
	g.store = st
	last, err := st.LastValues(ctx)
	if err != nil {
		return fmt.Errorf("store %s: restore last values: %w", g.cfg.Store.Path, err)
	}
	g.bus.Restore(last)
	g.log.Info("store opened", "path", g.cfg.Store.Path, "restored", len(last))
	return nil
}

func (g *Gateway) openMQTT() (*mqtt.Publisher, error) {
	opts := mqtt.Options{
		Broker: g.cfg.MQTT.Broker, Prefix: g.cfg.MQTT.Prefix, ClientID: g.cfg.MQTT.ClientID, Site: g.cfg.Site,
		Version: g.opts.Version, Buffer: g.cfg.MQTT.Buffer, QoS: byte(g.cfg.MQTT.QoS), CAFile: g.cfg.MQTT.CAFile,
		Log: g.log.With("component", "mqtt"), Metrics: g.reg,
	}
	if g.cfg.MQTT.Broker == "embedded" {
		b, err := broker.Start(broker.Options{
			Listen: g.cfg.MQTT.Listen, MaxPacketSize: g.cfg.MQTT.MaxPacketSize, MaxClients: g.cfg.MQTT.MaxClients, MaxQueued: g.cfg.MQTT.MaxQueued,
		}, g.log.With("component", "broker"))
		if err != nil {
			return nil, fmt.Errorf("mqtt.listen %s: %w", g.cfg.MQTT.Listen, err)
		}
		g.broker = b
		if err := g.reg.Register(b.Collector()); err != nil {
			return nil, fmt.Errorf("embedded broker metrics: %w", err)
		}
		opts.Embedded = b
		if !loopback(g.cfg.MQTT.Listen) {
			g.log.Warn("the embedded MQTT broker accepts anonymous clients: anyone who reaches it can read every value and write actuators through /set (writes are still validated); listen on 127.0.0.1 or firewall it", "listen", g.cfg.MQTT.Listen)
		}
	}
	pub, err := mqtt.New(g.bus, opts)
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	return pub, nil
}

// loopback reports whether a listen address only accepts local clients.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
