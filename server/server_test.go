package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
)

func TestOpsEndpoints(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.must(200, "GET", "/healthz", nil)
	var ready map[string]string
	c.must(200, "GET", "/readyz", nil).decode(t, &ready)
	if ready["database"] != "ok" {
		t.Fatalf("readyz %v", ready)
	}
	e.signup("alice")
	c.must(200, "GET", "/c/12", nil) // a UI route
	m := string(c.must(200, "GET", "/metrics", nil).Body)
	for _, want := range []string{`parley_http_requests_total{method="POST",route="/api/v1/auth/signup",status="201"}`, "go_goroutines",
		"parley_http_request_duration_seconds_bucket", `route="ui",status="200"`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	down := newEnv(t, func(o *server.Options) {
		o.Checks = []server.Check{{Name: "bus", Ping: func(context.Context) error { return errors.New("connection refused") }}}
	})
	down.client().must(503, "GET", "/readyz", nil).decode(t, &ready)
	if ready["bus"] != "unavailable" || ready["database"] != "ok" {
		t.Fatalf("readyz %v (no error text in the answer)", ready)
	}

	// a presence outage degrades, but the node stays ready
	degraded := newEnv(t, func(o *server.Options) {
		o.Checks = []server.Check{{Name: "presence", Ping: func(context.Context) error { return errors.New("dial tcp 10.1.2.3:11211: refused") }}}
	})
	degraded.client().must(200, "GET", "/readyz", nil).decode(t, &ready)
	if ready["presence"] != "degraded" || ready["bus"] != "ok" {
		t.Fatalf("readyz %v", ready)
	}

	// a dependency that never answers: readyz still answers, in time
	hung := newEnv(t, func(o *server.Options) {
		o.Checks = []server.Check{{Name: "bus", Ping: func(context.Context) error { select {} }}}
	})
	start := time.Now()
	hung.client().must(503, "GET", "/readyz", nil).decode(t, &ready)
	if ready["bus"] != "unavailable" || time.Since(start) > 5*time.Second {
		t.Fatalf("readyz %v after %v", ready, time.Since(start))
	}

	// with a metrics listener of its own, the main port has no /metrics
	elsewhere := newEnv(t, func(o *server.Options) { o.MetricsElsewhere = true })
	elsewhere.client().must(404, "GET", "/metrics", nil)
}

func TestUIServing(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, path := range []string{"/", "/login", "/c/123", "/g/5/c/9", "/invite/abc"} {
		r := c.must(200, "GET", path, nil)
		if !strings.Contains(string(r.Body), "<title>Parley</title>") || r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: %q cache %q", path, r.Body, r.Header.Get("Cache-Control"))
		}
	}
	r := c.must(200, "GET", "/assets/app-abc.js", nil)
	if !strings.Contains(r.Header.Get("Cache-Control"), "immutable") || !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
		t.Errorf("asset headers %v", r.Header)
	}
	if r := c.must(200, "GET", "/favicon.svg", nil); r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("favicon cache %q", r.Header.Get("Cache-Control"))
	}
	c.must(404, "GET", "/assets/missing.js", nil)
	if code, _ := c.must(404, "GET", "/api/v2/x", nil).errCode(t); code != "not_found" {
		t.Error(code)
	}
	c.must(405, "POST", "/somewhere", "{}")
}
