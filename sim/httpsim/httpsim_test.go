package httpsim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startTest(t *testing.T, name string) *Server {
	t.Helper()
	s, err := start(context.Background(), name, "127.0.0.1:0", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFronius(t *testing.T) {
	s := startTest(t, "fronius-solar-api")
	code, body := do(t, "GET", s.URL()+FroniusPath, "")
	if code != 200 || !strings.Contains(body, `"P_PV": 2500`) || !strings.Contains(body, `"P_Akku": -500`) {
		t.Errorf("%d %s", code, body)
	}
	if code, _ := do(t, "GET", s.URL()+"/other", ""); code != 404 {
		t.Errorf("other path: %d, want 404", code)
	}
	if s.Requests() != 2 {
		t.Errorf("Requests() = %d", s.Requests())
	}
}

func TestDachsSetAndGet(t *testing.T) {
	s := startTest(t, "senertec-dachs")
	get := s.URL() + "/getKey?k=Hka_Mw1.sWirkleistung&k=Stromf_Ew.Anforderung_GLT.bAktiv&k=nope"
	if _, body := do(t, "GET", get, ""); body != "Hka_Mw1.sWirkleistung=5.3\nStromf_Ew.Anforderung_GLT.bAktiv=1\nnope=\n" {
		t.Errorf("getKey: %q", body)
	}
	if code, _ := do(t, "POST", s.URL()+"/setKeys", "Hka_Bd.bStoerung=1"); code != 400 {
		t.Errorf("read-only key: %d, want 400", code)
	}
	if code, _ := do(t, "POST", s.URL()+"/setKeys", "Stromf_Ew.Anforderung_GLT.bAktiv=0"); code != 200 {
		t.Errorf("setKeys: %d", code)
	}
	if _, body := do(t, "GET", get, ""); !strings.HasPrefix(body, "Hka_Mw1.sWirkleistung=0\n") {
		t.Errorf("after stop: %q", body)
	}
}

func TestAmbusMetersAndFault(t *testing.T) {
	s := startTest(t, "ambus-net")
	req := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetMeterValues xmlns="http://tempuri.org/"><meterId>%s</meterId></GetMeterValues></soap:Body></soap:Envelope>`
	code, body := do(t, "POST", s.URL()+AmbusPath, strings.Replace(req, "%s", "1002", 1))
	if code != 200 || !strings.Contains(body, "<HeatPower>3.25</HeatPower>") {
		t.Errorf("meter 1002: %d %s", code, body)
	}
	code, body = do(t, "POST", s.URL()+AmbusPath, strings.Replace(req, "%s", "7&7", 1))
	if code != 500 || !strings.Contains(body, "<faultstring>unknown meter 7&amp;7</faultstring>") {
		t.Errorf("unknown meter: %d %s", code, body)
	}
}

func TestStepAndClose(t *testing.T) {
	s, err := start(context.Background(), "fronius-solar-api", "127.0.0.1:0", nil, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := Start(context.Background(), "no-such", "127.0.0.1:0", nil); err == nil || !strings.Contains(err.Error(), "ambus-net, fronius-solar-api, senertec-dachs") {
		t.Errorf("unknown simulator: %v", err)
	}
}
