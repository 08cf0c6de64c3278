// Package server is Parley's HTTP and WebSocket front: routes, handlers,
// authentication, and the use cases they share.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/presence"
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
	// SendRate limits messages per user (PARLEY_SEND_RATE); FrameRate
	// limits WebSocket frames per connection. Zero disables either.
	SendRate  Rate
	FrameRate Rate
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
	// Heartbeat is how often presence is refreshed and sessions checked
	// (default DefaultHeartbeat; tests shorten it).
	Heartbeat time.Duration
}

// DefaultSendRate suits people and ordinary bots: 10 messages a second,
// with a burst of three seconds' worth.
var DefaultSendRate = Rate{Per: 10, Burst: 30}

// DefaultFrameRate bounds client frames per connection (sends, receipts,
// typing, pings).
var DefaultFrameRate = Rate{Per: 50, Burst: 200}

// Server serves the API, the WebSocket and the UI.
type Server struct {
	opts     Options
	log      *slog.Logger
	accounts *Accounts
	cop      *http.CrossOriginProtection
	metrics  *metrics
	handler  http.Handler
	bus      event.Bus
	tracker  presence.Tracker
	hub      *Hub
	receipts *receiptBatcher
	sends    *sendBatcher

	outboxDone *outboxDeleter
	stopOutbox chan struct{}
	outboxDied chan struct{}

	signupLimit, loginIPLimit, loginUserLimit, sendLimit *keyedLimiter
}

type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	messages  prometheus.Counter
	published prometheus.Counter
	pubErrors prometheus.Counter
}

// New builds a Server and starts its background work; Shutdown stops it.
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
		sendLimit:      newKeyedLimiter(o.SendRate),
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
	s.metrics.messages = prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_messages_total", Help: "Messages accepted on this node."})
	s.metrics.published = prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_bus_events_published_total", Help: "Events published to the bus."})
	s.metrics.pubErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_bus_publish_errors_total", Help: "Events the bus refused."})
	reg.MustRegister(s.metrics.requests, s.metrics.latency, s.metrics.messages, s.metrics.published, s.metrics.pubErrors)
	reg.MustRegister(o.Collectors...)
	if o.DB != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_outbox_depth", Help: "Events waiting in the outbox (all nodes).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := o.DB.CountOutbox(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}

	s.tracker = o.Presence
	if s.tracker == nil {
		s.tracker = presence.NewMemory(presence.DefaultTTL)
	}
	s.hub = newHub(o.DB, s.tracker, s.log, o.NodeID, newHubMetrics(reg), o.Heartbeat)
	s.hub.onPres = s.publishPresence
	newBus := o.NewBus
	if newBus == nil {
		newBus = func(h event.Handler) (event.Bus, error) { return event.NewMemory(h), nil }
	}
	bus, err := newBus(s.hub.deliver)
	if err != nil {
		return nil, err
	}
	s.bus, s.hub.bus = bus, bus
	for _, c := range []Check{{Name: "bus", Ping: bus.Ping}, {Name: "presence", Ping: s.tracker.Ping}} {
		if !slices.ContainsFunc(o.Checks, func(o Check) bool { return o.Name == c.Name }) {
			s.opts.Checks = append(s.opts.Checks, c)
		}
	}
	s.outboxDone = &outboxDeleter{s: s, wake: make(chan struct{}, 1)}
	s.stopOutbox, s.outboxDied = make(chan struct{}), make(chan struct{})
	if o.DB != nil {
		s.receipts = newReceiptBatcher(s)
		s.sends = newSendBatcher(s)
		s.hub.start()
		if o.Resync != nil {
			s.hub.wg.Go(func() {
				for {
					select {
					case <-s.hub.stop:
						return
					case <-o.Resync:
						s.hub.resyncAll()
					}
				}
			})
		}
		go func() {
			defer close(s.outboxDied)
			s.runOutbox(s.stopOutbox)
		}()
	} else {
		close(s.outboxDied)
	}
	s.handler = s.routes()
	return s, nil
}

// publish sends an event through the bus, stamped with an id and this node.
// The database already holds the change, so a failed publish loses no data:
// clients catch up through /sync.
func (s *Server) publish(ctx context.Context, ev event.Event) {
	ctx = context.WithoutCancel(ctx) // the change is committed: tell everyone, even if the caller left
	ev.ID, ev.Origin, ev.At = event.NewID(), s.opts.NodeID, time.Now().UnixNano()
	if err := s.bus.Publish(ctx, ev); err != nil {
		s.metrics.pubErrors.Inc()
		s.log.Warn("event not published", "topic", ev.Topic, "err", err)
		return
	}
	s.metrics.published.Inc()
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Accounts returns the account use cases (for the admin CLI and tests).
func (s *Server) Accounts() *Accounts { return s.accounts }

// CloseSockets closes every WebSocket with 1001 (going away) and waits for
// them: http.Server.Shutdown neither closes nor waits for hijacked
// connections. Call it when the listener stops accepting.
func (s *Server) CloseSockets(ctx context.Context) { s.hub.shutdown(ctx) }

// Shutdown closes the sockets, then flushes pending receipts and closes the
// bus and the tracker. Call it after http.Server.Shutdown has drained the
// requests.
func (s *Server) Shutdown(ctx context.Context) error {
	s.hub.shutdown(ctx)
	if s.receipts != nil {
		s.receipts.close()
	}
	if s.sends != nil {
		s.sends.close()
	}
	select {
	case <-s.stopOutbox:
	default:
		close(s.stopOutbox)
	}
	<-s.outboxDied
	err := s.bus.Close()
	if terr := s.tracker.Close(); err == nil {
		err = terr
	}
	return err
}
