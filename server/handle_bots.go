package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

// Bots (docs/protocol.md, Integrations).

func (s *Server) createBot(r *http.Request, me chat.Actor, in chat.BotInput) (any, error) {
	b, secret, err := s.chat.CreateBot(r.Context(), me, in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"bot": b, "secret": secret}, nil
}

func (s *Server) listBots(r *http.Request, me chat.Actor, _ struct{}) (any, error) {
	bots, err := s.chat.ListBots(r.Context(), me)
	if err != nil {
		return nil, err
	}
	return map[string]any{"bots": bots}, nil
}

func (s *Server) deleteBot(r *http.Request, me chat.Actor, in struct {
	ID int64 `path:"id"`
}) (any, error) {
	return nil, s.chat.DeleteBot(r.Context(), me, in.ID)
}
