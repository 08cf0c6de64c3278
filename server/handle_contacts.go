package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

type contactResponse struct {
	Contact chat.Contact `json:"contact"`
}

func (s *Server) handleListContacts(w http.ResponseWriter, r *http.Request) {
	cs, err := s.chat.ListContacts(r.Context(), actor(r.Context()))
	respond(s, w, r, http.StatusOK, map[string]any{"contacts": cs}, err)
}

func (s *Server) handleAddContact(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID   int64   `json:"user_id"`
		Username string  `json:"username"`
		Alias    *string `json:"alias"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.chat.AddContact(r.Context(), actor(r.Context()), in.UserID, in.Username, in.Alias)
	respond(s, w, r, http.StatusCreated, contactResponse{c}, err)
}

func (s *Server) handleUpdateContact(w http.ResponseWriter, r *http.Request) {
	uid, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Alias *string `json:"alias"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.chat.SetAlias(r.Context(), actor(r.Context()), uid, in.Alias)
	respond(s, w, r, http.StatusOK, contactResponse{c}, err)
}

func (s *Server) handleDeleteContact(w http.ResponseWriter, r *http.Request) {
	uid, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	noContent(s, w, r, s.chat.DeleteContact(r.Context(), actor(r.Context()), uid))
}
