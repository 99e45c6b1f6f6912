package api

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// uiFiles is the web UI: index.html, the app's modules and styles, and the
// vendored libraries (ui/vendor, with their licences). No build step.
//
//go:embed ui
var uiFiles embed.FS

// asset is one UI file with its gzip form.
type asset struct {
	data, gz []byte
	ctype    string
}

// assets are the UI's files by path below ui/.
type assets map[string]asset

// loadAssets reads and compresses every UI file.
func loadAssets() (assets, error) {
	out := assets{}
	err := fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" || strings.HasPrefix(p, "ui/vendor/LICENSE") {
			ct = "text/plain; charset=utf-8"
		}
		out[strings.TrimPrefix(p, "ui/")] = asset{data: data, gz: buf.Bytes(), ctype: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("api: ui files: %w", err)
	}
	return out, nil
}

// PageWeight is the size of the UI's files as served: raw and gzip-compressed.
func PageWeight() (raw, compressed int, err error) {
	as, err := loadAssets()
	if err != nil {
		return 0, 0, err
	}
	for name, a := range as {
		if strings.HasPrefix(name, "vendor/LICENSE") {
			continue
		}
		raw += len(a.data)
		compressed += len(a.gz)
	}
	return raw, compressed, nil
}

func (s *Server) handleUI(w http.ResponseWriter, r *http.Request) {
	s.serveAsset(w, r, "index.html")
}

func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	s.serveAsset(w, r, r.PathValue("file"))
}

// serveAsset answers one UI file, gzip-compressed when the client accepts it.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := s.assets[name]
	if !ok {
		writeError(w, errorf(http.StatusNotFound, "", "no UI file %s", name))
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Security-Policy", uiPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	body := a.data
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	_, _ = w.Write(body)
}
