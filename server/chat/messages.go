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

// Send is the one use case behind POST /messages and the WebSocket
// message.send frame. It returns created=false for a retry of a client_id
// the conversation already has (the same message, nothing new published).
// Concurrent sends are committed together (see sends.go); each returns only
// once its message is durable.
func (s *Service) Send(ctx context.Context, me Actor, convID int64, clientID, body string) (Message, bool, error) {
	if err := checkMessage(clientID, body); err != nil {
		return Message{}, false, err
	}
	key := strconv.FormatInt(me.ID(), 10)
	if ok, after := s.sendLimit.Take(ctx, key); !ok {
		// a retry of a stored message is answered even with the limit spent
		if msg, found, err := s.stored(ctx, me, convID, clientID); err != nil || found {
			return msg, false, err
		}
		return Message{}, false, RateLimited(after)
	}
	res := s.sends.submit(ctx, sendReq{user: me.User, conv: convID, clientID: clientID, body: body})
	if errors.Is(res.err, errSendRace) {
		// the rare path: a retry of a stored message, or no membership
		msg, found, err := s.stored(ctx, me, convID, clientID)
		if found {
			s.sendLimit.Give(ctx, key) // a retry costs no send
		}
		return msg, false, err
	}
	if res.err != nil {
		return Message{}, false, res.err
	}
	s.m.messages.Inc()
	return messageJSON(res.msg), true, nil
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
	return messageJSON(msg), err == nil, err
}

// HistoryQuery pages a conversation's messages: Before a seq (default: the
// newest) or After one, Limit at a time (0 means 50).
type HistoryQuery struct {
	Before, After *int64
	Limit         int64
}

// Page is a page of history, ascending by seq; HasMore says more lie
// beyond it in the direction of paging.
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
	switch {
	case h.Limit < 1 || h.Limit > 200:
		return Page{}, Validation("limit", "limit is 1 to 200.")
	case h.Before != nil && h.After != nil:
		return Page{}, Validation("after", "Give before or after, not both.")
	case h.After != nil && *h.After < 0:
		return Page{}, Validation("after", "after is a seq (a whole number).")
	case h.Before != nil && *h.Before < 0:
		return Page{}, Validation("before", "before is a seq (a whole number).")
	}
	member, err := s.db.GetMember(ctx, store.GetMemberParams{ConversationID: convID, UserID: me.ID()})
	if err != nil {
		return Page{}, err
	}
	var rows []store.Message
	if h.After != nil {
		rows, err = s.db.ListMessagesAfter(ctx, store.ListMessagesAfterParams{
			ConversationID: convID, After: max(*h.After, member.ClearedSeq), Lim: int32(h.Limit + 1)})
	} else {
		before := int64(1) << 62
		if h.Before != nil {
			before = *h.Before
		}
		rows, err = s.db.ListMessagesBefore(ctx, store.ListMessagesBeforeParams{
			ConversationID: convID, Before: before, Cleared: member.ClearedSeq, Lim: int32(h.Limit + 1)})
	}
	if err != nil {
		return Page{}, err
	}
	p := Page{HasMore: int64(len(rows)) > h.Limit, Messages: make([]Message, 0, len(rows))}
	for _, m := range rows[:min(int64(len(rows)), h.Limit)] {
		p.Messages = append(p.Messages, messageJSON(m))
	}
	if h.After == nil { // fetched newest first
		slices.Reverse(p.Messages)
	}
	return p, nil
}

// TypingEvery is the server-side floor per conversation and connection.
const TypingEvery = 2 * time.Second

// Typing tells the other members the actor is typing.
func (s *Service) Typing(ctx context.Context, me Actor, convID int64) error {
	if _, err := s.db.GetMember(ctx, store.GetMemberParams{ConversationID: convID, UserID: me.ID()}); err != nil {
		return err
	}
	s.publish(ctx, event.Event{
		Topic: event.ConversationTopic(convID), ExceptUser: me.ID(), Droppable: true,
		Frame: EncodeFrame(FrameTyping, TypingData{ConversationID: convID, UserID: me.ID()}),
	})
	return nil
}
