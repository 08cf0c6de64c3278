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

const (
	sendWorkers  = 4   // batches in flight at once
	maxSendBatch = 128 // messages per transaction
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
	s     *Service
	queue chan *sendReq
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newSendBatcher(s *Service) *sendBatcher {
	b := &sendBatcher{s: s, queue: make(chan *sendReq, 4096), stop: make(chan struct{})}
	for range sendWorkers {
		b.wg.Go(b.work)
	}
	return b
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
	case b.queue <- &r:
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
	for { // a send that slipped in as the workers stopped
		select {
		case r := <-b.queue:
			r.done <- sendRes{err: ErrUnavailable}
		default:
			return
		}
	}
}

func (b *sendBatcher) work() {
	for {
		var first *sendReq
		select {
		case first = <-b.queue:
		case <-b.stop:
			// answer whatever is still queued
			for {
				select {
				case r := <-b.queue:
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
			case r := <-b.queue:
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
			msgs[i] = messageJSON(store.Message{ID: row.ID, ConversationID: row.ConversationID, Seq: row.Seq, SenderID: row.SenderID,
				ClientID: row.ClientID, Body: row.Body, CreatedAt: row.CreatedAt, Version: 1, ReplyToSeq: row.ReplyToSeq, MentionAll: row.MentionAll, SenderName: row.SenderName})
			msgs[i].Mentions.UserIDs = batch[i].mentions.userIDs
			msgs[i].Attachments = withThumbnails(batch[i].attachments, row.ThumbsReady)
			// members who get the conversation back learn of it before its message
			for _, uid := range row.Revived {
				ev, err := conversationEvent(ctx, q, uid, row.ConversationID)
				if err != nil {
					return err
				}
				ob.add(ev)
			}
			ob.add(event.Event{
				Topic: event.ConversationTopic(row.ConversationID),
				Frame: EncodeFrame(FrameMessageCreated, MessageData{Message: msgs[i]}),
			})
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
