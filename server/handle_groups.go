package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

type groupPath struct {
	GroupID int64 `path:"id"`
}

type memberPath struct {
	GroupID int64 `path:"id"`
	UserID  int64 `path:"user_id"`
}

type channelPath struct {
	GroupID   int64 `path:"id"`
	ChannelID int64 `path:"channel_id"`
}

func groupOut(g chat.Group, err error) (any, error) { return chat.GroupData{Group: g}, err }

func memberOut(m chat.Member, err error) (any, error) { return map[string]any{"member": m}, err }

func (s *Server) listGroups(r *http.Request, me chat.Actor, _ none) (any, error) {
	gs, err := s.chat.ListGroups(r.Context(), me)
	return map[string]any{"groups": gs}, err
}

func (s *Server) createGroup(r *http.Request, me chat.Actor, in struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}) (any, error) {
	return groupOut(s.chat.CreateGroup(r.Context(), me, in.Name, in.Description))
}

func (s *Server) getGroup(r *http.Request, me chat.Actor, in groupPath) (any, error) {
	return groupOut(s.chat.GetGroup(r.Context(), me, in.GroupID))
}

func (s *Server) patchGroup(r *http.Request, me chat.Actor, in struct {
	GroupID int64 `path:"id"`
	chat.GroupInput
}) (any, error) {
	return groupOut(s.chat.UpdateGroup(r.Context(), me, in.GroupID, in.GroupInput))
}

func (s *Server) deleteGroup(r *http.Request, me chat.Actor, in groupPath) (any, error) {
	return nil, s.chat.DeleteGroup(r.Context(), me, in.GroupID)
}

func (s *Server) listMembers(r *http.Request, me chat.Actor, in groupPath) (any, error) {
	ms, err := s.chat.ListMembers(r.Context(), me, in.GroupID)
	return map[string]any{"members": ms}, err
}

// addMember adds one user ({"user_id"}) or many at once ({"user_ids"}).
func (s *Server) addMember(r *http.Request, me chat.Actor, in struct {
	GroupID int64   `path:"id"`
	UserID  int64   `json:"user_id"`
	UserIDs []int64 `json:"user_ids"`
	Role    string  `json:"role"`
}) (any, error) {
	if in.UserIDs != nil {
		ms, err := s.chat.AddMembers(r.Context(), me, in.GroupID, in.UserIDs, in.Role)
		return map[string]any{"members": ms}, err
	}
	return memberOut(s.chat.AddMember(r.Context(), me, in.GroupID, in.UserID, in.Role))
}

func (s *Server) patchMember(r *http.Request, me chat.Actor, in struct {
	memberPath
	Role string `json:"role"`
}) (any, error) {
	return memberOut(s.chat.SetRole(r.Context(), me, in.GroupID, in.UserID, in.Role))
}

// removeMember removes a member (admin) or leaves (oneself).
func (s *Server) removeMember(r *http.Request, me chat.Actor, in memberPath) (any, error) {
	return nil, s.chat.RemoveMember(r.Context(), me, in.GroupID, in.UserID)
}

func (s *Server) transfer(r *http.Request, me chat.Actor, in struct {
	GroupID int64 `path:"id"`
	UserID  int64 `json:"user_id"`
}) (any, error) {
	return groupOut(s.chat.Transfer(r.Context(), me, in.GroupID, in.UserID))
}

func (s *Server) createChannel(r *http.Request, me chat.Actor, in struct {
	GroupID int64  `path:"id"`
	Name    string `json:"name"`
}) (any, error) {
	return conversationOut(s.chat.CreateChannel(r.Context(), me, in.GroupID, in.Name))
}

func (s *Server) renameChannel(r *http.Request, me chat.Actor, in struct {
	channelPath
	Name string `json:"name"`
}) (any, error) {
	return conversationOut(s.chat.RenameChannel(r.Context(), me, in.GroupID, in.ChannelID, in.Name))
}

func (s *Server) deleteChannel(r *http.Request, me chat.Actor, in channelPath) (any, error) {
	return nil, s.chat.DeleteChannel(r.Context(), me, in.GroupID, in.ChannelID)
}

func (s *Server) createInvite(r *http.Request, me chat.Actor, in struct {
	GroupID    int64  `path:"id"`
	MaxUses    *int32 `json:"max_uses"`
	ExpiresInS *int64 `json:"expires_in_s"`
}) (any, error) {
	inv, err := s.chat.CreateInvite(r.Context(), me, in.GroupID, in.MaxUses, in.ExpiresInS)
	return map[string]any{"code": inv.Code, "expires_at": inv.ExpiresAt, "max_uses": inv.MaxUses, "invite": inv}, err
}

func (s *Server) listInvites(r *http.Request, me chat.Actor, in groupPath) (any, error) {
	out, err := s.chat.ListInvites(r.Context(), me, in.GroupID)
	return map[string]any{"invites": out}, err
}

type invitePath struct {
	GroupID int64  `path:"id"`
	Code    string `path:"code"`
}

func (s *Server) revokeInvite(r *http.Request, me chat.Actor, in invitePath) (any, error) {
	return nil, s.chat.RevokeInvite(r.Context(), me, in.GroupID, in.Code)
}

type codePath struct {
	Code string `path:"code"`
}

func (s *Server) previewInvite(r *http.Request, me chat.Actor, in codePath) (any, error) {
	p, err := s.chat.PreviewInvite(r.Context(), me, in.Code)
	return map[string]any{"group": p}, err
}

func (s *Server) acceptInvite(r *http.Request, me chat.Actor, in codePath) (any, error) {
	return groupOut(s.chat.AcceptInvite(r.Context(), me, in.Code))
}
