package httpsim

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// dachs simulates a Senertec Dachs CHP's GLT interface: GET /getKey?k=...
// answers key=value lines; POST /setKeys with a form body sets keys. The
// CHP runs (5.3 kW) while Stromf_Ew.Anforderung_GLT.bAktiv is 1.
type dachs struct {
	keys map[string]float64
}

// DachsKeys are the keys the simulator knows, with their start values.
func DachsKeys() map[string]float64 {
	return map[string]float64{
		"Hka_Mw1.sWirkleistung":            5.3,
		"Hka_Bd.ulArbeitElektr":            40321,
		"Hka_Bd.ulArbeitThermHka":          98765,
		"Hka_Bd.ulAnzahlStarts":            1234,
		"Hka_Bd.bStoerung":                 0,
		"Stromf_Ew.Anforderung_GLT.bAktiv": 1,
	}
}

func newDachs() *dachs { return &dachs{keys: DachsKeys()} }

const writableDachsKey = "Stromf_Ew.Anforderung_GLT.bAktiv"

func (d *dachs) step(dt time.Duration) {
	if d.keys[writableDachsKey] == 1 {
		d.keys["Hka_Mw1.sWirkleistung"] = 5.3
		d.keys["Hka_Bd.ulArbeitElektr"] += 5.3 * dt.Hours()
		d.keys["Hka_Bd.ulArbeitThermHka"] += 12.5 * dt.Hours()
	} else {
		d.keys["Hka_Mw1.sWirkleistung"] = 0
	}
}

func (d *dachs) serve(r *http.Request, body []byte) (int, string, string) {
	switch {
	case r.URL.Path == "/getKey" && r.Method == http.MethodGet:
		return d.get(r.URL.Query()["k"])
	case r.URL.Path == "/setKeys" && r.Method == http.MethodPost:
		return d.set(string(body))
	}
	return http.StatusNotFound, "text/plain", "not found\n"
}

func (d *dachs) get(keys []string) (int, string, string) {
	var b strings.Builder
	for _, k := range keys {
		v, ok := d.keys[k]
		if !ok {
			fmt.Fprintf(&b, "%s=\n", k) // unknown keys answer empty
			continue
		}
		if strings.HasPrefix(k, "Hka_Bd.ul") { // counters are whole numbers
			v = math.Floor(v)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, strconv.FormatFloat(v, 'f', -1, 64))
	}
	return http.StatusOK, "text/plain", b.String()
}

// set accepts only the writable key with 0 or 1; it answers key=value.
func (d *dachs) set(body string) (int, string, string) {
	form, err := url.ParseQuery(body)
	if err != nil || len(form) == 0 {
		return http.StatusBadRequest, "text/plain", "bad form body\n"
	}
	var b strings.Builder
	for k, vs := range form {
		v, err := strconv.ParseFloat(vs[0], 64)
		if k != writableDachsKey || err != nil || (v != 0 && v != 1) {
			return http.StatusBadRequest, "text/plain", fmt.Sprintf("%s=%s refused\n", k, vs[0])
		}
		d.keys[k] = v
		d.step(0)
		fmt.Fprintf(&b, "%s=%s\n", k, vs[0])
	}
	return http.StatusOK, "text/plain", b.String()
}
