package server

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleychat/parley/server/chat"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "node": s.opts.NodeID, "version": s.opts.Version})
}

// handleConfig tells a client, before anyone logs in, what this server
// offers: whether sign-up is open, and its version.
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	signup := "closed"
	if s.opts.SignupOpen {
		signup = "open"
	}
	writeJSON(w, http.StatusOK, map[string]any{"signup": signup, "version": s.opts.Version,
		"max_upload_bytes": s.opts.MaxUpload, "link_previews": s.opts.Previews != nil, "push": s.opts.Pusher != nil})
}

// readyTimeout bounds /readyz, however slow a dependency is.
const readyTimeout = 2 * time.Second

// handleReadyz asks every dependency at once and answers within
// readyTimeout: 200 when the database and the bus answer, else 503, with
// each one's state ("ok", "unavailable", or for presence "degraded": a
// presence outage does not take a node out of its load balancer, as
// messaging works without it). Error details go to the log, not the
// answer.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks := append([]Check{{Name: "database", Ping: s.chat.Ping}}, s.opts.Checks...)
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(checks))
	for _, c := range checks {
		go func() { results <- result{c.Name, c.Ping(ctx)} }()
	}
	out := make(map[string]string, len(checks))
	for _, c := range checks {
		out[c.Name] = "unavailable" // until it answers
	}
	status := http.StatusOK
	for range checks {
		var res result
		select {
		case res = <-results:
		case <-ctx.Done():
			res = result{err: ctx.Err()}
		}
		if res.name == "" {
			break // the rest did not answer in time
		}
		if res.err == nil {
			out[res.name] = "ok"
			continue
		}
		s.warn("readiness check failed", "check", res.name, "err", res.err)
		if res.name == "presence" {
			out[res.name] = "degraded"
		}
	}
	for name, state := range out {
		if state == "unavailable" {
			status = http.StatusServiceUnavailable
			if ctx.Err() != nil {
				s.warn("readiness check timed out", "check", name)
			}
		}
	}
	writeJSON(w, status, out)
}

// handleMetrics serves Prometheus metrics: on the main port only to
// loopback clients, and not at all there once PARLEY_METRICS_ADDR gives
// them a listener of their own (MetricsHandler).
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.opts.MetricsElsewhere || !remoteAddr(r.RemoteAddr).IsLoopback() {
		s.respondError(w, r, chat.ErrNotFound)
		return
	}
	s.MetricsHandler().ServeHTTP(w, r)
}

// MetricsHandler serves /metrics, for a listener of its own.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// openAPI is the API's OpenAPI 3.1 document, written by hand beside the
// routes and kept true by the tests (openapi_test.go): every route is in
// it, and every response of the integration tests is checked against it.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI is the document (for tests and tools).
func OpenAPI() []byte { return openAPI }

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPI)
}
