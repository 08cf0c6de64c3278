package chat

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// receiptWindow is how long the batcher gathers receipts before one write.
const receiptWindow = 10 * time.Millisecond

// LargeAudience is the protocol's size above which a channel pushes no
// receipt events (clients fetch them), and sends typing and its group's
// presence only to the connections viewing it (see Service.View).
const LargeAudience = 100

// receiptBatcher coalesces watermark updates: however many acks arrive in a
// window, each (conversation, user) is written at most once, all in one
// statement, and only if it moves forward. The batch checks membership
// too, in one query, so a receipt for a conversation one is not in is
// answered not_found, the same way from HTTP and the WebSocket.
type receiptBatcher struct {
	s       *Service
	log     *slog.Logger
	mu      sync.Mutex
	pending map[receiptKey]receiptVal
	waiters map[receiptKey][]func(error)
	stopped bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

type receiptKey struct{ conv, user int64 }
type receiptVal struct{ delivered, read int64 }

func newReceiptBatcher(s *Service) *receiptBatcher {
	b := &receiptBatcher{s: s, log: s.log, pending: make(map[receiptKey]receiptVal), waiters: make(map[receiptKey][]func(error)),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// Receipt moves the actor's watermarks in a conversation forward (never
// back, clamped to last_seq, reading implies delivery). done, when not
// nil, is called once it is written, with nil or an error; it must not
// block.
func (s *Service) Receipt(me Actor, convID int64, delivered, read *int64, done func(error)) error {
	if delivered == nil && read == nil {
		return Validation("read_seq", "Give delivered_seq, read_seq or both.")
	}
	var d, r int64
	if delivered != nil {
		d = *delivered
	}
	if read != nil {
		r = *read
	}
	if d < 0 || r < 0 {
		return Validation("read_seq", "Watermarks are not negative.")
	}
	if convID <= 0 {
		return ErrNotFound
	}
	s.receipts.submit(convID, me.ID(), d, r, done)
	return nil
}

// ReceiptWait is Receipt for a caller that waits for the write.
func (s *Service) ReceiptWait(ctx context.Context, me Actor, convID int64, delivered, read *int64) error {
	ch := make(chan error, 1)
	if err := s.Receipt(me, convID, delivered, read, func(err error) { ch <- err }); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *receiptBatcher) submit(conv, user, delivered, read int64, done func(error)) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		if done != nil {
			done(ErrUnavailable)
		}
		return
	}
	k := receiptKey{conv, user}
	v := b.pending[k]
	b.pending[k] = receiptVal{max(v.delivered, delivered, read), max(v.read, read)}
	if done != nil {
		b.waiters[k] = append(b.waiters[k], done)
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
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
	b.pending, b.waiters = make(map[receiptKey]receiptVal), make(map[receiptKey][]func(error))
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
	members := map[receiptKey]bool{}
	err := b.s.change(ctx, func(q *store.Queries, ob *outbox) error {
		clear(members)
		pairs, err := q.ListMemberPairs(ctx, store.ListMemberPairsParams{ConversationIds: p.ConversationIds, UserIds: p.UserIds})
		if err != nil {
			return err
		}
		for _, m := range pairs {
			members[receiptKey{m.ConversationID, m.UserID}] = true
		}
		rows, err := q.ApplyReceipts(ctx, p)
		if err != nil || len(rows) == 0 {
			return err
		}
		convs := make([]int64, 0, len(rows))
		for _, r := range rows {
			convs = append(convs, r.ConversationID)
		}
		counts, err := q.CountMembersOf(ctx, convs)
		if err != nil {
			return err
		}
		size := make(map[int64]int64, len(counts))
		for _, c := range counts {
			size[c.ConversationID] = c.Members
		}
		for _, r := range rows {
			if size[r.ConversationID] > LargeAudience {
				continue
			}
			ob.add(event.Event{
				Topic: event.ConversationTopic(r.ConversationID),
				Frame: EncodeFrame(FrameReceipt, ReceiptData{ConversationID: r.ConversationID, UserID: r.UserID, DeliveredSeq: r.DeliveredSeq, ReadSeq: r.ReadSeq}),
			})
		}
		return nil
	})
	if err != nil {
		b.log.Error("writing receipts failed", "err", err, "count", len(pending))
	}
	for k, fns := range waiters {
		e := err
		if e == nil && !members[k] {
			e = ErrNotFound
		}
		for _, fn := range fns {
			fn(e)
		}
	}
}

// ListReceipts is every member's watermarks in a conversation.
func (s *Service) ListReceipts(ctx context.Context, me Actor, convID int64) ([]Receipt, error) {
	if _, err := s.db.GetMember(ctx, store.GetMemberParams{ConversationID: convID, UserID: me.ID()}); err != nil {
		return nil, err
	}
	rows, err := s.db.ListReceipts(ctx, convID)
	if err != nil {
		return nil, err
	}
	out := make([]Receipt, len(rows))
	for i, row := range rows {
		out[i] = Receipt{row.UserID, row.DeliveredSeq, row.ReadSeq}
	}
	return out, nil
}

// MaxReceiptCounts is the most seqs one ReceiptCounts answers for.
const MaxReceiptCounts = 200

// ReceiptCount is how many of the other members have a message delivered
// and read.
type ReceiptCount struct {
	Seq       int64 `json:"seq"`
	Delivered int64 `json:"delivered"`
	Read      int64 `json:"read"`
}

// ReceiptCounts answers "read by k of n" for the messages from one seq to
// another (at most MaxReceiptCounts of them, the newest; to defaults to the
// last), counting the members other than the caller: one entry per seq
// however large the channel is, where listing every member's watermarks
// grows with it.
func (s *Service) ReceiptCounts(ctx context.Context, me Actor, convID, from int64, to *int64) ([]ReceiptCount, error) {
	if from < 1 {
		return nil, Validation("from", "from must be a seq, 1 or more.")
	}
	last := int64(math.MaxInt64)
	if to != nil {
		if *to < from {
			return nil, Validation("to", "to must not be below from.")
		}
		last = *to
	}
	if _, err := s.db.GetMember(ctx, store.GetMemberParams{ConversationID: convID, UserID: me.ID()}); err != nil {
		return nil, err
	}
	rows, err := s.db.ReceiptCounts(ctx, store.ReceiptCountsParams{
		ConversationID: convID, UserID: me.ID(), FromSeq: from, ToSeq: last, Most: MaxReceiptCounts})
	if err != nil {
		return nil, err
	}
	out := make([]ReceiptCount, len(rows))
	for i, row := range rows {
		out[i] = ReceiptCount{row.Seq, row.Delivered, row.Read}
	}
	return out, nil
}
