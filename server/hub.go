package server

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/server/throttle"
)

// DefaultHeartbeat is how often a node refreshes the presence of its users
// (well inside presence.DefaultTTL) and checks their sessions.
const DefaultHeartbeat = 20 * time.Second

// presenceWait bounds how long a new connection waits for the tracker to
// record it before hello goes out anyway (a slow or absent presence store
// must not hold up messaging).
const presenceWait = 500 * time.Millisecond

// Hub knows this node's WebSocket connections: which users are connected,
// which conversations and groups they are in. It binds the bus topics they
// need (reference-counted: the first local interest binds, the last
// unbinds) and hands every arriving event to the right connections.
//
// One mutex guards the maps. Deliveries copy the recipients under it and
// send outside it, never blocking: a full connection buffer closes that
// connection. Bus I/O happens outside the lock, serialised by bindMu;
// presence I/O happens in one goroutine of its own (presence.go), never
// under a lock.
type Hub struct {
	bus       event.Bus
	tracker   presence.Tracker
	chat      *chat.Service
	log       *slog.Logger
	node      string
	m         *hubMetrics
	every     time.Duration // heartbeat interval
	frameRate chat.Rate
	maxUser   int
	maxIP     int

	mu     sync.Mutex
	users  map[int64]*localUser
	perIP  map[string]int               // local connections per client address (chat.IPKey)
	convs  map[int64]map[int64]struct{} // conversation → local users in it
	groups map[int64]map[int64]struct{} // group → local users in it
	closed bool
	// Connections by what they view (a viewing frame): the conversation,
	// and the group of a channel. ViewersOnly events go to these alone.
	viewers      map[int64]map[*Conn]struct{}
	groupViewers map[int64]map[*Conn]struct{}

	bindMu sync.Mutex
	bound  map[string]bool

	// Catching up members who just joined a conversation (see runCatchUp).
	catchUp bool
	watch   map[watchKey]map[int64]struct{} // guarded by mu
	catchMu chan struct{}                   // bounds the catch-ups running at once

	pres     *presenceWorker
	warnings *throttle.Logger

	wg   sync.WaitGroup
	stop chan struct{}
}

type localUser struct {
	conns  map[*Conn]struct{}
	convs  map[int64]struct{}
	groups map[int64]struct{}
}

type hubOptions struct {
	Bus       event.Bus
	Tracker   presence.Tracker
	Chat      *chat.Service
	Log       *slog.Logger
	Node      string
	Metrics   prometheus.Registerer
	Heartbeat time.Duration
	FrameRate chat.Rate
	Resync    <-chan struct{} // the bus lost events: every client resyncs
	// Caps on connections to this node: per user and per client address.
	MaxPerUser, MaxPerIP int
	// CatchUp: the bus routes an event when it is published, so a node
	// binding a conversation for a member who just joined it may miss what
	// was published meanwhile, and replays it (every bus but the
	// in-process one, which delivers and binds in publish order).
	CatchUp bool
}

// Default caps on a node's WebSocket connections.
const (
	DefaultMaxSocketsPerUser = 50
	DefaultMaxSocketsPerIP   = 1000
)

// errTooMany refuses a connection over a cap; its message is the close reason.
type errTooMany string

func (e errTooMany) Error() string { return string(e) }

type hubMetrics struct {
	connections prometheus.Gauge
	slowCloses  prometheus.Counter
	dropped     prometheus.Counter
	deliveries  prometheus.Counter
	writes      prometheus.Counter
	events      prometheus.Counter
	catchUps    prometheus.Counter
	latency     prometheus.Histogram
}

func newHubMetrics(reg prometheus.Registerer) *hubMetrics {
	m := &hubMetrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_ws_connections", Help: "Open WebSocket connections on this node."}),
		slowCloses:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_slow_consumer_closes_total", Help: "Connections closed because their send buffer was full."}),
		dropped:     prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_dropped_frames_total", Help: "Droppable frames (typing, presence, errors) dropped under pressure."}),
		deliveries:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_deliveries_total", Help: "Frames queued to WebSocket connections."}),
		writes:      prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_writes_total", Help: "Writes to WebSocket connections' sockets: a batch of frames is one."}),
		events:      prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_bus_events_received_total", Help: "Events received from the bus."}),
		catchUps:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_catchup_runs_total", Help: "Catch-ups of members who just joined conversations: one per event that added members on this node, however many."}),
	}
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "parley_event_latency_seconds", Help: "From a change (a message sent) to its fan-out on this node, across the bus.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	reg.MustRegister(m.connections, m.slowCloses, m.dropped, m.deliveries, m.writes, m.events, m.catchUps, m.latency)
	return m
}

// newHub makes the hub and starts its heartbeat and presence work.
func newHub(o hubOptions) *Hub {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = DefaultMaxSocketsPerUser
	}
	if o.MaxPerIP <= 0 {
		o.MaxPerIP = DefaultMaxSocketsPerIP
	}
	h := &Hub{every: o.Heartbeat, frameRate: o.FrameRate, maxUser: o.MaxPerUser, maxIP: o.MaxPerIP, perIP: map[string]int{},
		bus: o.Bus, tracker: o.Tracker, chat: o.Chat, log: o.Log, node: o.Node, m: newHubMetrics(o.Metrics),
		users: make(map[int64]*localUser), convs: make(map[int64]map[int64]struct{}),
		groups: make(map[int64]map[int64]struct{}), bound: make(map[string]bool), stop: make(chan struct{}),
		viewers: make(map[int64]map[*Conn]struct{}), groupViewers: make(map[int64]map[*Conn]struct{}),
		catchUp: o.CatchUp, watch: make(map[watchKey]map[int64]struct{}), catchMu: make(chan struct{}, 4),
		warnings: throttle.New(o.Log, 10*time.Second),
	}
	if o.Tracker != nil {
		h.pres = newPresenceWorker(h)
		h.wg.Go(h.pres.run)
		h.wg.Go(h.checkSessionsLoop)
	}
	if o.Resync != nil {
		h.wg.Go(func() {
			for {
				select {
				case <-h.stop:
					return
				case <-o.Resync:
					h.resyncAll()
				}
			}
		})
	}
	return h
}

func (h *Hub) warn(msg string, args ...any) { h.warnings.Warn(msg, args...) }

func (h *Hub) checkSessionsLoop() {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			h.checkSessions(ctx)
			cancel()
		}
	}
}

// checkSessions closes connections whose session has ended without an event
// (expired, or revoked by the admin CLI): one query per interval per node.
func (h *Hub) checkSessions(ctx context.Context) {
	h.mu.Lock()
	bySession := make(map[int64][]*Conn)
	for _, lu := range h.users {
		for c := range lu.conns {
			bySession[c.me.SessionID] = append(bySession[c.me.SessionID], c)
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
	live, err := h.chat.LiveSessions(ctx, ids)
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
	uid := c.me.ID()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return chat.ErrUnavailable
	}
	lu := h.users[uid]
	switch {
	case lu != nil && len(lu.conns) >= h.maxUser:
		h.mu.Unlock()
		return errTooMany(fmt.Sprintf("too many connections for this user (%d per server)", h.maxUser))
	case h.perIP[c.ip] >= h.maxIP && !c.local:
		h.mu.Unlock()
		return errTooMany(fmt.Sprintf("too many connections from this address (%d per server)", h.maxIP))
	}
	if lu == nil {
		lu = &localUser{conns: make(map[*Conn]struct{}), convs: make(map[int64]struct{}), groups: make(map[int64]struct{})}
		h.users[uid] = lu
	}
	lu.conns[c] = struct{}{}
	h.perIP[c.ip]++
	h.mu.Unlock()
	h.m.connections.Inc()

	// The user topic first, so no join is missed while the list loads.
	h.syncTopics(ctx, []string{event.UserTopic(uid)})
	routes, err := h.chat.UserRoutes(ctx, uid)
	if err != nil {
		return err
	}
	h.mu.Lock()
	topics := h.route(uid, routes.Conversations, nil, routes.Groups, nil)
	h.mu.Unlock()
	h.syncTopics(ctx, topics)
	h.pres.changed(uid, presenceWait)
	return nil
}

// unregister removes c; the user's last connection takes their
// conversations' and groups' topics with it.
func (h *Hub) unregister(c *Conn) {
	uid := c.me.ID()
	var topics []string
	h.mu.Lock()
	lu := h.users[uid]
	if lu == nil || !has(lu.conns, c) {
		h.mu.Unlock()
		return
	}
	delete(lu.conns, c)
	h.setView(c, 0, 0)
	if h.perIP[c.ip]--; h.perIP[c.ip] <= 0 {
		delete(h.perIP, c.ip)
	}
	if len(lu.conns) == 0 {
		topics = h.route(uid, nil, keys(lu.convs), nil, keys(lu.groups))
		delete(h.users, uid)
		topics = append(topics, event.UserTopic(uid))
	}
	h.mu.Unlock()
	h.m.connections.Dec()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.syncTopics(ctx, topics)
	h.pres.changed(uid, 0)
}

func has[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

func keys(m map[int64]struct{}) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// view records that c now shows conversation conv (0: none), of group
// (0: a direct chat). A connection that is gone is left out.
func (h *Hub) view(c *Conn, conv, group int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if lu := h.users[c.me.ID()]; lu == nil || !has(lu.conns, c) {
		return
	}
	h.setView(c, conv, group)
}

// setView moves c between the viewer sets. Call it with h.mu held.
func (h *Hub) setView(c *Conn, conv, group int64) {
	move := func(all map[int64]map[*Conn]struct{}, from, to int64) {
		if from == to {
			return
		}
		if set := all[from]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(all, from)
			}
		}
		if to != 0 {
			if all[to] == nil {
				all[to] = make(map[*Conn]struct{})
			}
			all[to][c] = struct{}{}
		}
	}
	move(h.viewers, c.viewConv, conv)
	move(h.groupViewers, c.viewGroup, group)
	c.viewConv, c.viewGroup = conv, group
}

// viewing returns the connections viewing the conversation or group of
// topic whose users are still routed to it. Call it with h.mu held.
func (h *Hub) viewing(kind byte, id, except int64) []*Conn {
	var set map[*Conn]struct{}
	switch kind {
	case 'c':
		set = h.viewers[id]
	case 'g':
		set = h.groupViewers[id]
	}
	out := make([]*Conn, 0, len(set))
	for c := range set {
		uid := c.me.ID()
		if uid == except {
			continue
		}
		lu := h.users[uid]
		if lu == nil || (kind == 'c' && !has(lu.convs, id)) || (kind == 'g' && !has(lu.groups, id)) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// route records that uid's local connections joined or left conversations
// and groups, and returns the topics whose binding may have to change.
// Call it with h.mu held.
func (h *Hub) route(uid int64, joinConvs, leaveConvs, joinGroups, leaveGroups []int64) []string {
	lu := h.users[uid]
	if lu == nil {
		return nil
	}
	var topics []string
	apply := func(ids []int64, mine map[int64]struct{}, all map[int64]map[int64]struct{}, join bool, topic func(int64) string) {
		for _, id := range ids {
			topics = append(topics, topic(id))
			if join {
				mine[id] = struct{}{}
				if all[id] == nil {
					all[id] = make(map[int64]struct{})
				}
				all[id][uid] = struct{}{}
				continue
			}
			delete(mine, id)
			if set := all[id]; set != nil {
				delete(set, uid)
				if len(set) == 0 {
					delete(all, id)
				}
			}
		}
	}
	apply(joinConvs, lu.convs, h.convs, true, event.ConversationTopic)
	apply(leaveConvs, lu.convs, h.convs, false, event.ConversationTopic)
	apply(joinGroups, lu.groups, h.groups, true, event.GroupTopic)
	apply(leaveGroups, lu.groups, h.groups, false, event.GroupTopic)
	return topics
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
	case 'g':
		return len(h.groups[id]) > 0
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
				// the bus keeps the topic and binds it when it reconnects,
				// after which every client resyncs
				h.warn("bus subscribe failed", "topic", t, "err", err)
			}
			h.bound[t] = true
		case !want && h.bound[t]:
			if err := h.bus.Unsubscribe(ctx, t); err != nil {
				h.warn("bus unsubscribe failed", "topic", t, "err", err)
			}
			delete(h.bound, t)
		}
	}
}

// deliver is the bus Handler: it applies the event's routing changes to
// its recipients, binds what they now need, and queues its frame to every
// one of their connections, without blocking.
func (h *Hub) deliver(ev event.Event) {
	h.m.events.Inc()
	if ev.Topic == event.AuthTopic {
		h.chat.ForgetSessions(ev.ForgetUsers)
		return
	}
	if ev.At > 0 && ev.Frame != nil {
		h.m.latency.Observe(time.Since(time.Unix(0, ev.At)).Seconds())
	}
	kind, id := parseTopic(ev.Topic)
	var recipients []int64
	var targets []*Conn
	var topics []string
	var catches []chat.CatchUpRequest
	routes := len(ev.Join)+len(ev.Leave)+len(ev.JoinGroups)+len(ev.LeaveGroups) > 0
	if ev.ViewersOnly && !routes && ev.Frame != nil {
		h.mu.Lock()
		targets = h.viewing(kind, id, ev.ExceptUser)
		h.mu.Unlock()
		for _, c := range targets {
			c.enqueue(ev.Frame, ev.Droppable)
		}
		return
	}
	h.mu.Lock()
	switch kind {
	case 'u':
		if h.users[id] != nil {
			recipients = []int64{id}
		}
	case 'c':
		recipients = keys(h.convs[id])
	case 'g':
		recipients = keys(h.groups[id])
	}
	for _, uid := range recipients {
		if routes {
			if h.catchUp && len(ev.Join) > 0 {
				if req := h.startCatchUp(uid, ev.Join, ev.Since); req.Convs != nil {
					catches = append(catches, req)
				}
			}
			topics = append(topics, h.route(uid, ev.Join, ev.Leave, ev.JoinGroups, ev.LeaveGroups)...)
		}
		if uid == ev.ExceptUser {
			continue
		}
		if ev.Created != 0 && kind == 'c' && len(h.watch) > 0 && h.replayed(uid, id, ev.Created) {
			continue
		}
		for c := range h.users[uid].conns {
			targets = append(targets, c)
		}
	}
	h.mu.Unlock()
	if len(topics) > 0 {
		// Bind before delivering, so the conversations' next events reach
		// these connections: this delays the delivery path by one bind, but
		// never under the hub lock.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h.syncTopics(ctx, dedupe(topics))
		cancel()
	}
	for _, c := range targets {
		if slices.Contains(ev.CloseSessions, c.me.SessionID) {
			c.close(4001, "session ended")
			continue
		}
		if ev.Frame != nil {
			c.enqueue(ev.Frame, ev.Droppable)
		}
	}
	if len(catches) > 0 {
		h.wg.Go(func() { h.runCatchUp(catches) })
	}
}

// Catching up. A member's node binds a conversation's topic when the event
// that adds them to it (a new direct chat, a group they were added to)
// reaches it, but the bus routes each event when it is published: a
// message published before the bind, or by another node before the join
// arrived here, never reaches this node. So after the bind the node reads
// the messages sent since the member joined that they have not had, and
// replays them to the member's connections. A watch per member and
// conversation, kept from the join until a while after the replay, notes
// the messages the bus delivered to them, so none reaches them twice.

type watchKey struct{ user, conv int64 }

// watchAfter is how long a watch outlives its replay, for the bus's late
// copies of replayed messages.
const watchAfter = 10 * time.Second

// startCatchUp opens a watch for each conversation uid joins that their
// connections here were not routed to. Call it with h.mu held, before
// route.
func (h *Hub) startCatchUp(uid int64, join, since []int64) chat.CatchUpRequest {
	req := chat.CatchUpRequest{User: uid}
	lu := h.users[uid]
	for i, cid := range join {
		k := watchKey{uid, cid}
		if has(lu.convs, cid) || h.watch[k] != nil {
			continue
		}
		h.watch[k] = make(map[int64]struct{})
		req.Convs = append(req.Convs, cid)
		seq := int64(0)
		if i < len(since) {
			seq = since[i]
		}
		req.Since = append(req.Since, seq)
	}
	return req
}

// replayed reports whether uid had message msg of conversation cid replayed
// already, and notes that they have it now. Call it with h.mu held.
func (h *Hub) replayed(uid, cid, msg int64) bool {
	set := h.watch[watchKey{uid, cid}]
	if set == nil {
		return false
	}
	if has(set, msg) {
		return true
	}
	set[msg] = struct{}{}
	return false
}

// runCatchUp replays to each member of reqs (the members one event added
// here) what the bus may not have brought them, skipping what it did, in
// one read for them all; the watches close a while later.
func (h *Hub) runCatchUp(reqs []chat.CatchUpRequest) {
	defer time.AfterFunc(watchAfter, func() {
		h.mu.Lock()
		for _, req := range reqs {
			for _, cid := range req.Convs {
				delete(h.watch, watchKey{req.User, cid})
			}
		}
		h.mu.Unlock()
	})
	select {
	case h.catchMu <- struct{}{}:
		defer func() { <-h.catchMu }()
	case <-h.stop:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.m.catchUps.Inc()
	missed, err := h.chat.CatchUp(ctx, reqs)
	if err != nil {
		h.warn("catching up new members failed", "members", len(reqs), "err", err)
		return
	}
	for uid, convs := range missed {
		h.replay(uid, convs)
	}
}

// replay queues to uid's connections what the bus has not brought them of
// convs: a conversation's conversation.updated goes only with a message of
// it that is replayed.
func (h *Hub) replay(uid int64, convs []chat.CatchUpConversation) {
	var send [][]byte
	var conns []*Conn
	h.mu.Lock()
	for _, cu := range convs {
		var msgs [][]byte
		for _, m := range cu.Messages {
			if !h.replayed(uid, cu.ID, m.ID) {
				msgs = append(msgs, m.Frame)
			}
		}
		if len(msgs) > 0 {
			send = append(append(send, cu.Updated), msgs...)
		}
	}
	if lu := h.users[uid]; lu != nil && len(send) > 0 {
		for c := range lu.conns {
			conns = append(conns, c)
		}
	}
	h.mu.Unlock()
	for _, c := range conns {
		for _, f := range send {
			c.enqueue(f, false)
		}
	}
}

func dedupe(ts []string) []string {
	seen := make(map[string]bool, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// parseTopic splits "u.12", "g.5" or "c.34".
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

// all returns every local connection.
// connectedUsers counts the users with a socket on this node.
func (h *Hub) connectedUsers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users)
}

// socketCount counts this node's sockets.
func (h *Hub) socketCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, u := range h.users {
		n += len(u.conns)
	}
	return n
}

func (h *Hub) all() []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Conn
	for _, lu := range h.users {
		for c := range lu.conns {
			out = append(out, c)
		}
	}
	return out
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
	h.mu.Unlock()
	all := h.all()
	for _, c := range all {
		c.close(1001, "server shutting down")
	}
	defer func() {
		close(h.stop) // the presence worker records the last departures first
		h.wg.Wait()
	}()
	for _, c := range all {
		select {
		case <-c.finished:
		case <-ctx.Done():
			return
		}
	}
}

// resyncAll closes every local connection with 1012 (service restart): the
// bus lost events, and clients reconnect and /sync to get them.
func (h *Hub) resyncAll() {
	all := h.all()
	if len(all) > 0 {
		h.log.Warn("the event bus reconnected: asking local clients to resync", "connections", len(all))
	}
	for _, c := range all {
		c.close(1012, "events may have been missed: reconnect and sync")
	}
}
