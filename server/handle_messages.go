package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

func (s *Server) sendMessage(r *http.Request, me chat.Actor, in struct {
	ConversationID int64 `path:"id"`
	chat.Outgoing
}) (any, error) {
	msg, isNew, err := s.chat.Send(r.Context(), me, in.ConversationID, in.Outgoing)
	if isNew {
		return created{chat.MessageData{Message: msg}}, err
	}
	return chat.MessageData{Message: msg}, err // a retry of a stored message: 200
}

// listMessages pages history: ?before=SEQ (default: the newest) or
// ?after=SEQ, with limit 1–200, ascending, never at or below cleared_seq.
func (s *Server) listMessages(r *http.Request, me chat.Actor, in struct {
	ConversationID int64  `path:"id"`
	Before         *int64 `query:"before"`
	After          *int64 `query:"after"`
	Around         *int64 `query:"around"`
	Limit          *int64 `query:"limit"`
}) (any, error) {
	h := chat.HistoryQuery{Before: in.Before, After: in.After, Around: in.Around}
	if in.Limit != nil {
		if h.Limit = *in.Limit; h.Limit == 0 {
			return nil, chat.Validation("limit", "limit is 1 to 200.")
		}
	}
	return s.chat.History(r.Context(), me, in.ConversationID, h)
}

func (s *Server) postReceipts(r *http.Request, me chat.Actor, in struct {
	ConversationID int64  `path:"id"`
	DeliveredSeq   *int64 `json:"delivered_seq"`
	ReadSeq        *int64 `json:"read_seq"`
}) (any, error) {
	return nil, s.chat.ReceiptWait(r.Context(), me, in.ConversationID, in.DeliveredSeq, in.ReadSeq)
}

func (s *Server) listReceipts(r *http.Request, me chat.Actor, in convPath) (any, error) {
	out, err := s.chat.ListReceipts(r.Context(), me, in.ID)
	return map[string]any{"receipts": out}, err
}

func (s *Server) receiptCounts(r *http.Request, me chat.Actor, in struct {
	convPath
	From *int64 `query:"from"`
	To   *int64 `query:"to"`
}) (any, error) {
	if in.From == nil {
		return nil, chat.Validation("from", "from (a seq) is required.")
	}
	out, err := s.chat.ReceiptCounts(r.Context(), me, in.ID, *in.From, in.To)
	return map[string]any{"counts": out}, err
}

type messagePath struct {
	ConversationID int64 `path:"id"`
	Seq            int64 `path:"seq"`
}

func (s *Server) getMessage(r *http.Request, me chat.Actor, in messagePath) (any, error) {
	m, err := s.chat.GetMessage(r.Context(), me, in.ConversationID, in.Seq)
	return chat.MessageData{Message: m}, err
}

func (s *Server) editMessage(r *http.Request, me chat.Actor, in struct {
	messagePath
	Body string `json:"body"`
}) (any, error) {
	m, err := s.chat.Edit(r.Context(), me, in.ConversationID, in.Seq, in.Body)
	return chat.MessageData{Message: m}, err
}

func (s *Server) deleteMessage(r *http.Request, me chat.Actor, in messagePath) (any, error) {
	return nil, s.chat.Delete(r.Context(), me, in.ConversationID, in.Seq)
}

func (s *Server) listRevisions(r *http.Request, me chat.Actor, in messagePath) (any, error) {
	out, err := s.chat.Revisions(r.Context(), me, in.ConversationID, in.Seq)
	return map[string]any{"revisions": out}, err
}

// react adds (PUT) or removes (DELETE) the caller's emoji on a message.
func (s *Server) react(on bool) func(*http.Request, chat.Actor, reactionPath) (any, error) {
	return func(r *http.Request, me chat.Actor, in reactionPath) (any, error) {
		return nil, s.chat.React(r.Context(), me, in.ConversationID, in.Seq, in.Emoji, on)
	}
}

type reactionPath struct {
	ConversationID int64  `path:"id"`
	Seq            int64  `path:"seq"`
	Emoji          string `path:"emoji"`
}
