// Package server is Parley's HTTP and WebSocket front: routes, handlers,
// authentication, and the use cases they share.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parleychat/parley/store"
)

// Check is one dependency that /readyz reports.
type Check struct {
	Name string // "database", "bus", "presence"
	Ping func(context.Context) error
}

// Limits are the rate limits; a zero Rate disables one.
type Limits struct {
	Signup    Rate // per client IP
	LoginIP   Rate // per client IP
	LoginUser Rate // per username
}

// DefaultLimits suit people: a handful of sign-ups per address, and enough
// login attempts for typos but not for guessing.
var DefaultLimits = Limits{
	Signup:    Rate{Per: 1.0 / 60, Burst: 10},
	LoginIP:   Rate{Per: 1.0 / 3, Burst: 20},
	LoginUser: Rate{Per: 1.0 / 6, Burst: 10},
}

// Options is everything the server needs, built by main.
type Options struct {
	DB             *store.DB
	Logger         *slog.Logger
	NodeID         string
	Version        string
	UI             fs.FS // the built web UI (embed/dist); nil serves a notice
	SignupOpen     bool
	AllowedOrigins []string
	TrustedProxies []netip.Prefix
	Hasher         *Hasher // nil means DefaultArgon2
	SessionTTL     time.Duration
	Limits         Limits
	Checks         []Check
}

// Server serves the API, the WebSocket and the UI.
type Server struct {
	opts     Options
	log      *slog.Logger
	accounts *Accounts
	cop      *http.CrossOriginProtection
	metrics  *metrics
	handler  http.Handler

	signupLimit, loginIPLimit, loginUserLimit *keyedLimiter
}

type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New builds a Server. It returns an error for an invalid allowed origin.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hasher == nil {
		o.Hasher = NewHasher(DefaultArgon2)
	}
	s := &Server{
		opts:           o,
		log:            o.Logger,
		accounts:       &Accounts{DB: o.DB, Hasher: o.Hasher, SessionTTL: o.SessionTTL},
		cop:            http.NewCrossOriginProtection(),
		signupLimit:    newKeyedLimiter(o.Limits.Signup),
		loginIPLimit:   newKeyedLimiter(o.Limits.LoginIP),
		loginUserLimit: newKeyedLimiter(o.Limits.LoginUser),
	}
	for _, origin := range o.AllowedOrigins {
		if err := s.cop.AddTrustedOrigin(origin); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(s.metrics.requests, s.metrics.latency)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Accounts returns the account use cases (for the admin CLI and tests).
func (s *Server) Accounts() *Accounts { return s.accounts }

// Shutdown closes what http.Server.Shutdown does not: long-lived
// connections. It is called once the listener has stopped accepting.
func (s *Server) Shutdown(ctx context.Context) error { return nil }
