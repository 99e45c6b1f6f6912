package api

import "net/http"

// Status is the answer of GET /api/v1/status: the gateway's health for the
// UI's overview.
type Status struct {
	Health
	Store      bool           `json:"store"`      // history is kept (a store is configured)
	Config     bool           `json:"config"`     // the config can be edited through the API
	Broker     map[string]any `json:"broker"`     // the MQTT broker: embedded (clients, messages) or external; null without an mqtt sink
	Components map[string]any `json:"components"` // states sinks report (uplinks, …) by key
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if e := checkParams(r.URL.Query()); e != nil {
		writeError(w, e)
		return
	}
	st := Status{Health: health(s.bus, s.opts.Version), Store: s.opts.History != nil, Config: s.opts.Config != nil,
		Components: s.bus.GatewayStatus()}
	if s.opts.Broker != nil {
		st.Broker = s.opts.Broker()
	}
	if st.Components == nil {
		st.Components = map[string]any{}
	}
	writeJSON(w, http.StatusOK, st)
}
