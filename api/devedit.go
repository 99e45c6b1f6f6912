package api

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/gridbox/gridbox/profile"
	"gopkg.in/yaml.v3"
)

// ConfigEditor changes the config file the gateway runs with: `gridbox run`
// provides one (cmd/gridbox/control.go). EditConfig calls edit with the
// file's bytes, validates what it returns like `gridbox check`, and when
// there are no problems writes it atomically (keeping the previous version
// as <file>.bak) and returns apply, which restarts the gateway in-process
// with it; the caller answers first and calls apply after.
type ConfigEditor interface {
	EditConfig(ctx context.Context, edit func(old []byte) ([]byte, error)) (id string, problems []string, apply func(), err error)
	// ConfigFile returns the config file as it is on disk.
	ConfigFile() ([]byte, error)
}

// ProfileLister lists the built-in profiles for the UI's device form.
type ProfileLister interface {
	Summaries() ([]profile.Summary, error)
}

// ProfileInfo is one entry of GET /api/v1/profiles.
type ProfileInfo struct {
	Name        string   `json:"name"`
	Driver      string   `json:"driver"`
	Description string   `json:"description"`
	Datapoints  []string `json:"datapoints"`
}

// DeviceChange is the answer to a device added, changed or removed.
type DeviceChange struct {
	OK       bool   `json:"ok"`
	ID       string `json:"id"`
	ConfigID string `json:"config_id"`
}

// ConfigProblems is the 422 answer to a change the config check refuses.
type ConfigProblems struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems"`
}

func (s *Server) handleProfiles(w http.ResponseWriter, r *http.Request) {
	out, e := s.profileInfos()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// profileInfos lists the built-in profiles.
func (s *Server) profileInfos() ([]ProfileInfo, *httpError) {
	out := []ProfileInfo{}
	if s.opts.Profiles == nil {
		return out, nil
	}
	sums, err := s.opts.Profiles.Summaries()
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "profiles: %v", err)
	}
	for _, p := range sums {
		pi := ProfileInfo{Name: p.Name, Driver: p.Driver, Description: p.Description, Datapoints: []string{}}
		for _, d := range p.Datapoints {
			pi.Datapoints = append(pi.Datapoints, d.Name)
		}
		out = append(out, pi)
	}
	return out, nil
}

// handleDeviceConfig answers a device's entry of the config file as YAML,
// as written there (${ENV} references not expanded), for the UI's editor.
func (s *Server) handleDeviceConfig(w http.ResponseWriter, r *http.Request) {
	if s.opts.Config == nil {
		writeError(w, errorf(http.StatusNotImplemented, "", "the config cannot be edited here: run the gateway with `gridbox run -c FILE`"))
		return
	}
	id := r.PathValue("id")
	data, err := s.opts.Config.ConfigFile()
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, "", "%v", err))
		return
	}
	var entry *yaml.Node
	if _, e := editDeviceSeq(data, func(seq *yaml.Node) *httpError {
		if i := deviceIndex(seq, id); i >= 0 {
			entry = seq.Content[i]
		}
		return nil
	}); e != nil {
		writeError(w, e)
		return
	}
	if entry == nil {
		writeError(w, errorf(http.StatusNotFound, "", "no device %q in the config", id))
		return
	}
	c := *entry
	plain(&c)
	out, err := yaml.Marshal(&c)
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, "", "%v", err))
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}

func (s *Server) handleDeviceAdd(w http.ResponseWriter, r *http.Request) {
	entry, id, e := readDeviceEntry(w, r, "")
	if e != nil {
		writeError(w, e)
		return
	}
	s.editDevices(w, r, id, http.StatusCreated, func(seq *yaml.Node) *httpError {
		if deviceIndex(seq, id) >= 0 {
			return errorf(http.StatusConflict, "id", "device %q already exists", id)
		}
		seq.Content = append(seq.Content, entry)
		return nil
	})
}

func (s *Server) handleDeviceEdit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	entry, _, e := readDeviceEntry(w, r, id)
	if e != nil {
		writeError(w, e)
		return
	}
	s.editDevices(w, r, id, http.StatusOK, func(seq *yaml.Node) *httpError {
		i := deviceIndex(seq, id)
		if i < 0 {
			return errorf(http.StatusNotFound, "", "no device %q in the config", id)
		}
		old := seq.Content[i]
		entry.HeadComment, entry.LineComment, entry.FootComment = old.HeadComment, old.LineComment, old.FootComment
		seq.Content[i] = entry
		return nil
	})
}

func (s *Server) handleDeviceRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.editDevices(w, r, id, http.StatusOK, func(seq *yaml.Node) *httpError {
		i := deviceIndex(seq, id)
		if i < 0 {
			return errorf(http.StatusNotFound, "", "no device %q in the config", id)
		}
		seq.Content = append(seq.Content[:i], seq.Content[i+1:]...)
		return nil
	})
}

// editDevices applies change to the config file's devices sequence, answers
// and then applies the new config.
func (s *Server) editDevices(w http.ResponseWriter, r *http.Request, id string, status int, change func(seq *yaml.Node) *httpError) {
	if s.opts.Config == nil {
		writeError(w, errorf(http.StatusNotImplemented, "", "the config cannot be edited here: run the gateway with `gridbox run -c FILE`"))
		return
	}
	var he *httpError
	cid, problems, apply, err := s.opts.Config.EditConfig(r.Context(), func(old []byte) ([]byte, error) {
		out, e := editDeviceSeq(old, change)
		if e != nil {
			he = e
			return nil, e
		}
		return out, nil
	})
	switch {
	case he != nil:
		writeError(w, he)
	case err != nil:
		writeError(w, errorf(http.StatusInternalServerError, "", "%v", err))
	case len(problems) > 0:
		writeJSON(w, http.StatusUnprocessableEntity, ConfigProblems{Error: "the config check refused the change: " + problems[0], Problems: problems})
	default:
		s.log.Info("config changed", "device", id, "method", r.Method, "config_id", cid, "remote", r.RemoteAddr)
		w.Header().Set("Connection", "close") // the server restarts: do not keep this connection for the next request
		writeJSON(w, status, DeviceChange{OK: true, ID: id, ConfigID: cid})
		_ = http.NewResponseController(w).Flush()
		apply()
	}
}

// editDeviceSeq parses the file as a node tree (keeping comments and key
// order; ${ENV} references are not expanded), hands change the devices
// sequence and encodes the tree again.
func editDeviceSeq(data []byte, change func(seq *yaml.Node) *httpError) ([]byte, *httpError) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "config file: %v", err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errorf(http.StatusInternalServerError, "", "config file: not a mapping")
	}
	seq := mapValue(root, "devices")
	if seq == nil || (seq.Kind == yaml.ScalarNode && seq.Tag == "!!null") {
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		setMapValue(root, "devices", seq)
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, errorf(http.StatusInternalServerError, "", "config file: devices is not a list")
	}
	if e := change(seq); e != nil {
		return nil, e
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, errorf(http.StatusInternalServerError, "", "config file: %v", err)
	}
	_ = enc.Close()
	return buf.Bytes(), nil
}

// readDeviceEntry decodes one device entry (JSON object with the YAML keys,
// or the same in YAML, as one list item of `gridbox scan` prints it) into a block-style YAML mapping in the body's key order. With pathID the
// entry's id must be absent or equal (and is set).
func readDeviceEntry(w http.ResponseWriter, r *http.Request, pathID string) (*yaml.Node, string, *httpError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, "", bodyError(err)
	}
	var doc yaml.Node
	err = yaml.Unmarshal(body, &doc)
	var entry *yaml.Node
	if err == nil && len(doc.Content) == 1 {
		entry = doc.Content[0]
		if entry.Kind == yaml.SequenceNode && len(entry.Content) == 1 { // one item of `gridbox scan`'s output
			entry = entry.Content[0]
		}
	}
	if entry == nil || entry.Kind != yaml.MappingNode {
		return nil, "", errorf(http.StatusBadRequest, "body", "want one device entry as a JSON object, like {\"id\": \"pv\", \"driver\": \"modbus\", …} (or one YAML entry of gridbox scan)")
	}
	plain(entry)
	id := ""
	if v := mapValue(entry, "id"); v != nil {
		id = v.Value
	}
	switch {
	case pathID != "" && id != "" && id != pathID:
		return nil, "", errorf(http.StatusBadRequest, "id", "id %q differs from the path's %q", id, pathID)
	case pathID != "" && id == "":
		id = pathID
		entry.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "id"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: id}}, entry.Content...)
	case id == "":
		return nil, "", errorf(http.StatusBadRequest, "id", "the device needs an id")
	}
	return entry, id, nil
}

// plain drops the JSON styles (flow, quotes) so the entry is written like the rest of the file.
func plain(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
}

func deviceIndex(seq *yaml.Node, id string) int {
	for i, d := range seq.Content {
		if v := mapValue(d, "id"); v != nil && v.Value == id {
			return i
		}
	}
	return -1
}

// mapValue returns the value of key k of mapping m, or nil.
func mapValue(m *yaml.Node, k string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i+1]
		}
	}
	return nil
}

// setMapValue sets key k of mapping m to v, appending the key when absent.
func setMapValue(m *yaml.Node, k string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
}
