package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

// Personal access tokens (docs/protocol.md, Integrations).

func (s *Server) createToken(r *http.Request, me chat.Actor, in chat.TokenInput) (any, error) {
	t, secret, err := s.chat.CreateToken(r.Context(), me, in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"token": t, "secret": secret}, nil
}

func (s *Server) listTokens(r *http.Request, me chat.Actor, _ struct{}) (any, error) {
	ts, err := s.chat.ListTokens(r.Context(), me)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tokens": ts}, nil
}

func (s *Server) revokeToken(r *http.Request, me chat.Actor, in struct {
	ID int64 `path:"id"`
}) (any, error) {
	return nil, s.chat.RevokeToken(r.Context(), me, in.ID)
}
