package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// client writes line protocol bodies to one InfluxDB (1.x database or 2.x
// bucket) over HTTP.
type client struct {
	s        settings
	http     *http.Client
	writeURL string
}

func newClient(s settings) *client {
	q := url.Values{}
	path := "/write"
	if s.v2() {
		path = "/api/v2/write"
		q.Set("org", s.org)
		q.Set("bucket", s.bucket)
	} else {
		q.Set("db", s.database)
	}
	q.Set("precision", s.precision)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true // the answers are tiny; the bodies we send are gzipped by us
	return &client{s: s, http: &http.Client{Timeout: s.timeout, Transport: tr}, writeURL: s.url + path + "?" + q.Encode()}
}

// writeError is a write the server answered with something other than 204.
type writeError struct {
	status    int
	msg       string
	permanent bool // retrying the same body cannot succeed: the batch is dropped
	dropped   int  // lines the server refused in a partial write (dropped=N), -1 unknown
}

func (e *writeError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.status, e.msg)
}

var errDatabaseNotFound = errors.New("database not found")

var droppedRE = regexp.MustCompile(`dropped=(\d+)`)

// write sends one body (gzip-compressed when gz) with the precision its
// lines were encoded in. nil means the server acknowledged it (HTTP 204).
// A *writeError with permanent set means retrying is useless; any other
// error is worth retrying.
func (c *client) write(ctx context.Context, body []byte, gz bool, precision string) error {
	u := c.writeURL
	if precision != c.s.precision {
		u = strings.Replace(u, "precision="+c.s.precision, "precision="+precision, 1)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	c.auth(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	text := strings.TrimSpace(string(msg))
	if e := errorField(msg); e != "" {
		text = e
	}
	if !c.s.v2() && resp.StatusCode == http.StatusNotFound && strings.Contains(text, "database not found") {
		return errDatabaseNotFound
	}
	we := &writeError{status: resp.StatusCode, msg: text, dropped: -1}
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		we.permanent = true
		if m := droppedRE.FindStringSubmatch(text); m != nil && strings.Contains(text, "partial write") {
			we.dropped, _ = strconv.Atoi(m[1])
		}
	}
	return we
}

// createDatabase runs CREATE DATABASE for a 1.x target.
func (c *client) createDatabase(ctx context.Context) error {
	form := url.Values{"q": {`CREATE DATABASE "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.s.database) + `"`}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.url+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.auth(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CREATE DATABASE: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if e := errorField(msg); e != "" {
		return fmt.Errorf("CREATE DATABASE: %s", e)
	}
	return nil
}

func (c *client) auth(req *http.Request) {
	switch {
	case c.s.v2() && c.s.token != "":
		req.Header.Set("Authorization", "Token "+c.s.token)
	case !c.s.v2() && c.s.username != "":
		req.SetBasicAuth(c.s.username, c.s.password)
	}
}

// errorField returns the "error" (1.x) or "message" (2.x) of a JSON answer,
// or the error of the first statement of a query answer.
func errorField(b []byte) string {
	var a struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if json.Unmarshal(b, &a) != nil {
		return ""
	}
	switch {
	case a.Error != "":
		return a.Error
	case a.Message != "":
		return a.Message
	case len(a.Results) > 0:
		return a.Results[0].Error
	}
	return ""
}
