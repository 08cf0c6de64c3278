// Package server is Parley's edge: the routes, the middleware,
// authentication, request decoding, the error-to-status table, the HTTP
// handlers and the WebSocket gateway (hub.go, conn.go). Every rule lives in
// the use cases of server/chat; a handler parses, calls one use case and
// answers, and the WebSocket frames call the same use cases.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/server/throttle"
	"github.com/parleychat/parley/store"
)

// Check is one dependency that /readyz reports.
type Check struct {
	Name string // "database", "bus", "presence"
	Ping func(context.Context) error
}

// Options is everything the server needs, built by main.
type Options struct {
	DB             *store.DB // required
	Logger         *slog.Logger
	NodeID         string
	Version        string
	UI             fs.FS // the built web UI (embed/dist); nil serves a notice
	SignupOpen     bool
	AllowedOrigins []string
	TrustedProxies []netip.Prefix
	Hasher         *chat.Hasher // nil means chat.DefaultArgon2
	SessionTTL     time.Duration
	// SessionCache is how long a node answers a token from memory (0:
	// chat.SessionCacheTTL; below 0: never).
	SessionCache time.Duration
	// Limits are the rate limits (chat.DefaultLimits suits people; zero
	// disables each); FrameRate limits WebSocket frames per connection.
	Limits    chat.Limits
	FrameRate chat.Rate
	// SendLimiter holds Limits.Send across a cluster; nil means per node.
	SendLimiter chat.SendLimiter
	// Files keeps file bytes (nil: in the database); MaxUpload bounds a
	// file (default chat.DefaultMaxUpload), UploadQuota a user's files.
	Files files.Store
	// Pusher sends Web Push notifications (nil: off); PushHidden leaves
	// message text out of them.
	Pusher      chat.Pusher
	PushHidden  bool
	MaxUpload   int64
	UploadQuota int64
	// Previews fetches link previews; nil turns them off.
	Previews chat.Previewer
	// AuditRetention is how long the audit log keeps an entry (0: a year).
	AuditRetention time.Duration
	// NewBus builds the event bus that hands events to h; nil means the
	// in-process bus.
	NewBus func(h event.Handler) (event.Bus, error)
	// Presence is the tracker; nil means the in-process one.
	Presence presence.Tracker
	Checks   []Check
	// Resync tells the server that the bus lost events (it reconnected):
	// local clients are closed with 1012 so they reconnect and /sync.
	Resync <-chan struct{}
	// Collectors are extra metrics to serve on /metrics.
	Collectors []prometheus.Collector
	// MetricsElsewhere: /metrics has a listener of its own
	// (PARLEY_METRICS_ADDR, through MetricsHandler), so the main port does
	// not serve it even to loopback clients.
	MetricsElsewhere bool
	// Heartbeat is how often presence is refreshed and sessions checked
	// (default DefaultHeartbeat; tests shorten it).
	Heartbeat time.Duration
	// RequestTimeout bounds an API request (default DefaultRequestTimeout):
	// with the database unreachable it answers 503 by then. BodyTimeout
	// bounds reading its body (default DefaultBodyTimeout). WebSockets are
	// exempt once upgraded.
	RequestTimeout, BodyTimeout time.Duration
	// MaxSocketsPerUser and MaxSocketsPerIP cap a node's WebSockets
	// (defaults DefaultMaxSocketsPerUser, DefaultMaxSocketsPerIP).
	MaxSocketsPerUser, MaxSocketsPerIP int
}

// Request bounds.
const (
	DefaultRequestTimeout = 15 * time.Second
	DefaultBodyTimeout    = 10 * time.Second
)

// DefaultFrameRate bounds client frames per connection (sends, receipts,
// typing, pings).
var DefaultFrameRate = chat.Rate{Per: 50, Burst: 200}

// Server serves the API, the WebSocket and the UI.
type Server struct {
	opts     Options
	log      *slog.Logger
	chat     *chat.Service
	cop      *http.CrossOriginProtection
	metrics  *httpMetrics
	handler  http.Handler
	bus      event.Bus
	tracker  presence.Tracker
	hub      *Hub
	warnings *throttle.Logger

	shutdownOnce sync.Once
	shutdownErr  error
}

// warn logs a warning that may repeat a lot during an outage.
func (s *Server) warn(msg string, args ...any) { s.warnings.Warn(msg, args...) }

type httpMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New builds a Server and starts its background work; Shutdown stops it.
func New(o Options) (*Server, error) {
	if o.DB == nil {
		return nil, errors.New("server: Options.DB is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = chat.DefaultMaxUpload
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	s := &Server{opts: o, log: o.Logger, cop: http.NewCrossOriginProtection(), warnings: throttle.New(o.Logger, 10*time.Second)}
	for _, origin := range o.AllowedOrigins {
		if err := s.cop.AddTrustedOrigin(origin); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = &httpMetrics{
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
	reg.MustRegister(o.Collectors...)

	s.tracker = o.Presence
	if s.tracker == nil {
		s.tracker = presence.NewMemory(presence.DefaultTTL)
	}
	newBus := o.NewBus
	if newBus == nil {
		newBus = func(h event.Handler) (event.Bus, error) { return event.NewMemory(h), nil }
	}
	// The bus hands events to the hub, which is made just below: nothing
	// is delivered before the hub subscribes a topic.
	var hub *Hub
	bus, err := newBus(func(ev event.Event) { hub.deliver(ev) })
	if err != nil {
		return nil, err
	}
	s.bus = bus
	s.chat = chat.New(chat.Options{
		DB: o.DB, Bus: bus, Tracker: s.tracker, NodeID: o.NodeID, Logger: o.Logger, Metrics: reg,
		Hasher: o.Hasher, SessionTTL: o.SessionTTL, SessionCache: o.SessionCache, SignupOpen: o.SignupOpen, Limits: o.Limits, SendLimiter: o.SendLimiter,
		Files: o.Files, MaxUpload: o.MaxUpload, UploadQuota: o.UploadQuota, Previews: o.Previews,
		Pusher: o.Pusher, PushHidden: o.PushHidden, AuditRetention: o.AuditRetention,
	})
	hub = newHub(hubOptions{Bus: bus, Tracker: s.tracker, Chat: s.chat, Log: o.Logger, Node: o.NodeID,
		Metrics: reg, Heartbeat: o.Heartbeat, FrameRate: o.FrameRate, Resync: o.Resync,
		MaxPerUser: o.MaxSocketsPerUser, MaxPerIP: o.MaxSocketsPerIP, CatchUp: !inProcess(bus)})
	s.hub = hub
	// every node hears of revoked sessions, whoever is connected to it
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = bus.Subscribe(sctx, event.AuthTopic)
	cancel()
	if err != nil {
		_ = bus.Close()
		return nil, fmt.Errorf("subscribe %s: %w", event.AuthTopic, err)
	}
	for _, c := range []Check{{Name: "bus", Ping: bus.Ping}, {Name: "presence", Ping: s.tracker.Ping}} {
		if !slices.ContainsFunc(o.Checks, func(o Check) bool { return o.Name == c.Name }) {
			s.opts.Checks = append(s.opts.Checks, c)
		}
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Accounts returns the account use cases (for tests).
func (s *Server) Accounts() *chat.Accounts { return s.chat.Accounts }

// CloseSockets closes every WebSocket with 1001 (going away) and waits for
// them: http.Server.Shutdown neither closes nor waits for hijacked
// connections. Call it when the listener stops accepting.
func (s *Server) CloseSockets(ctx context.Context) { s.hub.shutdown(ctx) }

// Shutdown closes the sockets, then stops the use cases (pending sends
// answered, receipts written) and closes the bus and the tracker. Call it
// after http.Server.Shutdown has drained the requests. Calls after the
// first return its answer.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.hub.shutdown(ctx)
		s.chat.Close()
		err := s.bus.Close()
		if terr := s.tracker.Close(); err == nil {
			err = terr
		}
		s.shutdownErr = err
	})
	return s.shutdownErr
}

// inProcess reports whether bus is the in-process one, which hands events
// over in publish order and binds a topic before it publishes the next.
func inProcess(bus event.Bus) bool {
	_, ok := bus.(*event.Memory)
	return ok
}
