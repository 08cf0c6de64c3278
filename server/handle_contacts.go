package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

type userPath struct {
	UserID int64 `path:"user_id"`
}

func contactOut(c chat.Contact, err error) (any, error) {
	return map[string]any{"contact": c}, err
}

func (s *Server) listContacts(r *http.Request, me chat.Actor, _ none) (any, error) {
	cs, err := s.chat.ListContacts(r.Context(), me)
	return map[string]any{"contacts": cs}, err
}

func (s *Server) addContact(r *http.Request, me chat.Actor, in struct {
	UserID   int64   `json:"user_id"`
	Username string  `json:"username"`
	Alias    *string `json:"alias"`
}) (any, error) {
	return contactOut(s.chat.AddContact(r.Context(), me, in.UserID, in.Username, in.Alias))
}

func (s *Server) updateContact(r *http.Request, me chat.Actor, in struct {
	UserID int64   `path:"user_id"`
	Alias  *string `json:"alias"`
}) (any, error) {
	return contactOut(s.chat.SetAlias(r.Context(), me, in.UserID, in.Alias))
}

func (s *Server) deleteContact(r *http.Request, me chat.Actor, in userPath) (any, error) {
	return nil, s.chat.DeleteContact(r.Context(), me, in.UserID)
}
