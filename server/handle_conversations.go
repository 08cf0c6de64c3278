package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parleychat/parley/server/chat"
)

type conversationResponse struct {
	Conversation chat.Conversation `json:"conversation"`
}

func (s *Server) handleSearchUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.chat.SearchUsers(r.Context(), actor(r.Context()), r.URL.Query().Get("q"))
	respond(s, w, r, http.StatusOK, map[string]any{"users": users}, err)
}

func (s *Server) handleListConversations(w http.ResponseWriter, r *http.Request) {
	cs, err := s.chat.ListConversations(r.Context(), actor(r.Context()))
	respond(s, w, r, http.StatusOK, map[string]any{"conversations": cs}, err)
}

func (s *Server) handleGetConversation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.chat.GetConversation(r.Context(), actor(r.Context()), id)
	respond(s, w, r, http.StatusOK, conversationResponse{c}, err)
}

func (s *Server) handleDirect(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.chat.Direct(r.Context(), actor(r.Context()), in.UserID)
	respond(s, w, r, http.StatusOK, conversationResponse{c}, err)
}

func (s *Server) handlePatchConversation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Pinned   *bool `json:"pinned"`
		Archived *bool `json:"archived"`
		Muted    *bool `json:"muted"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.chat.SetFlags(r.Context(), actor(r.Context()), id, chat.Flags{Pinned: in.Pinned, Archived: in.Archived, Muted: in.Muted})
	respond(s, w, r, http.StatusOK, conversationResponse{c}, err)
}

// clearConversation hides the history from the caller; with hide (DELETE)
// it also leaves the caller's list until a new message arrives.
func (s *Server) clearConversation(hide bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		noContent(s, w, r, s.chat.ClearConversation(r.Context(), actor(r.Context()), id, hide))
	}
}

func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	out, err := s.chat.Sync(r.Context(), actor(r.Context()), r.URL.Query().Get("since"))
	respond(s, w, r, http.StatusOK, out, err)
}

func (s *Server) handlePresence(w http.ResponseWriter, r *http.Request) {
	var ids []int64
	for _, p := range strings.Split(r.URL.Query().Get("user_ids"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			s.respondError(w, r, chat.Validation("user_ids", "user_ids is a comma-separated list of user ids."))
			return
		}
		ids = append(ids, id)
	}
	out, err := s.chat.Presence(r.Context(), actor(r.Context()), ids)
	respond(s, w, r, http.StatusOK, map[string]any{"presence": out}, err)
}
