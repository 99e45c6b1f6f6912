package broker

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"
)

// Access is what an MQTT user may do on the embedded broker.
type Access int

// Access levels, from least to most.
const (
	AccessRead  Access = iota + 1 // subscribe; every publish is refused and counted
	AccessWrite                   // subscribe and publish (not retained, not $SYS)
	AccessAdmin                   // everything: retained publishes and $SYS topics too
)

// ParseAccess reads "read", "write" or "admin".
func ParseAccess(s string) (Access, error) {
	switch s {
	case "read":
		return AccessRead, nil
	case "write":
		return AccessWrite, nil
	case "admin":
		return AccessAdmin, nil
	}
	return 0, fmt.Errorf("%q: want read, write or admin", s)
}

func (a Access) String() string {
	return [...]string{"none", "read", "write", "admin"}[max(0, min(int(a), 3))]
}

// User is one account of the embedded broker. Exactly one of PasswordHash
// (bcrypt) and Password is set.
type User struct {
	Name         string
	PasswordHash string   // bcrypt hash ($2a$, $2b$, $2y$)
	Password     string   // plain password, usually from ${ENV}
	Access       Access   // read, write or admin
	Topics       []string // topic filters the user may use; empty means all. %u is the user name, %c the client id
}

// Check validates a user: a name without wildcards, one credential, a
// parseable bcrypt hash and valid topic filters.
func (u User) Check() error {
	if u.Name == "" {
		return fmt.Errorf("user without a name")
	}
	if strings.ContainsAny(u.Name, "+#/") {
		return fmt.Errorf("user %q: name must not contain +, # or /", u.Name)
	}
	switch {
	case (u.PasswordHash == "") == (u.Password == ""):
		return fmt.Errorf("user %q: set exactly one of password_hash (bcrypt) and password", u.Name)
	case u.PasswordHash != "":
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return fmt.Errorf("user %q: password_hash is not a bcrypt hash: %w", u.Name, err)
		}
	}
	if u.Access < AccessRead || u.Access > AccessAdmin {
		return fmt.Errorf("user %q: access must be read, write or admin", u.Name)
	}
	for _, t := range u.Topics {
		if !mqtt.IsValidFilter(t, false) {
			return fmt.Errorf("user %q: topic %q is not a valid MQTT topic filter", u.Name, t)
		}
	}
	return nil
}

// account is a user ready for checks.
type account struct {
	User
	hash []byte
	pass []byte
}

// authHook authenticates clients (users, the anonymous rule, client id
// and user name syntax) and authorises their publishes and subscriptions
// (access level and topic patterns). Every refusal is counted and logged.
type authHook struct {
	mqtt.HookBase
	log   *slog.Logger
	users map[string]*account
	// anon reports whether anonymous clients may connect on a listener id.
	anon func(listener string) bool
	// extra is a further check of a publish or subscription (the rules sinks
	// add to the broker); nil allows all.
	extra func(cl *mqtt.Client, topic string, write bool) bool

	badCredentials atomic.Int64 // CONNECTs refused: unknown user, wrong password, anonymous
	badClientID    atomic.Int64 // CONNECTs refused: client id or user name with + # /
	pubRefused     atomic.Int64 // publishes refused by access or topic patterns
	subRefused     atomic.Int64 // subscriptions refused by topic patterns
	rateLimited    atomic.Int64 // publishes dropped over the per-client message rate

	msgLimit *limiter // per client id
}

func newAuthHook(log *slog.Logger, users []User, anon func(string) bool, msgLimit *limiter) (*authHook, error) {
	h := &authHook{log: log, users: map[string]*account{}, anon: anon, msgLimit: msgLimit}
	for _, u := range users {
		if err := u.Check(); err != nil {
			return nil, err
		}
		if _, dup := h.users[u.Name]; dup {
			return nil, fmt.Errorf("user %q is configured twice", u.Name)
		}
		h.users[u.Name] = &account{User: u, hash: []byte(u.PasswordHash), pass: []byte(u.Password)}
	}
	return h, nil
}

func (h *authHook) ID() string { return "gridbox-auth" }

func (h *authHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnDisconnect:
		return true
	}
	return false
}

// OnConnectAuthenticate accepts a client with a configured user name and
// its password, or an anonymous client where the anonymous rule allows it.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	name := string(pk.Connect.Username)
	if strings.ContainsAny(cl.ID, "+#/") || strings.ContainsAny(name, "+#/") {
		n := h.badClientID.Add(1)
		h.log.Warn("MQTT client refused: client id or user name contains +, # or /",
			"client", short(cl.ID), "user", short(name), "remote", cl.Net.Remote, "refused_total", n)
		return false
	}
	if !pk.Connect.UsernameFlag || name == "" {
		if h.anon(cl.Net.Listener) {
			return true
		}
		return h.refuse(cl, name, "anonymous clients are not allowed (configure mqtt.users)")
	}
	a, ok := h.users[name]
	if !ok {
		if h.anon(cl.Net.Listener) && len(h.users) == 0 {
			return true // no users configured: a user name is only a label
		}
		return h.refuse(cl, name, "unknown user")
	}
	if !a.passwordOK(pk.Connect.Password) {
		return h.refuse(cl, name, "wrong password")
	}
	return true
}

func (a *account) passwordOK(pw []byte) bool {
	if len(a.hash) > 0 {
		return bcrypt.CompareHashAndPassword(a.hash, pw) == nil
	}
	return subtle.ConstantTimeCompare(a.pass, pw) == 1
}

func (h *authHook) refuse(cl *mqtt.Client, name, why string) bool {
	n := h.badCredentials.Add(1)
	h.log.Warn("MQTT client refused: "+why, "client", short(cl.ID), "user", short(name),
		"remote", cl.Net.Remote, "refused_total", n)
	return false
}

// OnACLCheck decides publishes (write) and subscriptions (read). Deliveries
// to a subscriber are checked too (mochi asks with write=false per message);
// those pass when the subscription did.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	a := h.users[string(cl.Properties.Username)]
	access, topics := AccessAdmin, []string(nil)
	if a != nil {
		access, topics = a.Access, a.Topics
	}
	ok := h.allowed(cl, access, topics, topic, write) && (h.extra == nil || h.extra(cl, topic, write))
	if ok {
		return true
	}
	var n int64
	if write {
		n = h.pubRefused.Add(1)
	} else {
		n = h.subRefused.Add(1)
	}
	what := "subscription"
	if write {
		what = "publish"
	}
	h.log.Warn("MQTT "+what+" refused", "client", short(cl.ID), "user", short(string(cl.Properties.Username)),
		"access", access.String(), "topic", short(topic), "refused_total", n)
	return false
}

func (h *authHook) allowed(cl *mqtt.Client, access Access, topics []string, topic string, write bool) bool {
	if strings.HasPrefix(topic, "$") && access < AccessAdmin {
		return false
	}
	if write && access < AccessWrite {
		return false
	}
	if len(topics) == 0 {
		return true
	}
	user := string(cl.Properties.Username)
	for _, p := range topics {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "%u", user), "%c", cl.ID)
		if filterWithin(topic, p) {
			return true
		}
	}
	return false
}

// filterWithin reports whether every topic that filter f matches is also
// matched by pattern p (f may be a plain topic name).
func filterWithin(f, p string) bool {
	fs, ps := strings.Split(f, "/"), strings.Split(p, "/")
	for i, pl := range ps {
		if pl == "#" {
			return true
		}
		if i >= len(fs) {
			return false
		}
		switch fl := fs[i]; {
		case fl == "#":
			return false
		case pl == "+":
			continue
		case fl != pl:
			return false
		}
	}
	return len(fs) == len(ps)
}

// OnPublish refuses retained publishes of users below admin and drops
// publishes over the client's message rate. Both are acknowledged (so a
// QoS 1 client does not resend) but not delivered, and counted.
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	if pk.FixedHeader.Retain && h.access(cl) < AccessAdmin {
		n := h.pubRefused.Add(1)
		h.log.Warn("MQTT retained publish refused: only admin users may retain messages", "client", short(cl.ID),
			"user", short(string(cl.Properties.Username)), "topic", short(pk.TopicName), "refused_total", n)
		return pk, packets.CodeSuccessIgnore
	}
	if !h.msgLimit.allow(cl.ID) {
		if n := h.rateLimited.Add(1); n == 1 || n%1000 == 0 {
			h.log.Warn("MQTT publishes dropped over the message rate limit (logged every 1000)", "client", short(cl.ID),
				"remote", cl.Net.Remote, "dropped_total", n)
		}
		return pk, packets.CodeSuccessIgnore
	}
	return pk, nil
}

// OnDisconnect forgets the client's message bucket.
func (h *authHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { h.msgLimit.forget(cl.ID) }

// access is the client's access level: its user's, or admin for an
// anonymous client (it was let in by the anonymous rule).
func (h *authHook) access(cl *mqtt.Client) Access {
	if a := h.users[string(cl.Properties.Username)]; a != nil {
		return a.Access
	}
	return AccessAdmin
}
