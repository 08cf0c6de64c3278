// Package chat holds Parley's use cases: every rule about accounts,
// contacts, conversations, messages, receipts, groups, invites, sync and
// presence, one method of Service per use case. The edge (server/) parses
// requests and frames, calls one method, and answers; HTTP and the
// WebSocket share the same methods, so a rule is checked once, the same way
// for both.
//
// Every change is written with its events to the outbox in one transaction
// and published after commit (outbox.go); sends are committed in groups
// (sends.go), receipts in batches (receipts.go).
package chat

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/server/search"
	"github.com/parleychat/parley/server/throttle"
	"github.com/parleychat/parley/store"
)

// Options is what a Service is built from.
type Options struct {
	DB      *store.DB
	Bus     event.Bus
	Tracker presence.Tracker
	NodeID  string
	Logger  *slog.Logger
	// Metrics receives the service's metrics; nil registers nowhere.
	Metrics prometheus.Registerer

	Hasher     *Hasher // nil means DefaultArgon2
	SessionTTL time.Duration
	// SessionCache is how long a token is answered from memory: 0 means
	// SessionCacheTTL, below 0 reads every request's session.
	SessionCache time.Duration
	SignupOpen   bool
	Limits       Limits
	// SendLimiter limits sends (Limits.Send); nil means this node's own.
	SendLimiter SendLimiter

	// Files keeps file bytes; MaxUpload bounds one file, UploadQuota a
	// user's files together (0: no quota).
	Files       files.Store
	MaxUpload   int64
	UploadQuota int64
	// Pusher sends Web Push notifications; nil turns them off.
	Pusher Pusher
	// PushHidden leaves message text out of pushes.
	PushHidden bool
	// Search finds messages; nil: in the database.
	Search search.Engine
	// Previews fetches link previews; nil turns them off.
	Previews Previewer
	// AuditRetention is how long audit entries are kept; 0 means
	// DefaultAuditRetention.
	AuditRetention time.Duration
}

// DefaultMaxUpload is the largest file by default (PARLEY_MAX_UPLOAD_MB).
const DefaultMaxUpload = 25 << 20

// Service is the use cases, built once per node.
type Service struct {
	*Accounts
	db      *store.DB
	bus     event.Bus
	tracker presence.Tracker
	node    string
	log     *slog.Logger
	m       *metrics
	open    bool // sign-up
	// auditKeep is how long audit entries are kept
	auditKeep time.Duration

	limits      limiters
	files       files.Store
	maxUpload   int64
	uploadQuota int64
	uploading   inFlight
	filesWork   *filesWorker
	previewer   Previewer
	search      search.Engine
	searching   chan struct{}
	pusher      Pusher
	pushHidden  bool
	previewWork *previewWorker
	sendLimit   SendLimiter
	device      *deviceKey
	sessions    *sessionCache
	sends       *sendBatcher
	receipts    *receiptBatcher
	deleter     *outboxDeleter
	publisher   *publisher
	warnings    *throttle.Logger

	stop      chan struct{}
	stopOnce  sync.Once
	workersWG sync.WaitGroup
}

type metrics struct {
	messages  prometheus.Counter
	published prometheus.Counter
	pubErrors prometheus.Counter
	pushes    prometheus.Counter
}

// New builds the Service and starts its background work (the send and
// receipt batchers, the outbox deleter and sweeper); Close stops it.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hasher == nil {
		o.Hasher = NewHasher(DefaultArgon2)
	}
	s := &Service{
		Accounts: &Accounts{DB: o.DB, Hasher: o.Hasher, SessionTTL: o.SessionTTL},
		db:       o.DB, bus: o.Bus, tracker: o.Tracker, node: o.NodeID, log: o.Logger, open: o.SignupOpen,
		limits: newLimiters(o.Limits), device: &deviceKey{},
		stop: make(chan struct{}),
		m: &metrics{
			messages:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_messages_total", Help: "Messages accepted on this node."}),
			published: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_bus_events_published_total", Help: "Events published to the bus."}),
			pubErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_bus_publish_errors_total", Help: "Events the bus refused."}),
			pushes:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_pushes_total", Help: "Web Push messages a push service accepted from this node."}),
		},
	}
	if o.Metrics != nil {
		o.Metrics.MustRegister(s.m.messages, s.m.published, s.m.pubErrors, s.m.pushes,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
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
	s.warnings = throttle.New(s.log, warnEvery)
	s.files, s.maxUpload, s.uploadQuota, s.previewer = o.Files, o.MaxUpload, o.UploadQuota, o.Previews
	s.search, s.searching = o.Search, make(chan struct{}, searchesAtOnce)
	s.pusher, s.pushHidden = o.Pusher, o.PushHidden
	if s.auditKeep = o.AuditRetention; s.auditKeep <= 0 {
		s.auditKeep = DefaultAuditRetention
	}
	if s.search == nil {
		s.search = search.NewPostgres(o.DB.Pool)
	}
	if s.maxUpload <= 0 {
		s.maxUpload = DefaultMaxUpload
	}
	if s.files == nil {
		s.files = files.NewPostgres(o.DB)
	}
	s.filesWork = newFilesWorker(s)
	s.previewWork = newPreviewWorker(s)
	s.sendLimit = o.SendLimiter
	if s.sendLimit == nil {
		s.sendLimit = NewLocalSendLimiter(o.Limits.Send)
	}
	s.deleter = &outboxDeleter{s: s, wake: make(chan struct{}, 1)}
	s.publisher = newPublisher(s)
	s.receipts = newReceiptBatcher(s)
	s.sends = newSendBatcher(s)
	if o.SessionCache == 0 {
		o.SessionCache = SessionCacheTTL
	}
	s.sessions = newSessionCache(o.SessionCache)
	s.workersWG.Go(s.runOutbox)
	s.workersWG.Go(s.filesWork.run)
	s.workersWG.Go(s.previewWork.run)
	s.workersWG.Go(s.runPush)
	s.workersWG.Go(s.runSearchUpkeep)
	return s
}

// Close stops the background work: pending sends are answered, pending
// receipts written, published outbox rows deleted. Call it once the edge
// no longer calls the Service.
func (s *Service) Close() {
	s.stopOnce.Do(func() {
		s.receipts.close()
		s.sends.close()
		s.publisher.close()
		close(s.stop)
		s.workersWG.Wait()
	})
}

// Node is this node's id.
func (s *Service) Node() string { return s.node }

// Ping checks the database (for /readyz).
func (s *Service) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// warnEvery is how often one kind of warning may be logged.
const warnEvery = 10 * time.Second

// warn logs a warning that may repeat a lot during an outage (one line an
// interval, with a count).
func (s *Service) warn(msg string, args ...any) { s.warnings.Warn(msg, args...) }

// Actor is who asks: the authenticated user, and the session they came with.
type Actor struct {
	User      store.User
	SessionID int64
	// Address is the client's address, for the audit log.
	Address string
}

// ID is the actor's user id.
func (a Actor) ID() int64 { return a.User.ID }

// publish sends an event that needs no outbox (typing, presence): it may be
// lost, and clients recover from that.
func (s *Service) publish(ctx context.Context, evs ...event.Event) {
	ctx = context.WithoutCancel(ctx) // the change is made: tell everyone, even if the caller left
	now := time.Now().UnixNano()
	for i := range evs {
		evs[i].ID, evs[i].Origin, evs[i].At = event.NewID(), s.node, now
	}
	n, err := event.PublishAll(ctx, s.bus, evs)
	s.m.published.Add(float64(n))
	if err != nil {
		s.m.pubErrors.Inc()
		s.warn("event not published", "count", len(evs)-n, "err", err)
	}
}
