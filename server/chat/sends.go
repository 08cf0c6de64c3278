package chat

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// Group commit for sends. One transaction per message caps a node at what
// PostgreSQL commits per second; concurrent sends are instead gathered and
// committed together: their send statements are pipelined in one round
// trip, their events written in one outbox insert, and one commit makes all
// of them durable before any is answered. A batch forms only from what is
// already waiting, so a lone send is not delayed.
//
// One worker commits the batches, one at a time: what arrives while a batch
// commits is the next batch, so batches grow with the load by themselves.
// Several workers (each with its own queue, taking the conversations whose
// id falls to it, so that two batches never wait on one conversation's row
// lock) were measured against one, side by side on two cores
// (docs/benchmarks.md, "One send worker"): with four, PostgreSQL used about
// 40 % more CPU for the same messages, in smaller batches and concurrent
// backends, and the node sustained fewer messages a second. The queues stay
// partitioned by conversation, so more workers remain a one-line change.

const (
	sendWorkers  = 1   // batches in flight at once
	maxSendBatch = 256 // messages per transaction: with one worker, the most a node commits per cycle
)

type sendReq struct {
	user        store.User
	conv        int64
	clientID    string
	body        string
	replyTo     *int64
	asName      *string
	mentions    resolvedMentions
	uploads     []int64
	attachments []Attachment
	done        chan sendRes
}

type sendRes struct {
	msg Message
	err error
}

type sendBatcher struct {
	s      *Service
	queues []chan *sendReq // by conversation id modulo their number
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newSendBatcher(s *Service) *sendBatcher {
	b := &sendBatcher{s: s, queues: make([]chan *sendReq, sendWorkers), stop: make(chan struct{})}
	for i := range b.queues {
		q := make(chan *sendReq, 1024)
		b.queues[i] = q
		b.wg.Go(func() { b.work(q) })
	}
	return b
}

// queueOf is the queue of a conversation's sends.
func (b *sendBatcher) queueOf(conv int64) chan *sendReq {
	return b.queues[uint64(conv)%uint64(len(b.queues))]
}

// submit queues a send and waits for its outcome.
func (b *sendBatcher) submit(ctx context.Context, r sendReq) sendRes {
	r.done = make(chan sendRes, 1)
	select {
	case <-b.stop: // shutting down: never queue behind stopped workers
		return sendRes{err: ErrUnavailable}
	default:
	}
	select {
	case b.queueOf(r.conv) <- &r:
	case <-b.stop:
		return sendRes{err: ErrUnavailable}
	case <-ctx.Done():
		return sendRes{err: ctx.Err()}
	}
	// once queued, the send completes even if the caller leaves or gives
	// up (a database that does not answer): a retry with the same client_id
	// then finds it
	select {
	case res := <-r.done:
		return res
	case <-ctx.Done():
		return sendRes{err: ErrUnavailable}
	}
}

func (b *sendBatcher) close() {
	close(b.stop)
	b.wg.Wait()
	for _, q := range b.queues { // a send that slipped in as the workers stopped
	drain:
		for {
			select {
			case r := <-q:
				r.done <- sendRes{err: ErrUnavailable}
			default:
				break drain
			}
		}
	}
}

func (b *sendBatcher) work(queue chan *sendReq) {
	for {
		var first *sendReq
		select {
		case first = <-queue:
		case <-b.stop:
			// answer whatever is still queued
			for {
				select {
				case r := <-queue:
					r.done <- sendRes{err: ErrUnavailable}
				default:
					return
				}
			}
		}
		batch := []*sendReq{first}
	gather:
		for len(batch) < maxSendBatch {
			select {
			case r := <-queue:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		b.commit(batch)
	}
}

// errBatchRetry means one send of a batch stored nothing: the batch is
// rolled back (no seq is used) and each send runs on its own.
var errBatchRetry = errors.New("a send in the batch stored nothing")

// errUploadsGone means a send named uploads that another send took, or
// that were purged, after they were checked.
var errUploadsGone = errors.New("an upload of the send is gone")

func (b *sendBatcher) commit(batch []*sendReq) {
	// one lock order for every batch: by conversation
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].conv < batch[j].conv })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := b.run(ctx, batch)
	if (errors.Is(err, errBatchRetry) || errors.Is(err, errUploadsGone)) && len(batch) > 1 {
		for _, r := range batch {
			b.commit([]*sendReq{r})
		}
		return
	}
	if errors.Is(err, errBatchRetry) {
		err = errSendRace
	}
	for i, r := range batch {
		if err != nil {
			r.done <- sendRes{err: err}
		} else {
			r.done <- sendRes{msg: msgs[i]}
		}
	}
}

// run stores a batch in one transaction with its events.
func (b *sendBatcher) run(ctx context.Context, batch []*sendReq) ([]Message, error) {
	if len(batch) > 1 && !slices.ContainsFunc(batch, func(r *sendReq) bool { return len(r.uploads) > 0 }) {
		return b.runSet(ctx, batch)
	}
	var msgs []Message
	err := b.s.change(ctx, func(q *store.Queries, ob *outbox) error {
		params := make([]store.SendMessageParams, len(batch))
		for i, r := range batch {
			params[i] = store.SendMessageParams{ConversationID: r.conv, SenderID: r.user.ID, ClientID: r.clientID, Body: r.body,
				ReplyToSeq: r.replyTo, SenderName: r.asName, MentionAll: r.mentions.all, MentionIds: r.mentions.userIDs, UploadIds: r.uploads}
			if params[i].UploadIds == nil {
				params[i].UploadIds = []int64{}
			}
		}
		rows := make([]store.SendMessageRow, len(batch))
		var firstErr error
		q.SendMessage(ctx, params).QueryRow(func(i int, row store.SendMessageRow, err error) {
			if err != nil && firstErr == nil {
				firstErr = err
			}
			rows[i] = row
		})
		if store.IsNotFound(firstErr) {
			return errBatchRetry
		} else if firstErr != nil {
			return firstErr
		}
		for i, row := range rows {
			if row.AttachedRows != int64(len(batch[i].uploads)) {
				return errUploadsGone
			}
		}
		msgs = make([]Message, len(batch))
		for i, row := range rows {
			m := store.Message{ID: row.ID, ConversationID: row.ConversationID, Seq: row.Seq, SenderID: row.SenderID,
				ClientID: row.ClientID, Body: row.Body, CreatedAt: row.CreatedAt, Version: 1, ReplyToSeq: row.ReplyToSeq, MentionAll: row.MentionAll, SenderName: row.SenderName}
			var err error
			if msgs[i], err = created(ctx, q, ob, batch[i], m, row.Revived, row.ThumbsReady); err != nil {
				return err
			}
		}
		return nil
	})
	return msgs, err
}

// created is a stored send's message, with its events queued: the
// conversation to the members it brought back first, then the message.
func created(ctx context.Context, q *store.Queries, ob *outbox, r *sendReq, m store.Message, revived, thumbsReady []int64) (Message, error) {
	msg := messageJSON(m)
	msg.Mentions.UserIDs = r.mentions.userIDs
	msg.Attachments = withThumbnails(r.attachments, thumbsReady)
	for _, uid := range revived {
		ev, err := conversationEvent(ctx, q, uid, m.ConversationID)
		if err != nil {
			return Message{}, err
		}
		ob.add(ev)
	}
	ob.add(event.Event{
		Topic: event.ConversationTopic(m.ConversationID), Created: m.ID,
		Frame: EncodeFrame(FrameMessageCreated, MessageData{Message: msg}),
	})
	return msg, nil
}

// runSet stores a batch without uploads in one statement (SendMessages).
func (b *sendBatcher) runSet(ctx context.Context, batch []*sendReq) ([]Message, error) {
	n := len(batch)
	p := store.SendMessagesParams{Convs: make([]int64, n), Senders: make([]int64, n), ClientIds: make([]string, n),
		Bodies: make([]string, n), HasReplies: make([]bool, n), ReplyTos: make([]int64, n), MentionAlls: make([]bool, n),
		HasNames: make([]bool, n), SenderNames: make([]string, n), MentionOrds: []int64{}, MentionUsers: []int64{}}
	for i, r := range batch {
		p.Convs[i], p.Senders[i], p.ClientIds[i], p.Bodies[i], p.MentionAlls[i] = r.conv, r.user.ID, r.clientID, r.body, r.mentions.all
		if r.replyTo != nil {
			p.HasReplies[i], p.ReplyTos[i] = true, *r.replyTo
		}
		if r.asName != nil {
			p.HasNames[i], p.SenderNames[i] = true, *r.asName
		}
		for _, uid := range r.mentions.userIDs {
			p.MentionOrds, p.MentionUsers = append(p.MentionOrds, int64(i+1)), append(p.MentionUsers, uid)
		}
	}
	var msgs []Message
	err := b.s.change(ctx, func(q *store.Queries, ob *outbox) error {
		rows, err := q.SendMessages(ctx, p)
		if err != nil {
			return err
		}
		if len(rows) != n {
			return errBatchRetry
		}
		msgs = make([]Message, n)
		told := map[int64]bool{} // conversations whose revived members were told
		for i, row := range rows {
			if row.Ord != int64(i+1) {
				return errBatchRetry // cannot happen: every input has its row, in order
			}
			m := store.Message{ID: row.ID, ConversationID: row.ConversationID, Seq: row.Seq, SenderID: row.SenderID,
				ClientID: row.ClientID, Body: row.Body, CreatedAt: row.CreatedAt, Version: 1, ReplyToSeq: row.ReplyToSeq, MentionAll: row.MentionAll, SenderName: row.SenderName}
			revived := row.Revived // every row of a conversation names them: told once, before its first message
			if told[m.ConversationID] {
				revived = nil
			}
			told[m.ConversationID] = true
			var err error
			if msgs[i], err = created(ctx, q, ob, batch[i], m, revived, nil); err != nil {
				return err
			}
		}
		return nil
	})
	return msgs, err
}

// withThumbnails gives the attachments whose thumbnails were made since
// they were checked their thumbnail URL (a copy; the checked list stays).
func withThumbnails(as []Attachment, ready []int64) []Attachment {
	if len(ready) == 0 {
		return as
	}
	out := slices.Clone(as)
	for i, a := range out {
		if a.ThumbnailURL == nil && slices.Contains(ready, a.ID) {
			out[i].ThumbnailURL = thumbnailURL(a.ID)
		}
	}
	return out
}
