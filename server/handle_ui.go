package server

import (
	"bytes"
	"github.com/parleychat/parley/server/chat"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// handleUI serves the embedded web UI: a file that exists is served as is
// (hashed assets cached for a year), and every other path gets index.html so
// the client's router can take it.
func (s *Server) handleUI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.respondError(w, r, errMethod)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.respondError(w, r, chat.ErrNotFound)
		return
	}
	info(r.Context()).route = "ui"
	ui := s.opts.UI
	if ui == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Parley is running, but this binary was built without its web UI (run `make build`).\n"))
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name != "" && name != "index.html" {
		if f, err := fs.Stat(ui, name); err == nil && !f.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache") // sw.js too: a new version is seen at once
			}
			if strings.HasSuffix(name, ".webmanifest") {
				w.Header().Set("Content-Type", "application/manifest+json")
			}
			http.ServeFileFS(w, r, ui, name)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
	}
	index, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		http.Error(w, "the web UI has no index.html", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
}
