package server

import (
	"cmp"
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

// Site administration (docs/protocol.md, Administration).

func (s *Server) adminUsers(r *http.Request, me chat.Actor, in struct {
	Q     string `query:"q"`
	Limit *int64 `query:"limit"`
	After *int64 `query:"after"`
}) (any, error) {
	return s.chat.AdminUsers(r.Context(), me, in.Q, deref(in.Limit), deref(in.After))
}

func (s *Server) adminUpdateUser(r *http.Request, me chat.Actor, in struct {
	ID int64 `path:"id"`
	chat.AdminUserInput
}) (any, error) {
	u, err := s.chat.AdminUpdateUser(r.Context(), me, in.ID, in.AdminUserInput)
	if err != nil {
		return nil, err
	}
	return map[string]any{"user": u}, nil
}

func (s *Server) reportMessage(r *http.Request, me chat.Actor, in struct {
	ConversationID int64  `path:"id"`
	Seq            int64  `path:"seq"`
	Reason         string `json:"reason"`
}) (any, error) {
	if err := s.chat.ReportMessage(r.Context(), me, in.ConversationID, in.Seq, in.Reason); err != nil {
		return nil, err
	}
	return map[string]any{"reported": true}, nil
}

func (s *Server) adminReports(r *http.Request, me chat.Actor, in struct {
	All    string `query:"all"`
	Before *int64 `query:"before"`
}) (any, error) {
	return s.chat.Reports(r.Context(), me, in.All == "true" || in.All == "1", deref(in.Before))
}

func (s *Server) adminResolveReport(r *http.Request, me chat.Actor, in struct {
	ID       int64 `path:"id"`
	Resolved *bool `json:"resolved"`
}) (any, error) {
	if in.Resolved == nil {
		return nil, chat.Validation("resolved", "resolved is true or false.")
	}
	return nil, s.chat.ResolveReport(r.Context(), me, in.ID, *in.Resolved)
}

func (s *Server) adminAudit(r *http.Request, me chat.Actor, in struct {
	Before *int64 `query:"before"`
	After  *int64 `query:"after"`
}) (any, error) {
	return s.chat.Audit(r.Context(), me, deref(in.Before), deref(in.After))
}

// adminServer is the install's facts: this node's, and its contents.
func (s *Server) adminServer(r *http.Request, me chat.Actor, _ struct{}) (any, error) {
	f, err := s.chat.ServerFacts(r.Context(), me)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"version": s.opts.Version, "node_id": s.opts.NodeID, "facts": f,
		"connected_users": s.hub.connectedUsers(), "sockets": s.hub.socketCount(),
		"settings": map[string]any{
			"signup_open": s.opts.SignupOpen, "cluster": s.opts.NewBus != nil,
			"push": s.opts.Pusher != nil, "previews": s.opts.Previews != nil,
			"max_upload_bytes": cmp.Or(s.opts.MaxUpload, chat.DefaultMaxUpload),
		},
	}, nil
}

// deref is a query number's value, 0 when absent.
func deref(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
