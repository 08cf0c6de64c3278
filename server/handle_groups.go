package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/server/chat"
)

type groupResponse struct {
	Group chat.Group `json:"group"`
}

type memberResponse struct {
	Member chat.Member `json:"member"`
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.chat.ListGroups(r.Context(), actor(r.Context()))
	respond(s, w, r, http.StatusOK, map[string]any{"groups": gs}, err)
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	g, err := s.chat.CreateGroup(r.Context(), actor(r.Context()), in.Name, in.Description)
	respond(s, w, r, http.StatusCreated, groupResponse{g}, err)
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	g, err := s.chat.GetGroup(r.Context(), actor(r.Context()), gid)
	respond(s, w, r, http.StatusOK, groupResponse{g}, err)
}

func (s *Server) handlePatchGroup(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	g, err := s.chat.UpdateGroup(r.Context(), actor(r.Context()), gid, chat.GroupInput{Name: in.Name, Description: in.Description})
	respond(s, w, r, http.StatusOK, groupResponse{g}, err)
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	noContent(s, w, r, s.chat.DeleteGroup(r.Context(), actor(r.Context()), gid))
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	ms, err := s.chat.ListMembers(r.Context(), actor(r.Context()), gid)
	respond(s, w, r, http.StatusOK, map[string]any{"members": ms}, err)
}

// handleAddMember adds one user ({"user_id"}) or many ({"user_ids"}).
func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		UserID  int64   `json:"user_id"`
		UserIDs []int64 `json:"user_ids"`
		Role    string  `json:"role"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	if in.UserIDs != nil {
		ms, err := s.chat.AddMembers(r.Context(), actor(r.Context()), gid, in.UserIDs, in.Role)
		respond(s, w, r, http.StatusCreated, map[string]any{"members": ms}, err)
		return
	}
	m, err := s.chat.AddMember(r.Context(), actor(r.Context()), gid, in.UserID, in.Role)
	respond(s, w, r, http.StatusCreated, memberResponse{m}, err)
}

func (s *Server) handlePatchMember(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	target, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Role string `json:"role"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	m, err := s.chat.SetRole(r.Context(), actor(r.Context()), gid, target, in.Role)
	respond(s, w, r, http.StatusOK, memberResponse{m}, err)
}

// handleRemoveMember removes a member (admin) or leaves (oneself).
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	target, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	noContent(s, w, r, s.chat.RemoveMember(r.Context(), actor(r.Context()), gid, target))
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	g, err := s.chat.Transfer(r.Context(), actor(r.Context()), gid, in.UserID)
	respond(s, w, r, http.StatusOK, groupResponse{g}, err)
}

func (s *Server) handleCreateChannel(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.chat.CreateChannel(r.Context(), actor(r.Context()), gid, in.Name)
	respond(s, w, r, http.StatusCreated, conversationResponse{c}, err)
}

func (s *Server) handleRenameChannel(w http.ResponseWriter, r *http.Request) {
	gid, cid, err := groupAndChannel(r)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.chat.RenameChannel(r.Context(), actor(r.Context()), gid, cid, in.Name)
	respond(s, w, r, http.StatusOK, conversationResponse{c}, err)
}

func (s *Server) handleDeleteChannel(w http.ResponseWriter, r *http.Request) {
	gid, cid, err := groupAndChannel(r)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	noContent(s, w, r, s.chat.DeleteChannel(r.Context(), actor(r.Context()), gid, cid))
}

func groupAndChannel(r *http.Request) (int64, int64, error) {
	gid, err := pathID(r, "id")
	if err != nil {
		return 0, 0, err
	}
	cid, err := pathID(r, "channel_id")
	return gid, cid, err
}

func (s *Server) handleCreateInvite(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		MaxUses    *int32 `json:"max_uses"`
		ExpiresInS *int64 `json:"expires_in_s"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	inv, err := s.chat.CreateInvite(r.Context(), actor(r.Context()), gid, in.MaxUses, in.ExpiresInS)
	respond(s, w, r, http.StatusCreated, map[string]any{"code": inv.Code, "expires_at": inv.ExpiresAt,
		"max_uses": inv.MaxUses, "invite": inv}, err)
}

func (s *Server) handleListInvites(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	out, err := s.chat.ListInvites(r.Context(), actor(r.Context()), gid)
	respond(s, w, r, http.StatusOK, map[string]any{"invites": out}, err)
}

func (s *Server) handleRevokeInvite(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	noContent(s, w, r, s.chat.RevokeInvite(r.Context(), actor(r.Context()), gid, chi.URLParam(r, "code")))
}

func (s *Server) handlePreviewInvite(w http.ResponseWriter, r *http.Request) {
	p, err := s.chat.PreviewInvite(r.Context(), actor(r.Context()), chi.URLParam(r, "code"))
	respond(s, w, r, http.StatusOK, map[string]any{"group": p}, err)
}

func (s *Server) handleAcceptInvite(w http.ResponseWriter, r *http.Request) {
	g, err := s.chat.AcceptInvite(r.Context(), actor(r.Context()), chi.URLParam(r, "code"))
	respond(s, w, r, http.StatusOK, groupResponse{g}, err)
}
