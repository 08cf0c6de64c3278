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

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

const (
	wsReadLimit    = 64 << 10         // bytes per client frame: a 4000-character body, however escaped
	wsSendBuffer   = 256              // frames queued per connection
	wsWriteTimeout = 10 * time.Second // per frame
	wsPingEvery    = 25 * time.Second
	typingEvery    = 2 * time.Second // server-side floor per conversation
)

// Conn is one WebSocket connection: one reader (this goroutine) and one
// writer, a bounded send buffer, and a frame rate limit.
type Conn struct {
	id        string
	s         *Server
	ws        *websocket.Conn
	user      store.User
	sessionID int64
	log       *slog.Logger

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
}

// handleWS authenticates (before upgrading), checks the Origin of cookie
// requests, upgrades, and serves the connection until it ends.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	a, _, err := s.authenticate(r)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	if a.Cookie && s.crossOrigin(r) {
		s.respondError(w, r, errBadOrigin)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the Origin rule above is the protocol's
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(wsReadLimit)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &Conn{
		id: requestID(r.Context()), s: s, ws: ws, user: a.User, sessionID: a.Session.ID,
		wake: make(chan struct{}, 1), done: make(chan struct{}), finished: make(chan struct{}),
		cancel: cancel, frames: rate.NewLimiter(rate.Limit(s.opts.FrameRate.Per), max(s.opts.FrameRate.Burst, 1)),
		typing: make(map[int64]time.Time),
	}
	if s.opts.FrameRate.Per <= 0 {
		c.frames = rate.NewLimiter(rate.Inf, 1)
	}
	c.log = s.log.With("conn_id", c.id, "user_id", c.user.ID)
	c.serve(ctx)
}

func (c *Conn) serve(ctx context.Context) {
	defer close(c.finished)
	defer c.cancel()
	if err := c.s.hub.register(ctx, c); err != nil {
		c.s.hub.unregister(c)
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
	c.s.hub.unregister(c)
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
			c.s.hub.m.dropped.Inc()
			return
		}
		c.s.hub.m.slowCloses.Inc()
		c.log.Warn("closing slow websocket consumer")
		c.close(websocket.StatusTryAgainLater, "slow consumer: resync")
		return
	}
	c.queue = append(c.queue, frame)
	c.qmu.Unlock()
	c.s.hub.m.deliveries.Inc()
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
		wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
		defer cancel()
		for _, b := range frames {
			if err := c.ws.Write(wctx, websocket.MessageText, b); err != nil {
				c.close(websocket.StatusGoingAway, "write failed")
				return false
			}
		}
		return true
	}
	if !write(encodeFrame(frameHello, helloData{UserID: c.user.ID, Node: c.s.opts.NodeID, HeartbeatS: int(c.s.hub.every.Round(time.Second) / time.Second)})) {
		return
	}
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			// the close handshake; the reader takes the peer's answer
			_ = c.ws.Close(c.code, c.reason)
			return
		case <-c.wake:
			batch := c.take()
			if !write(batch...) {
				return
			}
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
			c.reply(frameError, errorData{Code: "rate_limited", Message: "Too many frames; slow down.", ClientID: truncate(f.Data.ClientID, maxClientIDChars)})
			continue
		}
		if typ != websocket.MessageText {
			c.reply(frameError, errorData{Code: "invalid_json", Message: "Frames are JSON text."})
			continue
		}
		c.handle(ctx, data)
	}
}

func (c *Conn) reply(typ string, data any) { c.enqueue(encodeFrame(typ, data), false) }

func (c *Conn) replyErr(err error, clientID string) {
	e, known := toError(err)
	if !known {
		c.log.Error("websocket frame failed", "err", err)
	}
	c.reply(frameError, errorData{Code: e.Code, Message: e.Message, ClientID: clientID})
}

// handle answers one client frame. A bad frame gets an error frame; the
// connection stays open.
func (c *Conn) handle(ctx context.Context, raw []byte) {
	var f inFrame
	if err := json.Unmarshal(raw, &f); err != nil || f.Type == "" {
		c.reply(frameError, errorData{Code: "invalid_json", Message: `A frame is {"type": "...", "data": {...}}.`})
		return
	}
	data := f.Data
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	switch f.Type {
	case framePing:
		c.reply(framePong, nil)
	case frameMessageSend:
		var in struct {
			ConversationID int64  `json:"conversation_id"`
			ClientID       string `json:"client_id"`
			Body           string `json:"body"`
		}
		if err := json.Unmarshal(data, &in); err != nil {
			c.reply(frameError, errorData{Code: "invalid_json", Message: "message.send needs conversation_id, client_id and body."})
			return
		}
		msg, created, err := c.s.sendMessage(ctx, c.user, in.ConversationID, in.ClientID, in.Body)
		if err != nil {
			c.replyErr(err, in.ClientID)
			return
		}
		if !created {
			// a retry: the original message.created went out long ago
			c.reply(frameMessageCreated, messageData{Message: messageJSON(msg)})
		}
	case frameReceipt:
		var in struct {
			ConversationID int64  `json:"conversation_id"`
			DeliveredSeq   *int64 `json:"delivered_seq"`
			ReadSeq        *int64 `json:"read_seq"`
		}
		if err := json.Unmarshal(data, &in); err != nil {
			c.reply(frameError, errorData{Code: "invalid_json", Message: "receipt needs conversation_id and delivered_seq or read_seq."})
			return
		}
		d, r, err := receiptValues(in.DeliveredSeq, in.ReadSeq)
		if err != nil {
			c.replyErr(err, "")
			return
		}
		if !c.s.hub.isMember(c.user.ID, in.ConversationID) {
			c.replyErr(errNotFound, "")
			return
		}
		c.s.receipts.submit(in.ConversationID, c.user.ID, d, r) // no need to wait
	case frameTyping:
		var in struct {
			ConversationID int64 `json:"conversation_id"`
		}
		if err := json.Unmarshal(data, &in); err != nil {
			c.reply(frameError, errorData{Code: "invalid_json", Message: "typing needs conversation_id."})
			return
		}
		if !c.s.hub.isMember(c.user.ID, in.ConversationID) {
			c.replyErr(errNotFound, "")
			return
		}
		now := time.Now()
		if now.Sub(c.typing[in.ConversationID]) < typingEvery {
			return // rate-limited: the last one still shows
		}
		c.typing[in.ConversationID] = now
		c.s.publish(ctx, event.Event{
			Topic: event.ConversationTopic(in.ConversationID), ExceptUser: c.user.ID, Droppable: true,
			Frame: encodeFrame(frameTyping, typingData{ConversationID: in.ConversationID, UserID: c.user.ID}),
		})
	default:
		c.reply(frameError, errorData{Code: "unknown_type", Message: "Unknown frame type " + truncate(f.Type, 40) + "."})
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
