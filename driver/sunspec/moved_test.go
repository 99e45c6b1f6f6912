package sunspec_test

import (
	"io"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/simonvetter/modbus"
)

// swapServer is a Modbus TCP server whose register image a test replaces
// while clients stay connected (a firmware update that moves the chain).
type swapServer struct {
	mu sync.Mutex
	im map[int]uint16
}

func (s *swapServer) set(im map[int]uint16) {
	s.mu.Lock()
	s.im = im
	s.mu.Unlock()
}

func (s *swapServer) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (s *swapServer) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (s *swapServer) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}

func (s *swapServer) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	out := make([]uint16, req.Quantity)
	for i := range out {
		v, ok := s.im[int(req.Addr)+i]
		if !ok {
			return nil, modbus.ErrIllegalDataAddress
		}
		out[i] = v
	}
	return out, nil
}

// TestMovedChainIsRediscovered: the chain changes under an open connection
// (model 103 becomes 113 at the same address); the next poll's header check
// finds it and the driver rediscovers without going offline.
func TestMovedChainIsRediscovered(t *testing.T) {
	dir := modelsDir()
	if dir == "" {
		testenv.Missing(t, "the official SunSpec models (shared/data/sunspec-models beside the repository, or $GRIDBOX_SUNSPEC_MODELS)")
	}
	common := officialModel{1, map[string]any{"Mn": "Acme", "SN": "X1"}}
	before := officialImage(t, dir, 40000, []officialModel{common, {103, map[string]any{"W": 700, "W_SF": 0}}, {120, nil}})
	after := officialImage(t, dir, 40000, []officialModel{common, {113, map[string]any{"W": 812.5}}, {120, nil}})
	srv := &swapServer{im: before}
	addr := testenv.FreeAddr(t)
	ms, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, Timeout: time.Minute, MaxClients: 4,
		Logger: log.New(io.Discard, "", 0)}, srv)
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Stop() })

	rec := newRecorder()
	runDevice(t, testConfig("inv", addr), rec)
	if v := waitValue(t, rec, "inv/ac_power"); v.Value != 700.0 {
		t.Fatalf("before: ac_power %v", v.Value)
	}
	srv.set(after)
	testenv.Eventually(t, 10*time.Second, "ac_power from model 113", func() bool {
		v, _ := rec.value("inv/ac_power")
		return v.Value == 812.5
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if st := rec.states["inv"]; !st.Online || st.Error != "" || rec.offline["inv"] != 0 {
		t.Errorf("state %+v, offline %d times", st, rec.offline["inv"])
	}
}
