package httpsim

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"time"
)

// AmbusPath is the SOAP endpoint the AMBUS Net simulator answers.
const AmbusPath = "/AmbusNetWS/Service1.asmx"

// ambusMeter is one simulated heat meter.
type ambusMeter struct {
	heat, flow, energy, tFlow, tReturn float64
}

// ambus simulates an AMBUS Net gateway with meters 1001 and 1002; another
// meter id gets a SOAP fault with HTTP 500, as an .asmx service answers.
type ambus struct{ meters map[string]*ambusMeter }

func newAmbus() *ambus {
	return &ambus{meters: map[string]*ambusMeter{
		"1001": {heat: 12.5, flow: 1.08, energy: 45210, tFlow: 70.2, tReturn: 60.3},
		"1002": {heat: 3.25, flow: 0.31, energy: 8120, tFlow: 55.0, tReturn: 46.0},
	}}
}

func (a *ambus) step(dt time.Duration) {
	for _, m := range a.meters {
		m.energy += m.heat * dt.Hours()
	}
}

var meterIDRE = regexp.MustCompile(`<(?:\w+:)?meterId>\s*([^<\s]+)\s*</(?:\w+:)?meterId>`)

func (a *ambus) serve(r *http.Request, body []byte) (int, string, string) {
	if r.URL.Path != AmbusPath || r.Method != http.MethodPost {
		return http.StatusNotFound, "text/html", "<html><body>404</body></html>"
	}
	m := meterIDRE.FindSubmatch(body)
	if m == nil {
		return http.StatusInternalServerError, "text/xml; charset=utf-8", fault("no meterId in the request")
	}
	meter, ok := a.meters[string(m[1])]
	if !ok {
		return http.StatusInternalServerError, "text/xml; charset=utf-8", fault("unknown meter " + string(m[1]))
	}
	return http.StatusOK, "text/xml; charset=utf-8", fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soap:Body>
    <GetMeterValuesResponse xmlns="http://tempuri.org/">
      <GetMeterValuesResult>
        <MeterId>%s</MeterId>
        <HeatPower>%.2f</HeatPower>
        <Flow>%.3f</Flow>
        <HeatEnergy>%.0f</HeatEnergy>
        <FlowTemperature>%.1f</FlowTemperature>
        <ReturnTemperature>%.1f</ReturnTemperature>
      </GetMeterValuesResult>
    </GetMeterValuesResponse>
  </soap:Body>
</soap:Envelope>
`, html.EscapeString(string(m[1])), meter.heat, meter.flow, meter.energy, meter.tFlow, meter.tReturn)
}

func fault(msg string) string {
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>` +
		html.EscapeString(msg) + `</faultstring></soap:Fault></soap:Body></soap:Envelope>`
}
