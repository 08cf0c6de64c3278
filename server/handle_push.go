package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

// Web Push (docs/protocol.md, Notifications).

func (s *Server) pushKey(r *http.Request, _ chat.Actor, _ struct{}) (any, error) {
	k, err := s.chat.PushKey()
	if err != nil {
		return nil, err
	}
	return map[string]string{"public_key": k}, nil
}

func (s *Server) subscribePush(r *http.Request, me chat.Actor, in chat.PushSubscription) (any, error) {
	isNew, err := s.chat.Subscribe(r.Context(), me, in)
	if err != nil {
		return nil, err
	}
	out := map[string]string{"endpoint": in.Endpoint}
	if isNew {
		return created{out}, nil
	}
	return out, nil
}

func (s *Server) unsubscribePush(r *http.Request, me chat.Actor, in struct {
	Endpoint string `json:"endpoint"`
}) (any, error) {
	return nil, s.chat.Unsubscribe(r.Context(), me, in.Endpoint)
}
