package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

// search is GET /search (docs/protocol.md, Search).
func (s *Server) search(r *http.Request, me chat.Actor, in struct {
	Q              string `query:"q"`
	ConversationID *int64 `query:"conversation_id"`
	GroupID        *int64 `query:"group_id"`
	From           *int64 `query:"from"`
	Before         *int64 `query:"before"`
	Limit          *int64 `query:"limit"`
}) (any, error) {
	q := chat.SearchQuery{Q: in.Q, ConversationID: in.ConversationID, GroupID: in.GroupID, From: in.From, Before: in.Before}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, chat.Validation("limit", "limit is 1 to 50.")
		}
		q.Limit = int(*in.Limit)
	}
	return s.chat.Search(r.Context(), me, q)
}
