package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/parleychat/parley/server/chat"
)

const (
	wsReadLimit    = 64 << 10         // bytes per client frame: a 4000-character body, however escaped
	wsSendBuffer   = 256              // frames queued per connection
	wsWriteTimeout = 10 * time.Second // at least this long for each write
	wsPingEvery    = 25 * time.Second
	// wsWriteGap paces a busy socket: frames that arrive within this long
	// of its last write wait for the gap to pass and go out together, one
	// system call (and one read for the client) instead of one each. A
	// socket written to less often than this never waits. At 10 ms the
	// write system calls were half of a 500-member fan-out's CPU; 20 ms
	// halves them, and the fan-out's p99 fell with them (docs/benchmarks.md).
	wsWriteGap = 20 * time.Millisecond
	// wsWakeAt frames queued end a writer's wait early, or skip it
	wsWakeAt = wsSendBuffer / 4
)

// Conn is one WebSocket connection: one reader (this goroutine) and one
// writer, a bounded send buffer, and a frame rate limit.
type Conn struct {
	id string
	ip string // the client address's rate-limit key
	// local is a client on this host (a load test, or a proxy whose
	// clients' addresses the node is not told): no per-address cap
	local bool
	hub   *Hub
	ws    *websocket.Conn
	// raw is the socket under ws (websocket.Accept always hijacks): the
	// writer frames a batch itself and sends it in one write (wsframes.go)
	raw *frameConn
	me  chat.Actor
	log *slog.Logger

	// The send queue: frames waiting for the writer, at most wsSendBuffer.
	// A slice that grows on demand costs an idle socket nothing, and the
	// writer takes everything queued at each wake-up.
	qmu      sync.Mutex
	queue    [][]byte
	spare    [][]byte      // the writer's last batch, reused
	wake     chan struct{} // capacity 1: there is something queued
	done     chan struct{} // closed to stop the connection
	finished chan struct{} // closed when it has fully stopped
	once     sync.Once
	code     websocket.StatusCode
	reason   string
	cancel   context.CancelFunc

	frames *rate.Limiter
	typing map[int64]time.Time // reader goroutine only

	// What the connection views (a viewing frame), guarded by hub.mu.
	viewConv, viewGroup int64
}

// handleWS authenticates (before upgrading), checks the Origin of cookie
// requests, upgrades, and serves the connection until it ends.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	a, err := s.authenticate(w, r)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	if a.Cookie && s.crossOrigin(r) {
		s.respondError(w, r, errBadOrigin)
		return
	}
	cw := &frameWriter{ResponseWriter: w}
	ws, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the Origin rule above is the protocol's
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(wsReadLimit)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := s.hub.newConn(requestID(r.Context()), ws, a.Actor, cancel)
	c.raw = cw.conn
	c.ip = chat.IPKey(info(r.Context()).ip)
	c.local = info(r.Context()).ip.IsLoopback()
	c.serve(ctx)
}

func (h *Hub) newConn(id string, ws *websocket.Conn, me chat.Actor, cancel context.CancelFunc) *Conn {
	c := &Conn{
		id: id, hub: h, ws: ws, me: me,
		wake: make(chan struct{}, 1), done: make(chan struct{}), finished: make(chan struct{}),
		cancel: cancel, frames: rate.NewLimiter(rate.Limit(h.frameRate.Per), max(h.frameRate.Burst, 1)),
		typing: make(map[int64]time.Time),
	}
	if h.frameRate.Per <= 0 {
		c.frames = rate.NewLimiter(rate.Inf, 1)
	}
	c.log = h.log.With("conn_id", c.id, "user_id", me.ID())
	return c
}

func (c *Conn) serve(ctx context.Context) {
	defer close(c.finished)
	defer c.cancel()
	if err := c.hub.register(ctx, c); err != nil {
		c.hub.unregister(c)
		var many errTooMany
		if errors.As(err, &many) {
			c.log.Info("websocket refused", "reason", err)
			_ = c.ws.Close(websocket.StatusPolicyViolation, string(many))
			return
		}
		c.log.Warn("websocket register failed", "err", err)
		_ = c.ws.Close(websocket.StatusTryAgainLater, "try again")
		return
	}
	c.log.Debug("websocket open")
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writer(ctx)
	}()
	c.reader(ctx)
	c.close(websocket.StatusNormalClosure, "")
	<-writerDone
	c.hub.unregister(c)
	c.log.Debug("websocket closed", "code", int(c.code), "reason", c.reason)
}

// close stops the connection with code; safe from any goroutine, never blocks.
func (c *Conn) close(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
	})
}

// enqueue queues a frame without blocking. A full queue drops a droppable
// frame, and closes the connection otherwise: the client resyncs.
func (c *Conn) enqueue(frame []byte, droppable bool) {
	select {
	case <-c.done:
		return
	default:
	}
	c.qmu.Lock()
	if len(c.queue) >= wsSendBuffer {
		c.qmu.Unlock()
		if droppable {
			c.hub.m.dropped.Inc()
			return
		}
		c.hub.m.slowCloses.Inc()
		c.log.Warn("closing slow websocket consumer")
		c.close(websocket.StatusTryAgainLater, "slow consumer: resync")
		return
	}
	c.queue = append(c.queue, frame)
	n := len(c.queue)
	c.qmu.Unlock()
	c.hub.m.deliveries.Inc()
	// the writer needs waking when the queue stops being empty, and, if it
	// is pacing, when the queue is filling up
	if n == 1 || n >= wsWakeAt {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// queued counts the frames waiting.
func (c *Conn) queued() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.queue)
}

// take returns everything queued, leaving an empty queue.
func (c *Conn) take() [][]byte {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	batch := c.queue
	c.queue = c.spare[:0]
	c.spare = nil
	return batch
}

// writer sends hello first, then queued frames and pings, until done.
func (c *Conn) writer(ctx context.Context) {
	defer c.cancel() // unblocks the reader
	write := func(frames ...[]byte) bool {
		if err := c.raw.writeText(frames); err != nil {
			c.close(websocket.StatusGoingAway, "write failed")
			return false
		}
		c.hub.m.writes.Inc()
		return true
	}
	var last time.Time // the end of the last write
	var gap *time.Timer
	// pace waits out the rest of the gap after the last write, or until the
	// queue fills up or the connection stops
	pace := func() {
		wait := wsWriteGap - time.Since(last)
		if wait <= 0 || c.queued() >= wsWakeAt {
			return
		}
		if gap == nil {
			gap = time.NewTimer(wait)
		} else {
			gap.Reset(wait)
		}
		select {
		case <-gap.C:
		case <-c.wake:
			gap.Stop()
		case <-c.done:
			gap.Stop()
		}
	}
	hello := chat.HelloData{UserID: c.me.ID(), Node: c.hub.node, HeartbeatS: int(c.hub.every.Round(time.Second) / time.Second)}
	if !write(chat.EncodeFrame(chat.FrameHello, hello)) {
		return
	}
	last = time.Now()
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			// the close handshake; the reader takes the peer's answer
			_ = c.ws.Close(c.code, c.reason)
			return
		case <-c.wake:
			pace()
			batch := c.take()
			if len(batch) == 0 { // a wake-up the last batch already answered
				c.qmu.Lock()
				c.spare = batch
				c.qmu.Unlock()
				continue
			}
			if !write(batch...) {
				return
			}
			last = time.Now()
			clear(batch) // let the frames go
			if cap(batch) <= wsSendBuffer {
				c.qmu.Lock()
				c.spare = batch[:0]
				c.qmu.Unlock()
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.close(websocket.StatusGoingAway, "ping timeout")
				return
			}
		}
	}
}

// reader handles client frames until the connection ends.
func (c *Conn) reader(ctx context.Context) {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig || errors.Is(err, websocket.ErrMessageTooBig) {
				c.close(websocket.StatusMessageTooBig, "frame over 64 KiB")
			}
			return
		}
		if !c.frames.Allow() {
			var f struct {
				Data struct {
					ClientID string `json:"client_id"`
				} `json:"data"`
			}
			_ = json.Unmarshal(data, &f) // a refused send still names its client_id
			c.notice(chat.FrameError, chat.ErrorData{Code: chat.CodeRateLimited, Message: "Too many frames; slow down.", ClientID: chat.Truncate(f.Data.ClientID, 64)})
			continue
		}
		if typ != websocket.MessageText {
			c.notice(chat.FrameError, chat.ErrorData{Code: chat.CodeInvalidJSON, Message: "Frames are JSON text."})
			continue
		}
		c.handle(ctx, data)
	}
}

func (c *Conn) reply(typ string, data any) { c.enqueue(chat.EncodeFrame(typ, data), false) }

// notice queues a frame that a flooding client may go without (a pong, a
// refusal of a frame it should not have sent): dropped when its queue is
// full, so a flood gets answers while there is room, and never a close.
func (c *Conn) notice(typ string, data any) { c.enqueue(chat.EncodeFrame(typ, data), true) }

// replyErr answers a frame with the error frame of err: the same codes as
// the HTTP API.
func (c *Conn) replyErr(err error, clientID string) {
	e, _, known := toError(err)
	if !known {
		c.log.Error("websocket frame failed", "err", err)
	}
	c.reply(chat.FrameError, chat.ErrorData{Code: e.Code, Message: e.Message, Field: e.Field, ClientID: clientID})
}
