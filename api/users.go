package api

import (
	"fmt"
	"time"

	"github.com/gridbox/gridbox/config"
	"golang.org/x/crypto/bcrypt"
)

// User is one entry of `http.users`: a person who logs in to the web UI
// (POST /api/v1/login) with a name and a password. The password is given as
// a bcrypt hash (password_hash) or in clear text, normally as "${ENV}"
// (password); role admin may write and change the config, viewer only reads.
type User struct {
	Name         string `yaml:"name"`
	PasswordHash string `yaml:"password_hash"`
	Password     string `yaml:"password"`
	Role         string `yaml:"role"`
}

// Roles of users.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// sessionTTL is how long a login token is valid.
const sessionTTL = 12 * time.Hour

// validateUsers reports every problem of the users list.
func validateUsers(users []User) []config.FieldError {
	var errs []config.FieldError
	seen := map[string]bool{}
	for i, u := range users {
		p := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Name == "":
			errs = append(errs, config.Errf(p+".name", "is empty"))
		case seen[u.Name]:
			errs = append(errs, config.Errf(p+".name", "%q appears twice", u.Name))
		}
		seen[u.Name] = true
		if (u.PasswordHash == "") == (u.Password == "") {
			errs = append(errs, config.Errf(p, "set exactly one of password_hash (bcrypt) and password"))
		} else if u.PasswordHash != "" {
			if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
				errs = append(errs, config.Errf(p+".password_hash", "not a bcrypt hash: %v", err))
			}
		}
		if !config.OneOf(u.Role, RoleAdmin, RoleViewer) {
			errs = append(errs, config.Errf(p+".role", "%q: want admin or viewer", u.Role))
		}
	}
	return errs
}

// userSet checks passwords; clear-text passwords are hashed once at start.
type userSet struct {
	byName map[string]User
	dummy  []byte // compared for unknown names, so they take as long as known ones
}

func newUserSet(users []User) (*userSet, error) {
	if len(users) == 0 {
		return nil, nil
	}
	if errs := validateUsers(users); len(errs) > 0 {
		return nil, fmt.Errorf("api: %s: %s", errs[0].Path, errs[0].Msg)
	}
	set := &userSet{byName: map[string]User{}}
	for _, u := range users {
		if u.PasswordHash == "" {
			h, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.DefaultCost)
			if err != nil {
				return nil, fmt.Errorf("api: user %s: %w", u.Name, err)
			}
			u.PasswordHash, u.Password = string(h), ""
		}
		set.byName[u.Name] = u
		set.dummy = []byte(u.PasswordHash)
	}
	return set, nil
}

// check returns the user when name and password match.
func (s *userSet) check(name, password string) (User, bool) {
	u, ok := s.byName[name]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(s.dummy, []byte(password))
		return User{}, false
	}
	return u, bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
}
