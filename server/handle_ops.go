package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "node": s.opts.NodeID, "version": s.opts.Version})
}

// handleReadyz pings every dependency at once: 200 when all answer, else 503,
// with each one's state.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := append([]Check{{Name: "database", Ping: s.chat.Ping}}, s.opts.Checks...)
	out := make(map[string]string, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	status := http.StatusOK
	for _, c := range checks {
		wg.Go(func() {
			state := "ok"
			if err := c.Ping(ctx); err != nil {
				state = err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			out[c.Name] = state
			if state != "ok" {
				status = http.StatusServiceUnavailable
			}
		})
	}
	wg.Wait()
	writeJSON(w, status, out)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
