package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

func (s *Server) sendMessage(r *http.Request, me chat.Actor, in struct {
	ConversationID int64  `path:"id"`
	ClientID       string `json:"client_id"`
	Body           string `json:"body"`
}) (any, error) {
	msg, isNew, err := s.chat.Send(r.Context(), me, in.ConversationID, in.ClientID, in.Body)
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
	Limit          *int64 `query:"limit"`
}) (any, error) {
	h := chat.HistoryQuery{Before: in.Before, After: in.After}
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
