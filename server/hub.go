package server

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/store"
)

// DefaultHeartbeat is how often a node refreshes the presence of its users
// (well inside presence.DefaultTTL) and checks their sessions.
const DefaultHeartbeat = 20 * time.Second

// Hub knows this node's WebSocket connections: which users are connected and
// which conversations they are in. It binds the bus topics they need
// (reference-counted: the first local interest binds, the last unbinds) and
// hands every arriving event to the right connections.
//
// One mutex guards the maps. Deliveries copy the recipients under it and
// send outside it, never blocking: a full connection buffer closes that
// connection. Bus I/O happens outside the lock, serialised by bindMu.
type Hub struct {
	db      *store.DB
	bus     event.Bus
	tracker presence.Tracker
	log     *slog.Logger
	node    string
	m       *hubMetrics
	onPres  func(ctx context.Context, userID int64, online bool) // publish a presence transition

	mu     sync.Mutex
	users  map[int64]*localUser
	convs  map[int64]map[int64]struct{} // conversation → local users in it
	marked map[int64]bool               // users this node has told the tracker about
	closed bool

	bindMu sync.Mutex
	bound  map[string]bool

	presMu [64]sync.Mutex // serialises presence transitions per user

	every time.Duration // heartbeat interval

	wg   sync.WaitGroup
	stop chan struct{}
}

type localUser struct {
	conns map[*Conn]struct{}
	convs map[int64]struct{}
}

type hubMetrics struct {
	connections prometheus.Gauge
	slowCloses  prometheus.Counter
	dropped     prometheus.Counter
	deliveries  prometheus.Counter
	events      prometheus.Counter
	latency     prometheus.Histogram
}

func newHubMetrics(reg prometheus.Registerer) *hubMetrics {
	m := &hubMetrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_ws_connections", Help: "Open WebSocket connections on this node."}),
		slowCloses:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_slow_consumer_closes_total", Help: "Connections closed because their send buffer was full."}),
		dropped:     prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_dropped_frames_total", Help: "Typing and presence frames dropped under pressure."}),
		deliveries:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_deliveries_total", Help: "Frames queued to WebSocket connections."}),
		events:      prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_bus_events_received_total", Help: "Events received from the bus."}),
	}
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_event_latency_seconds", Help: "From a change (a message sent) to its fan-out on this node, across the bus.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	reg.MustRegister(m.connections, m.slowCloses, m.dropped, m.deliveries, m.events, m.latency)
	return m
}

func newHub(db *store.DB, tracker presence.Tracker, log *slog.Logger, node string, m *hubMetrics, every time.Duration) *Hub {
	if every <= 0 {
		every = DefaultHeartbeat
	}
	return &Hub{every: every,
		db: db, tracker: tracker, log: log, node: node, m: m,
		users: make(map[int64]*localUser), convs: make(map[int64]map[int64]struct{}),
		marked: make(map[int64]bool), bound: make(map[string]bool), stop: make(chan struct{}),
	}
}

// start begins the presence heartbeat.
func (h *Hub) start() {
	h.wg.Go(func() {
		t := time.NewTicker(h.every)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				h.mu.Lock()
				ids := make([]int64, 0, len(h.users))
				for id := range h.users {
					ids = append(ids, id)
				}
				h.mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				h.heartbeat(ctx, ids)
				h.checkSessions(ctx)
				cancel()
			}
		}
	})
}

// heartbeat refreshes the presence of local users, and brings back those
// the tracker lost (its store restarted, or was down): presence recovers by
// itself.
func (h *Hub) heartbeat(ctx context.Context, ids []int64) {
	missing, err := h.tracker.Heartbeat(ctx, ids)
	if err != nil {
		h.log.Warn("presence heartbeat failed", "err", err)
		// the store may be down: try again next time, from scratch
		h.mu.Lock()
		for _, id := range ids {
			delete(h.marked, id)
		}
		h.mu.Unlock()
		return
	}
	for _, id := range missing {
		h.mu.Lock()
		delete(h.marked, id)
		h.mu.Unlock()
		h.syncPresence(ctx, id)
	}
	// a user marked missing above, or never marked because the tracker
	// failed at connect, is connected again now
	h.mu.Lock()
	var unmarked []int64
	for id := range h.users {
		if !h.marked[id] {
			unmarked = append(unmarked, id)
		}
	}
	h.mu.Unlock()
	for _, id := range unmarked {
		h.syncPresence(ctx, id)
	}
}

// checkSessions closes connections whose session has ended without an event
// (expired, or revoked by the admin CLI): one query per interval per node.
func (h *Hub) checkSessions(ctx context.Context) {
	h.mu.Lock()
	bySession := make(map[int64][]*Conn)
	for _, lu := range h.users {
		for c := range lu.conns {
			bySession[c.sessionID] = append(bySession[c.sessionID], c)
		}
	}
	h.mu.Unlock()
	if len(bySession) == 0 {
		return
	}
	ids := make([]int64, 0, len(bySession))
	for id := range bySession {
		ids = append(ids, id)
	}
	live, err := h.db.ListLiveSessions(ctx, ids)
	if err != nil {
		h.log.Warn("session check failed", "err", err)
		return
	}
	for _, id := range live {
		delete(bySession, id)
	}
	for _, conns := range bySession {
		for _, c := range conns {
			c.close(4001, "session ended")
		}
	}
}

// register adds c and makes sure every event for its user and their
// conversations reaches this node before it returns; only then may hello go
// out.
func (h *Hub) register(ctx context.Context, c *Conn) error {
	uid := c.user.ID
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errUnavailable
	}
	lu := h.users[uid]
	if lu == nil {
		lu = &localUser{conns: make(map[*Conn]struct{}), convs: make(map[int64]struct{})}
		h.users[uid] = lu
	}
	lu.conns[c] = struct{}{}
	h.mu.Unlock()
	h.m.connections.Inc()

	// The user topic first, so no join is missed while the list loads.
	h.syncTopics(ctx, []string{event.UserTopic(uid)})
	ids, err := h.db.ListUserConversationIDs(ctx, uid)
	if err != nil {
		return err
	}
	h.join(uid, ids)
	topics := make([]string, 0, len(ids))
	for _, id := range ids {
		topics = append(topics, event.ConversationTopic(id))
	}
	h.syncTopics(ctx, topics)
	h.syncPresence(ctx, uid)
	return nil
}

// unregister removes c; the user's last connection takes their
// conversations' topics with it.
func (h *Hub) unregister(c *Conn) {
	uid := c.user.ID
	var topics []string
	h.mu.Lock()
	lu := h.users[uid]
	if lu == nil {
		h.mu.Unlock()
		return
	}
	if _, ok := lu.conns[c]; !ok {
		h.mu.Unlock()
		return
	}
	delete(lu.conns, c)
	if len(lu.conns) == 0 {
		delete(h.users, uid)
		topics = append(topics, event.UserTopic(uid))
		for cid := range lu.convs {
			if set := h.convs[cid]; set != nil {
				delete(set, uid)
				if len(set) == 0 {
					delete(h.convs, cid)
				}
			}
			topics = append(topics, event.ConversationTopic(cid))
		}
	}
	h.mu.Unlock()
	h.m.connections.Dec()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.syncTopics(ctx, topics)
	h.syncPresence(ctx, uid)
}

// join records that uid's local connections are in the conversations ids.
func (h *Hub) join(uid int64, ids []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lu := h.users[uid]
	if lu == nil {
		return
	}
	for _, id := range ids {
		lu.convs[id] = struct{}{}
		set := h.convs[id]
		if set == nil {
			set = make(map[int64]struct{})
			h.convs[id] = set
		}
		set[uid] = struct{}{}
	}
}

func (h *Hub) leave(uid int64, ids []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lu := h.users[uid]
	if lu == nil {
		return
	}
	for _, id := range ids {
		delete(lu.convs, id)
		if set := h.convs[id]; set != nil {
			delete(set, uid)
			if len(set) == 0 {
				delete(h.convs, id)
			}
		}
	}
}

// isMember reports whether uid, connected here, is in conversation cid.
func (h *Hub) isMember(uid, cid int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	lu := h.users[uid]
	if lu == nil {
		return false
	}
	_, ok := lu.convs[cid]
	return ok
}

// wanted reports whether this node still needs topic.
func (h *Hub) wanted(topic string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	kind, id := parseTopic(topic)
	switch kind {
	case 'u':
		return h.users[id] != nil
	case 'c':
		return len(h.convs[id]) > 0
	}
	return false
}

// syncTopics binds or unbinds each topic to match what the local
// connections need now. Serialised, so binds and unbinds never reorder.
func (h *Hub) syncTopics(ctx context.Context, topics []string) {
	if len(topics) == 0 {
		return
	}
	h.bindMu.Lock()
	defer h.bindMu.Unlock()
	for _, t := range topics {
		want := h.wanted(t)
		switch {
		case want && !h.bound[t]:
			if err := h.bus.Subscribe(ctx, t); err != nil {
				h.log.Warn("bus subscribe failed", "topic", t, "err", err)
				continue
			}
			h.bound[t] = true
		case !want && h.bound[t]:
			if err := h.bus.Unsubscribe(ctx, t); err != nil {
				h.log.Warn("bus unsubscribe failed", "topic", t, "err", err)
			}
			delete(h.bound, t)
		}
	}
}

// syncPresence tells the tracker whether uid has connections here, and
// publishes the transition when the user came online or went offline
// everywhere.
func (h *Hub) syncPresence(ctx context.Context, uid int64) {
	mu := &h.presMu[uint64(uid)%uint64(len(h.presMu))]
	mu.Lock()
	defer mu.Unlock()
	h.mu.Lock()
	local, marked := h.users[uid] != nil, h.marked[uid]
	h.mu.Unlock()
	switch {
	case local && !marked:
		came, err := h.tracker.Connect(ctx, uid)
		if err != nil {
			h.log.Warn("presence connect failed", "user_id", uid, "err", err)
			return
		}
		h.mu.Lock()
		h.marked[uid] = true
		h.mu.Unlock()
		if came && h.onPres != nil {
			h.onPres(ctx, uid, true)
		}
	case !local && marked:
		h.mu.Lock()
		delete(h.marked, uid)
		h.mu.Unlock()
		went, err := h.tracker.Disconnect(ctx, uid)
		if err != nil {
			h.log.Warn("presence disconnect failed", "user_id", uid, "err", err)
		}
		if went && h.onPres != nil {
			h.onPres(ctx, uid, false)
		}
	}
}

// deliver is the bus Handler: it applies the event's routing changes and
// queues its frame to every local recipient, without blocking.
func (h *Hub) deliver(ev event.Event) {
	h.m.events.Inc()
	if ev.At > 0 && ev.Frame != nil {
		h.m.latency.Observe(time.Since(time.Unix(0, ev.At)).Seconds())
	}
	kind, id := parseTopic(ev.Topic)
	if kind == 'u' && (len(ev.Join) > 0 || len(ev.Leave) > 0) {
		h.join(id, ev.Join)
		h.leave(id, ev.Leave)
		topics := make([]string, 0, len(ev.Join)+len(ev.Leave))
		for _, cid := range append(append([]int64(nil), ev.Join...), ev.Leave...) {
			topics = append(topics, event.ConversationTopic(cid))
		}
		// Bind before delivering anything else, so the conversation's next
		// events reach these connections: this delays the delivery path by
		// one bind, but never under the hub lock.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h.syncTopics(ctx, topics)
		cancel()
	}
	if ev.Frame == nil && len(ev.CloseSessions) == 0 {
		return
	}
	var targets []*Conn
	h.mu.Lock()
	switch kind {
	case 'u':
		if lu := h.users[id]; lu != nil {
			for c := range lu.conns {
				targets = append(targets, c)
			}
		}
	case 'c':
		for uid := range h.convs[id] {
			if uid == ev.ExceptUser {
				continue
			}
			for c := range h.users[uid].conns {
				targets = append(targets, c)
			}
		}
	}
	h.mu.Unlock()
	for _, c := range targets {
		if closesSession(ev.CloseSessions, c.sessionID) {
			c.close(4001, "session ended")
			continue
		}
		if ev.Frame != nil {
			c.enqueue(ev.Frame, ev.Droppable)
		}
	}
}

func closesSession(ids []int64, id int64) bool {
	for _, s := range ids {
		if s == id {
			return true
		}
	}
	return false
}

// parseTopic splits "u.12" or "c.34".
func parseTopic(t string) (byte, int64) {
	if len(t) < 3 || t[1] != '.' {
		return 0, 0
	}
	id, err := strconv.ParseInt(t[2:], 10, 64)
	if err != nil {
		return 0, 0
	}
	return t[0], id
}

// shutdown closes every connection with 1001 (going away) and waits for
// them, within ctx.
func (h *Hub) shutdown(ctx context.Context) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	var all []*Conn
	for _, lu := range h.users {
		for c := range lu.conns {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	close(h.stop)
	for _, c := range all {
		c.close(1001, "server shutting down")
	}
	for _, c := range all {
		select {
		case <-c.finished:
		case <-ctx.Done():
			return
		}
	}
	h.wg.Wait()
}

// resyncAll closes every local connection with 1012 (service restart): the
// bus lost events, and clients reconnect and /sync to get them.
func (h *Hub) resyncAll() {
	h.mu.Lock()
	var all []*Conn
	for _, lu := range h.users {
		for c := range lu.conns {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	if len(all) > 0 {
		h.log.Warn("the event bus reconnected: asking local clients to resync", "connections", len(all))
	}
	for _, c := range all {
		c.close(1012, "events may have been missed: reconnect and sync")
	}
}

// count returns the number of local connections (for tests and logs).
func (h *Hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, lu := range h.users {
		n += len(lu.conns)
	}
	return n
}
