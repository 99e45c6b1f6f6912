package victron

import (
	"errors"
	"strings"
)

// policy is the Victron access rules on the embedded broker.
type policy struct {
	id       string
	readOnly map[string]bool
}

func newPolicy(id string, readOnly []string) *policy {
	p := &policy{id: id, readOnly: map[string]bool{}}
	for _, u := range readOnly {
		p.readOnly[u] = true
	}
	return p
}

// Connect refuses client ids and user names with +, # or /.
func (p *policy) Connect(clientID, username string) error {
	if strings.ContainsAny(clientID, "+#/") || strings.ContainsAny(username, "+#/") {
		return errors.New("client id or user name contains +, # or /")
	}
	return nil
}

// Allow refuses N publishes for our portal id, W from read-only users, and
// subscriptions to (and delivery of) W topics that carry a password.
func (p *policy) Allow(_, username, topic string, write bool) bool {
	first, rest, _ := strings.Cut(topic, "/")
	id, _, _ := strings.Cut(rest, "/")
	switch {
	case write && first == "N" && id == p.id:
		return false
	case write && first == "W" && p.readOnly[username]:
		return false
	case !write && first == "W" && strings.Contains(strings.ToLower(topic), "password"):
		return false
	}
	return true
}
