package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// receiptWindow is how long the batcher gathers receipts before one write.
const receiptWindow = 10 * time.Millisecond

// maxPushedReceipts: channels with more members do not push receipt events
// (clients fetch them), per the protocol.
const maxPushedReceipts = 100

// receiptBatcher coalesces watermark updates: however many acks arrive in a
// window, each (conversation, user) is written at most once, all in one
// statement, and only if it moves forward.
type receiptBatcher struct {
	s       *Server
	log     *slog.Logger
	mu      sync.Mutex
	pending map[receiptKey]receiptVal
	waiters []chan error
	stopped bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

type receiptKey struct{ conv, user int64 }
type receiptVal struct{ delivered, read int64 }

func newReceiptBatcher(s *Server) *receiptBatcher {
	b := &receiptBatcher{s: s, log: s.log, pending: make(map[receiptKey]receiptVal),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// submit queues a watermark update; the channel answers once it is written.
func (b *receiptBatcher) submit(conv, user, delivered, read int64) <-chan error {
	ch := make(chan error, 1)
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		ch <- errUnavailable
		return ch
	}
	k := receiptKey{conv, user}
	v := b.pending[k]
	b.pending[k] = receiptVal{max(v.delivered, delivered, read), max(v.read, read)}
	b.waiters = append(b.waiters, ch)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return ch
}

func (b *receiptBatcher) run() {
	defer close(b.done)
	for {
		select {
		case <-b.wake:
			time.Sleep(receiptWindow)
			b.flush()
		case <-b.stop:
			b.flush()
			return
		}
	}
}

func (b *receiptBatcher) close() {
	b.mu.Lock()
	already := b.stopped
	b.stopped = true
	b.mu.Unlock()
	if !already {
		close(b.stop)
	}
	<-b.done
}

func (b *receiptBatcher) flush() {
	b.mu.Lock()
	pending, waiters := b.pending, b.waiters
	b.pending, b.waiters = make(map[receiptKey]receiptVal), nil
	b.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	var p store.ApplyReceiptsParams
	for k, v := range pending {
		p.ConversationIds = append(p.ConversationIds, k.conv)
		p.UserIds = append(p.UserIds, k.user)
		p.Delivered = append(p.Delivered, v.delivered)
		p.Read = append(p.Read, v.read)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.s.change(ctx, func(q *store.Queries, ob *outbox) error {
		rows, err := q.ApplyReceipts(ctx, p)
		if err != nil {
			return err
		}
		for _, r := range rows {
			push, err := pushReceipts(ctx, q, r.ConversationID)
			if err != nil {
				return err
			}
			if push {
				ob.add(event.Event{
					Topic: event.ConversationTopic(r.ConversationID),
					Frame: encodeFrame(frameReceipt, receiptData{ConversationID: r.ConversationID, UserID: r.UserID, DeliveredSeq: r.DeliveredSeq, ReadSeq: r.ReadSeq}),
				})
			}
		}
		return nil
	})
	if err != nil {
		b.log.Error("writing receipts failed", "err", err, "count", len(pending))
	}
	for _, ch := range waiters {
		ch <- err
	}
}

// pushReceipts reports whether receipt events are pushed in a conversation:
// in direct chats, and in channels of at most maxPushedReceipts members.
func pushReceipts(ctx context.Context, q *store.Queries, convID int64) (bool, error) {
	n, err := q.CountMembers(ctx, convID)
	return n <= maxPushedReceipts, err
}

func receiptValues(delivered, read *int64) (int64, int64, error) {
	if delivered == nil && read == nil {
		return 0, 0, validation("read_seq", "Give delivered_seq, read_seq or both.")
	}
	var d, r int64
	if delivered != nil {
		d = *delivered
	}
	if read != nil {
		r = *read
	}
	if d < 0 || r < 0 {
		return 0, 0, validation("read_seq", "Watermarks are not negative.")
	}
	return d, r, nil
}

func (s *Server) handlePostReceipts(w http.ResponseWriter, r *http.Request) {
	convID, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		DeliveredSeq *int64 `json:"delivered_seq"`
		ReadSeq      *int64 `json:"read_seq"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	d, rd, err := receiptValues(in.DeliveredSeq, in.ReadSeq)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	uid := caller(r.Context()).User.ID
	if _, err := s.opts.DB.GetMember(r.Context(), store.GetMemberParams{ConversationID: convID, UserID: uid}); err != nil {
		s.respondError(w, r, err)
		return
	}
	select {
	case err = <-s.receipts.submit(convID, uid, d, rd):
	case <-r.Context().Done():
		err = r.Context().Err()
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListReceipts(w http.ResponseWriter, r *http.Request) {
	convID, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	if _, err := s.opts.DB.GetMember(r.Context(), store.GetMemberParams{ConversationID: convID, UserID: caller(r.Context()).User.ID}); err != nil {
		s.respondError(w, r, err)
		return
	}
	rows, err := s.opts.DB.ListReceipts(r.Context(), convID)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	type receipt struct {
		UserID       int64 `json:"user_id"`
		DeliveredSeq int64 `json:"delivered_seq"`
		ReadSeq      int64 `json:"read_seq"`
	}
	out := make([]receipt, len(rows))
	for i, row := range rows {
		out[i] = receipt{row.UserID, row.DeliveredSeq, row.ReadSeq}
	}
	writeJSON(w, http.StatusOK, map[string]any{"receipts": out})
}
