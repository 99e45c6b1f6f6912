package httpsim

import (
	"encoding/json"
	"math"
	"net/http"
	"time"
)

// FroniusPath is the Solar API request the Fronius simulator answers.
const FroniusPath = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"

// fronius simulates an inverter with a battery: PV 2500 W, 500 W charging
// the battery (P_Akku -500), 1200 W exported (P_Grid -1200), so the site
// consumes 800 W (P_Load -800); SOC 55.5 % rising slowly while charging.
type fronius struct {
	pv, akku, grid float64 // W, Fronius signs
	soc            float64 // %
	eTotal         float64 // Wh
	started        time.Time
}

func newFronius() *fronius {
	return &fronius{pv: 2500, akku: -500, grid: -1200, soc: 55.5, eTotal: 8_106_606, started: time.Now()}
}

func (f *fronius) step(dt time.Duration) {
	h := dt.Hours()
	f.eTotal += f.pv * h
	f.soc = math.Min(100, f.soc-f.akku*h/100) // a 10 kWh battery: 100 Wh per %
}

func (f *fronius) serve(r *http.Request, _ []byte) (int, string, string) {
	if r.URL.Path != FroniusPath {
		return http.StatusNotFound, "text/html", "<html><body>404 Not Found</body></html>"
	}
	load := -(f.pv + f.grid + f.akku)
	doc := map[string]any{
		"Body": map[string]any{"Data": map[string]any{
			"Inverters": map[string]any{"1": map[string]any{
				"Battery_Mode": "normal", "DT": 1, "E_Day": nil, "E_Total": round(f.eTotal), "E_Year": nil,
				"P": f.pv + f.akku, "SOC": round1(f.soc),
			}},
			"Site": map[string]any{
				"BackupMode": false, "BatteryStandby": false, "E_Day": nil, "E_Total": round(f.eTotal), "E_Year": nil,
				"Meter_Location": "grid", "Mode": "bidirectional", "P_Akku": f.akku, "P_Grid": f.grid,
				"P_Load": load, "P_PV": f.pv, "rel_Autonomy": 100.0, "rel_SelfConsumption": 52.0,
			},
			"Version": "12",
		}},
		"Head": map[string]any{
			"RequestArguments": map[string]any{},
			"Status":           map[string]any{"Code": 0, "Reason": "", "UserMessage": ""},
			"Timestamp":        time.Now().UTC().Format(time.RFC3339),
		},
	}
	b, _ := json.MarshalIndent(doc, "", "   ")
	return http.StatusOK, "application/json", string(b)
}

func round(x float64) float64  { return math.Round(x) }
func round1(x float64) float64 { return math.Round(x*10) / 10 }
