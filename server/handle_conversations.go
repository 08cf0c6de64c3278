package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parleychat/parley/server/chat"
)

// none is the input of an endpoint that reads nothing from the request.
type none struct{}

type convPath struct {
	ID int64 `path:"id"`
}

func (s *Server) searchUsers(r *http.Request, me chat.Actor, in struct {
	Q string `query:"q"`
}) (any, error) {
	users, err := s.chat.SearchUsers(r.Context(), me, in.Q)
	return map[string]any{"users": users}, err
}

func (s *Server) listConversations(r *http.Request, me chat.Actor, _ none) (any, error) {
	cs, err := s.chat.ListConversations(r.Context(), me)
	return map[string]any{"conversations": cs}, err
}

func (s *Server) getConversation(r *http.Request, me chat.Actor, in convPath) (any, error) {
	return conversationOut(s.chat.GetConversation(r.Context(), me, in.ID))
}

func conversationOut(c chat.Conversation, err error) (any, error) {
	return chat.ConversationData{Conversation: c}, err
}

func (s *Server) direct(r *http.Request, me chat.Actor, in struct {
	UserID int64 `json:"user_id"`
}) (any, error) {
	return conversationOut(s.chat.Direct(r.Context(), me, in.UserID))
}

func (s *Server) patchConversation(r *http.Request, me chat.Actor, in struct {
	ID int64 `path:"id"`
	chat.Flags
}) (any, error) {
	return conversationOut(s.chat.SetFlags(r.Context(), me, in.ID, in.Flags))
}

// clearConversation hides the history from the caller; with hide (DELETE)
// it also leaves the caller's list until a new message arrives.
func (s *Server) clearConversation(hide bool) func(*http.Request, chat.Actor, convPath) (any, error) {
	return func(r *http.Request, me chat.Actor, in convPath) (any, error) {
		return nil, s.chat.ClearConversation(r.Context(), me, in.ID, hide)
	}
}

func (s *Server) sync(r *http.Request, me chat.Actor, in struct {
	Since string `query:"since"`
}) (any, error) {
	return s.chat.Sync(r.Context(), me, in.Since)
}

func (s *Server) presence(r *http.Request, me chat.Actor, in struct {
	UserIDs string `query:"user_ids"`
}) (any, error) {
	var ids []int64
	for _, p := range strings.Split(in.UserIDs, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			return nil, chat.Validation("user_ids", "user_ids is a comma-separated list of user ids.")
		}
		ids = append(ids, id)
	}
	out, err := s.chat.Presence(r.Context(), me, ids)
	return map[string]any{"presence": out}, err
}
