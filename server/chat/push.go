package chat

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/server/push"
	"github.com/parleychat/parley/store"
)

// Notifications (docs/protocol.md, Notifications): a send queues one row
// per message when anyone has subscribed (SendMessage); the push worker of
// any node claims the rows of conversations that have been quiet for a
// second (or waited ten), works out whom to push (a subscription, the
// conversation's notify level, no live socket on any node), and sends one
// push per user and conversation for everything it claimed: a burst of
// messages is one notification, a busy channel one every ten seconds.

// Pusher sends Web Push messages; nil turns push off.
type Pusher interface {
	PublicKey() string
	CheckSubscription(push.Subscription) error
	Send(ctx context.Context, sub push.Subscription, m push.Message) (status int, err error)
}

const (
	pushEvery   = time.Second      // the worker's tick
	pushQuiet   = time.Second      // a conversation quiet this long is pushed: a burst goes as one
	pushLongest = 10 * time.Second // and one never quiet, this often
	pushTTL     = 24 * time.Hour   // how long a push service keeps an undelivered push
	pushTries   = 4                // on 429 and 5xx, with backoff
	pushBackoff = 2 * time.Second  // doubled after each try
	pushAtOnce  = 16               // sends in flight per node
	pushBody    = 200              // characters of the text in a push
	// pushSubsPerUser: a user's newest subscriptions kept (one per
	// browser), so no account can have the server push to thousands of
	// endpoints
	pushSubsPerUser = 10
)

// ErrPushOff is push asked for when the server has none.
var ErrPushOff = NewError(CodeNotFound, "Push notifications are not set up on this server.")

// PushKey is the server's VAPID public key.
func (s *Service) PushKey() (string, error) {
	if s.pusher == nil {
		return "", ErrPushOff
	}
	return s.pusher.PublicKey(), nil
}

// PushSubscription is POST /push/subscriptions.
type PushSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// Subscribe keeps a browser's subscription; created is false when the
// endpoint was known (its keys are updated).
func (s *Service) Subscribe(ctx context.Context, me Actor, in PushSubscription) (created bool, err error) {
	if s.pusher == nil {
		return false, ErrPushOff
	}
	sub := push.Subscription{Endpoint: in.Endpoint, P256dh: in.Keys.P256dh, Auth: in.Keys.Auth}
	if err := s.pusher.CheckSubscription(sub); err != nil {
		field := "keys"
		if errors.Is(err, push.ErrBadEndpoint) {
			field = "endpoint"
		}
		return false, Validation(field, "That is not a push subscription this server can use: "+err.Error()+".")
	}
	var row store.UpsertPushSubscriptionRow
	err = s.db.InTx(ctx, func(q *store.Queries) error {
		var err error
		if row, err = q.UpsertPushSubscription(ctx, store.UpsertPushSubscriptionParams{
			UserID: me.ID(), SessionID: me.SessionID, Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}); err != nil {
			return err
		}
		return q.TrimPushSubscriptions(ctx, store.TrimPushSubscriptionsParams{Owner: me.ID(), Keep: pushSubsPerUser})
	})
	return row.Inserted, err
}

// Unsubscribe forgets one of the actor's subscriptions (204 either way).
func (s *Service) Unsubscribe(ctx context.Context, me Actor, endpoint string) error {
	if endpoint == "" {
		return Validation("endpoint", "Give the subscription's endpoint.")
	}
	_, err := s.db.DeletePushSubscription(ctx, store.DeletePushSubscriptionParams{UserID: me.ID(), Endpoint: endpoint})
	return err
}

// PushPayload is what a push carries (encrypted), for the service worker.
type PushPayload struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	Title          string `json:"title"`
	Body           string `json:"body,omitempty"`
	Count          int    `json:"count"` // messages this push stands for
}

func (s *Service) runPush() {
	t := time.NewTicker(pushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if s.pusher == nil { // push off: what sends queued (for old subscriptions) goes
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = s.db.DiscardPushes(ctx)
				cancel()
				continue
			}
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				n, err := s.pushDue(ctx)
				cancel()
				if err != nil {
					s.warn("push failed", "err", err)
				}
				if err != nil || n < pushBatch {
					break
				}
			}
		}
	}
}

const pushBatch = 500

// pushNotice is one push to one user.
type pushNotice struct {
	user      int64
	conv      int64
	latest    store.Message
	count     int
	mentioned bool
}

// pushDue sends the pushes of the conversations due now, one
// conversation at a time, each struck off the queue once its pushes are
// done (a failure leaves only that conversation to a later try), and
// returns how many queue rows it took.
func (s *Service) pushDue(ctx context.Context) (int, error) {
	claimed, err := s.db.ClaimPushes(ctx, store.ClaimPushesParams{
		QuietS: pushQuiet.Seconds(), LongestS: pushLongest.Seconds(), Lim: pushBatch})
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	type batch struct{ rows, msgs []int64 }
	byConv := map[int64]*batch{}
	var convs []int64
	for _, c := range claimed {
		b := byConv[c.ConversationID]
		if b == nil {
			b = &batch{}
			byConv[c.ConversationID] = b
			convs = append(convs, c.ConversationID)
		}
		b.rows, b.msgs = append(b.rows, c.ID), append(b.msgs, c.MessageID)
	}
	var firstErr error
	for _, conv := range convs {
		b := byConv[conv]
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := s.pushConversation(cctx, conv, b.msgs)
		cancel()
		if err == nil {
			err = s.db.DonePushes(ctx, b.rows)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return len(claimed), firstErr
}

// pushConversation pushes the offline members of one conversation whose
// notify level wants some of msgs, once each.
func (s *Service) pushConversation(ctx context.Context, conv int64, msgIDs []int64) error {
	rows, err := s.db.ListMessagesByIDs(ctx, msgIDs) // newest first
	if err != nil {
		return err
	}
	var msgs []store.Message
	for _, m := range rows {
		if !m.Deleted {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	mentionRows, err := s.db.ListMentionsOf(ctx, msgIDs)
	if err != nil {
		return err
	}
	mentioned := map[[2]int64]bool{}
	for _, m := range mentionRows {
		mentioned[[2]int64{m.MessageID, m.UserID}] = true
	}
	recips, err := s.db.ListPushRecipients(ctx, conv)
	if err != nil {
		return err
	}
	var notices []pushNotice
	for _, r := range recips {
		n := pushNotice{user: r.UserID, conv: conv}
		for _, m := range msgs {
			if m.SenderID == r.UserID {
				continue
			}
			at := m.MentionAll || mentioned[[2]int64{m.ID, r.UserID}]
			if r.Notify == "mentions" && !at {
				continue
			}
			if n.count == 0 {
				n.latest = m
			}
			n.count++
			n.mentioned = n.mentioned || at
		}
		if n.count > 0 {
			notices = append(notices, n)
		}
	}
	if len(notices) == 0 {
		return nil
	}
	users := make([]int64, len(notices))
	for i, n := range notices {
		users[i] = n.user
	}
	online, err := s.tracker.Online(ctx, users)
	if err != nil {
		return err // presence unknown: better late than pushed to an open tab
	}
	var offline []int64
	kept := notices[:0]
	for _, n := range notices {
		if !online[n.user] {
			kept = append(kept, n)
			offline = append(offline, n.user)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	subRows, err := s.db.ListPushSubscriptions(ctx, offline)
	if err != nil {
		return err
	}
	subs := map[int64][]store.PushSubscription{}
	for _, sr := range subRows {
		subs[sr.UserID] = append(subs[sr.UserID], sr)
	}
	names := map[int64]string{}
	var channel *Conversation // a channel's title is everyone's: read once
	sem := make(chan struct{}, pushAtOnce)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, n := range kept {
		if len(subs[n.user]) == 0 {
			continue
		}
		m, err := s.pushMessage(ctx, n, names, &channel)
		if errors.Is(err, ErrNotFound) {
			continue // left the conversation meanwhile
		} else if err != nil {
			return err
		}
		for _, sub := range subs[n.user] {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				s.sendPush(ctx, sub, m)
			})
		}
	}
	return nil
}

// pushMessage is the push for one notice: the conversation as its user
// sees it, the latest message's sender and text.
func (s *Service) pushMessage(ctx context.Context, n pushNotice, names map[int64]string, channel **Conversation) (push.Message, error) {
	var c Conversation
	if *channel != nil {
		c = **channel
	} else {
		var err error
		if c, err = conversationQ(ctx, s.db.Queries, n.user, n.conv); err != nil {
			return push.Message{}, err
		}
		if c.Kind == "channel" {
			*channel = &c
		}
	}
	p := PushPayload{Type: "message", ConversationID: n.conv, Seq: n.latest.Seq, Title: c.Title, Count: n.count}
	if c.Kind == "channel" {
		p.Title = "#" + c.Title
	}
	if !s.pushHidden {
		body := n.latest.Body
		if body == "" {
			body = "(a file)"
		}
		if utf8.RuneCountInString(body) > pushBody {
			body = string([]rune(body)[:pushBody-1]) + "…"
		}
		if c.Kind == "channel" {
			name, ok := names[n.latest.SenderID]
			if !ok {
				if u, err := s.db.GetUser(ctx, n.latest.SenderID); err == nil {
					name = u.DisplayName
				}
				names[n.latest.SenderID] = name
			}
			body = name + ": " + body
		}
		p.Body = body
	}
	payload, _ := json.Marshal(p)
	return push.Message{Payload: payload, TTL: pushTTL, High: n.mentioned || c.Kind == "direct",
		Topic: "c" + strconv.FormatInt(n.conv, 10)}, nil
}

// sendPush sends one push, again on 429 and 5xx with backoff; a
// subscription the push service no longer has (404, 410) is deleted.
func (s *Service) sendPush(ctx context.Context, sub store.PushSubscription, m push.Message) {
	wait := pushBackoff
	for try := 1; ; try++ {
		status, err := s.pusher.Send(ctx, push.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, m)
		switch {
		case err == nil && status >= 200 && status < 300:
			s.m.pushes.Inc()
			return
		case err == nil && (status == 404 || status == 410):
			_ = s.db.DropPushSubscription(ctx, sub.ID)
			return
		case err == nil && status != 429 && status < 500:
			s.warn("push refused", "status", status)
			return
		}
		if try == pushTries {
			s.warn("push failed", "status", status, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.stop: // the node is stopping: the lease hands it to another
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}
