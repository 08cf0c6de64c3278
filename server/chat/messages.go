package chat

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// errSendRace means the send statement stored nothing: the client_id is
// taken (a retry, or a concurrent send won) or the sender is not a member.
// The transaction is rolled back, so no seq is used.
var errSendRace = errors.New("concurrent send with the same client_id")

// Outgoing is what a client sends: its client_id (for retries), the body,
// and the earlier message it answers, if any.
type Outgoing struct {
	ClientID   string  `json:"client_id"`
	Body       string  `json:"body"`
	ReplyToSeq *int64  `json:"reply_to_seq"`
	UploadIDs  []int64 `json:"upload_ids"`
	// asName is the name a webhook post is shown as (webhooks.go)
	asName *string
}

// Send is the one use case behind POST /messages and the WebSocket
// message.send frame. It returns created=false for a retry of a client_id
// the conversation already has (the same message, nothing new published).
// Concurrent sends are committed together (see sends.go); each returns only
// once its message is durable.
func (s *Service) Send(ctx context.Context, me Actor, convID int64, out Outgoing) (Message, bool, error) {
	body := out.Body
	if body == "" && len(out.UploadIDs) > 0 {
		body = "files" // a message of files alone may have no text
	}
	if err := checkMessage(out.ClientID, body); err != nil {
		return Message{}, false, err
	}
	key := strconv.FormatInt(me.ID(), 10)
	if ok, after := s.sendLimit.Take(ctx, key); !ok {
		// a retry of a stored message is answered even with the limit spent
		if msg, found, err := s.stored(ctx, me, convID, out.ClientID); err != nil || found {
			return msg, false, err
		}
		return Message{}, false, RateLimited(after)
	}
	mentions, err := s.sendChecks(ctx, me, convID, out)
	if err != nil {
		s.sendLimit.Give(ctx, key)
		return Message{}, false, err
	}
	attachments, err := s.checkUploads(ctx, me, out.UploadIDs)
	if err != nil {
		s.sendLimit.Give(ctx, key)
		if msg, found, serr := s.stored(ctx, me, convID, out.ClientID); serr == nil && found {
			return msg, false, nil // a retry: its uploads were sent with it
		}
		return Message{}, false, err
	}
	res := s.sends.submit(ctx, sendReq{user: me.User, conv: convID, clientID: out.ClientID, body: out.Body,
		replyTo: out.ReplyToSeq, asName: out.asName, mentions: mentions, uploads: out.UploadIDs, attachments: attachments})
	if errors.Is(res.err, errSendRace) {
		// the rare path: a retry of a stored message, or no membership
		msg, found, err := s.stored(ctx, me, convID, out.ClientID)
		if found {
			s.sendLimit.Give(ctx, key) // a retry costs no send
		}
		return msg, false, err
	}
	if errors.Is(res.err, errUploadsGone) {
		s.sendLimit.Give(ctx, key)
		return Message{}, false, Validation("upload_ids", "An upload was sent with another message meanwhile, or is gone.")
	}
	if res.err != nil {
		return Message{}, false, res.err
	}
	s.m.messages.Inc()
	s.previewWork.queue(res.msg)
	return res.msg, true, nil
}

// stored finds the message a client_id already stored; a non-member gets
// 404.
func (s *Service) stored(ctx context.Context, me Actor, convID int64, clientID string) (Message, bool, error) {
	check, err := s.db.CheckSend(ctx, store.CheckSendParams{ConversationID: convID, SenderID: me.ID(), ClientID: clientID})
	if err != nil {
		return Message{}, false, err
	}
	if !check.Member {
		return Message{}, false, ErrNotFound
	}
	if check.ExistingID == 0 {
		return Message{}, false, nil
	}
	msg, err := s.db.GetMessageByClientID(ctx, store.GetMessageByClientIDParams{ConversationID: convID, SenderID: me.ID(), ClientID: clientID})
	if err != nil {
		return Message{}, false, err
	}
	full, err := hydrate(ctx, s.db.Queries, []store.Message{msg})
	return full[0], true, err
}

// HistoryQuery pages a conversation's messages: Before a seq (default: the
// newest), After one, or Around one (the limit split on both sides, the
// message in it); Limit at a time (0 means 50).
type HistoryQuery struct {
	Before, After, Around *int64
	Limit                 int64
}

// Page is a page of history, ascending by seq; HasMore says more lie
// beyond it in the direction of paging (for around: on either side).
type Page struct {
	Messages []Message `json:"messages"`
	HasMore  bool      `json:"has_more"`
}

// History pages a conversation's messages, never at or below the actor's
// cleared_seq.
func (s *Service) History(ctx context.Context, me Actor, convID int64, h HistoryQuery) (Page, error) {
	if h.Limit == 0 {
		h.Limit = 50
	}
	given := 0
	for _, p := range []*int64{h.Before, h.After, h.Around} {
		if p != nil {
			given++
		}
	}
	switch {
	case h.Limit < 1 || h.Limit > 200:
		return Page{}, Validation("limit", "limit is 1 to 200.")
	case given > 1:
		return Page{}, Validation("after", "Give one of before, after and around.")
	case h.After != nil && *h.After < 0:
		return Page{}, Validation("after", "after is a seq (a whole number).")
	case h.Before != nil && *h.Before < 0:
		return Page{}, Validation("before", "before is a seq (a whole number).")
	case h.Around != nil && *h.Around < 1:
		return Page{}, Validation("around", "around is a seq (a whole number from 1).")
	}
	member, err := s.db.GetMember(ctx, store.GetMemberParams{ConversationID: convID, UserID: me.ID()})
	if err != nil {
		return Page{}, err
	}
	var rows []store.Message
	var hasMore bool
	switch {
	case h.Around != nil:
		// seqs have no gaps: the page is a range of them, the message in it
		from := max(*h.Around-h.Limit/2, member.ClearedSeq+1)
		rows, err = s.db.ListMessagesAfter(ctx, store.ListMessagesAfterParams{ConversationID: convID, After: from - 1, Lim: int32(h.Limit + 1)})
		hasMore = from > member.ClearedSeq+1 || int64(len(rows)) > h.Limit
		rows = rows[:min(int64(len(rows)), h.Limit)]
	case h.After != nil:
		rows, err = s.db.ListMessagesAfter(ctx, store.ListMessagesAfterParams{
			ConversationID: convID, After: max(*h.After, member.ClearedSeq), Lim: int32(h.Limit + 1)})
		hasMore = int64(len(rows)) > h.Limit
		rows = rows[:min(int64(len(rows)), h.Limit)]
	default:
		before := int64(1) << 62
		if h.Before != nil {
			before = *h.Before
		}
		rows, err = s.db.ListMessagesBefore(ctx, store.ListMessagesBeforeParams{
			ConversationID: convID, Before: before, Cleared: member.ClearedSeq, Lim: int32(h.Limit + 1)})
		hasMore = int64(len(rows)) > h.Limit
		rows = rows[:min(int64(len(rows)), h.Limit)]
		slices.Reverse(rows) // fetched newest first
	}
	if err != nil {
		return Page{}, err
	}
	msgs, err := hydrate(ctx, s.db.Queries, rows)
	return Page{Messages: msgs, HasMore: hasMore}, err
}

// TypingEvery is the server-side floor per conversation and connection.
const TypingEvery = 2 * time.Second

// Typing tells the other members the actor is typing: in a conversation
// larger than LargeAudience, only the connections viewing it.
func (s *Service) Typing(ctx context.Context, me Actor, convID int64) error {
	a, err := s.db.GetMemberAudience(ctx, store.GetMemberAudienceParams{ConversationID: convID, UserID: me.ID()})
	if err != nil {
		return err
	}
	s.publish(ctx, event.Event{
		Topic: event.ConversationTopic(convID), ExceptUser: me.ID(), Droppable: true,
		ViewersOnly: a.Members > LargeAudience,
		Frame:       EncodeFrame(FrameTyping, TypingData{ConversationID: convID, UserID: me.ID()}),
	})
	return nil
}

// View checks that the actor may view a conversation (a connection says
// which one it shows) and returns its group, 0 for a direct chat.
func (s *Service) View(ctx context.Context, me Actor, convID int64) (groupID int64, err error) {
	a, err := s.db.GetMemberAudience(ctx, store.GetMemberAudienceParams{ConversationID: convID, UserID: me.ID()})
	if err != nil {
		return 0, err
	}
	return a.GroupID, nil
}
