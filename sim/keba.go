package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KEBA P30 simulation constants (docs/simulators.md "keba-p30").
const (
	kebaSerial  = "17000001"
	kebaVolts   = 230
	kebaHWCurr  = 32000 // mA
	kebaMinCurr = 6000  // mA
)

// KEBA is a simulated KEBA P30 charging station on UDP: it answers
// report 1/2/3 with JSON and commands with TCH-OK :done, to the address
// the request came from (the real station answers to port 7090 of the
// requester, which is where gridbox sends from).
type KEBA struct {
	conn *net.UDPConn
	log  *slog.Logger
	done chan struct{}

	mu      sync.Mutex
	enabled bool
	curr    int     // mA
	limit   int     // setenergy, 0.1 Wh; 0 = none
	ePres   float64 // 0.1 Wh
	eTotal  float64 // 0.1 Wh
	display string
}

// StartKEBA runs the station simulator on listen until ctx is done or Close.
func StartKEBA(ctx context.Context, listen string, log *slog.Logger) (*KEBA, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("simulator keba-p30 on %s: %w", listen, err)
	}
	conn, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("simulator keba-p30 on %s: %w", listen, err)
	}
	k := &KEBA{conn: conn, log: log, done: make(chan struct{}), enabled: true, curr: 16000, eTotal: 123456789}
	go k.serve()
	go func() {
		select {
		case <-ctx.Done():
			conn.Close()
		case <-k.done:
		}
	}()
	log.Info("simulator listening", "profile", "keba-p30", "addr", k.Addr())
	return k, nil
}

// Addr returns the UDP host:port the station listens on.
func (k *KEBA) Addr() string { return k.conn.LocalAddr().String() }

// URL returns the station's address in the driver's URL form.
func (k *KEBA) URL() string { return "udp://" + k.Addr() }

// Close stops the simulator; it is safe to call more than once.
func (k *KEBA) Close() error {
	k.conn.Close()
	<-k.done
	return nil
}

func (k *KEBA) serve() {
	defer close(k.done)
	buf := make([]byte, 512)
	last := time.Now()
	for {
		n, from, err := k.conn.ReadFromUDP(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		now := time.Now()
		k.step(now.Sub(last))
		last = now
		if answer := k.answer(strings.TrimSpace(string(buf[:n]))); answer != nil {
			if _, err := k.conn.WriteToUDP(answer, from); err != nil {
				k.log.Debug("keba sim: answer", "to", from, "err", err)
			}
		}
	}
}

// power is the charging power in mW: three phases at the current limit
// while enabled and below the energy limit.
func (k *KEBA) power() float64 {
	if !k.enabled || (k.limit > 0 && k.ePres >= float64(k.limit)) {
		return 0
	}
	return 3 * kebaVolts * float64(k.curr)
}

// step integrates the energy over dt (called at each request).
func (k *KEBA) step(dt time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.power() / 1000 * min(dt, maxStep).Hours() * 10 // 0.1 Wh
	k.ePres += e
	k.eTotal += e
}

// answer returns the reply to one request, nil for none.
func (k *KEBA) answer(req string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	word, arg, _ := strings.Cut(req, " ")
	ok := []byte("TCH-OK :done\n")
	switch word {
	case "report":
		return k.report(arg)
	case "i":
		return []byte(`"Firmware":"P30 v 3.10.16 (simulated)"`)
	case "ena":
		k.enabled = arg == "1"
		return ok
	case "curr":
		if n, err := strconv.Atoi(arg); err == nil && (n == 0 || (n >= kebaMinCurr && n <= 63000)) {
			k.curr = min(n, kebaHWCurr)
			return ok
		}
	case "setenergy":
		if n, err := strconv.Atoi(arg); err == nil && n >= 0 {
			k.limit = n
			return ok
		}
	case "display":
		k.display = arg
		return ok
	}
	return []byte("TCH-ERR :" + req + "\n")
}

func (k *KEBA) report(n string) []byte {
	var m map[string]any
	switch n {
	case "1":
		m = map[string]any{"ID": "1", "Product": "KC-P30-ES240022-E0R", "Serial": kebaSerial, "Firmware": "P30 v 3.10.16 (simulated)"}
	case "2":
		state := 2
		if k.power() > 0 {
			state = 3
		}
		m = map[string]any{"ID": "2", "State": state, "Error1": 0, "Plug": 7, "Enable sys": b2i(k.enabled),
			"Max curr": k.curr, "Curr HW": kebaHWCurr, "Curr user": k.curr, "Setenergy": k.limit, "Serial": kebaSerial}
	case "3":
		p, i := k.power(), 0
		if p > 0 {
			i = k.curr
		}
		m = map[string]any{"ID": "3", "U1": kebaVolts, "U2": kebaVolts, "U3": kebaVolts, "I1": i, "I2": i, "I3": i,
			"P": int(p), "PF": 998, "E pres": int(k.ePres), "E total": int(k.eTotal), "Serial": kebaSerial}
	default:
		return []byte("TCH-ERR :report " + n + "\n")
	}
	b, _ := json.Marshal(m) // maps of numbers and strings always marshal
	return b
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
