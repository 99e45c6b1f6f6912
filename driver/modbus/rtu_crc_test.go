package modbus

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRTUBadCRCCountedPerDevice: a unit whose answers have a bad checksum
// is counted (kind crc) on its own device and goes offline; the unit next
// to it on the same serial line keeps polling without an error. The peer is
// a small responder on a socat pty (pymodbus cannot send bad frames).
func TestRTUBadCRCCountedPerDevice(t *testing.T) {
	socat := testenv.Tool(t, "socat")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "gridbox.tty"), filepath.Join(dir, "peer.tty")
	start(t, socat, "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	waitFor(t, "socat pty pair", func() bool { return exists(a) && exists(b) })
	f, err := os.OpenFile(b, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); answerRTU(f, 2) }()
	t.Cleanup(func() { f.Close(); <-done })

	drv := New()
	t.Cleanup(func() { drv.Close() })
	reg := prometheus.NewRegistry()
	sinks := map[int]*fakeSink{1: newSink(), 2: newSink()}
	for _, u := range []int{1, 2} {
		c := testConfig("u"+string(rune('0'+u)), "rtu://"+a+"?baud=115200", u, []Register{{Name: "v", Address: 0, Type: "uint16"}})
		c.Interval, c.Timeout = config.Duration(100*time.Millisecond), config.Duration(time.Second)
		runDevice(t, newTestDevice(t, drv, c, driver.Env{Metrics: reg}), sinks[u])
	}
	errs := newMetrics(reg).errors
	testenv.Eventually(t, 30*time.Second, "three CRC errors of unit 2 and ten polls of unit 1", func() bool {
		return testutil.ToFloat64(errs.WithLabelValues("u2", "crc")) >= 3 && sinks[1].pollCount() >= 10
	})
	if st := sinks[2].state(); st.Online {
		t.Errorf("unit 2 with bad CRCs is online: %+v", st)
	}
	if st := sinks[1].state(); !st.Online || st.Errors != 0 {
		t.Errorf("unit 1: %+v, want online without errors", st)
	}
	if v, ok := sinks[1].value("v"); !ok || v.Value != 100.0 {
		t.Errorf("unit 1 value %+v", v)
	}
	for _, kind := range []string{"crc", "frame", "timeout", "io"} {
		if n := testutil.ToFloat64(errs.WithLabelValues("u1", kind)); n != 0 {
			t.Errorf("u1: %v %s errors", n, kind)
		}
	}
}

// answerRTU answers FC 3 requests on f with registers holding unit×100;
// the answers of unit bad carry a wrong CRC. It returns when f is closed.
func answerRTU(f *os.File, bad byte) {
	req := make([]byte, 8)
	have := 0
	for {
		if _, err := io.ReadFull(f, req[have:]); err != nil {
			return
		}
		if req[1] != 3 || crc16(req[:6]) != binary.LittleEndian.Uint16(req[6:]) {
			copy(req, req[1:]) // not a request here: slide on by one byte
			have = 7
			continue
		}
		have = 0
		n := binary.BigEndian.Uint16(req[4:])
		res := []byte{req[0], 3, byte(2 * n)}
		for range n {
			res = binary.BigEndian.AppendUint16(res, uint16(req[0])*100)
		}
		c := crc16(res)
		if req[0] == bad {
			c ^= 0xFFFF
		}
		if _, err := f.Write(binary.LittleEndian.AppendUint16(res, c)); err != nil {
			return
		}
	}
}

// crc16 is the Modbus CRC (polynomial 0xA001, initial 0xFFFF).
func crc16(b []byte) uint16 {
	c := uint16(0xFFFF)
	for _, x := range b {
		c ^= uint16(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return c
}
