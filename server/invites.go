package server

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/store"
)

// Invite is an invite as its group's admins see it.
type Invite struct {
	Code      string     `json:"code"`
	MaxUses   *int32     `json:"max_uses"`
	Uses      int32      `json:"uses"`
	ExpiresAt *time.Time `json:"expires_at"`
	Revoked   bool       `json:"revoked"`
	CreatedBy int64      `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

func inviteJSON(i store.Invite) Invite {
	return Invite{Code: i.Code, MaxUses: i.MaxUses, Uses: i.Uses, ExpiresAt: utc(i.ExpiresAt),
		Revoked: i.RevokedAt != nil, CreatedBy: i.CreatedBy, CreatedAt: i.CreatedAt.UTC()}
}

// gone reports whether an invite can no longer be used.
func gone(i store.Invite, now time.Time) bool {
	return i.RevokedAt != nil || (i.ExpiresAt != nil && !now.Before(*i.ExpiresAt)) ||
		(i.MaxUses != nil && i.Uses >= *i.MaxUses)
}

// validCode reports whether s could be an invite code (base64url, short);
// anything else is unknown without asking the database.
func validCode(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// newInviteCode is 192 random bits, URL-safe.
func newInviteCode() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (s *Server) handleCreateInvite(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleAdmin)
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
	if in.MaxUses != nil && (*in.MaxUses < 1 || *in.MaxUses > 100000) {
		s.respondError(w, r, validation("max_uses", "max_uses is 1 to 100000, or absent for no limit."))
		return
	}
	var expires *time.Time
	if in.ExpiresInS != nil {
		if *in.ExpiresInS < 60 || *in.ExpiresInS > 366*24*3600 {
			s.respondError(w, r, validation("expires_in_s", "expires_in_s is 60 seconds to a year, or absent for never."))
			return
		}
		t := time.Now().Add(time.Duration(*in.ExpiresInS) * time.Second).UTC().Truncate(time.Second)
		expires = &t
	}
	code, err := newInviteCode()
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	inv, err := s.opts.DB.CreateInvite(r.Context(), store.CreateInviteParams{
		Code: code, GroupID: gid, CreatedBy: caller(r.Context()).User.ID, MaxUses: in.MaxUses, ExpiresAt: expires})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"code": inv.Code, "expires_at": utc(inv.ExpiresAt),
		"max_uses": inv.MaxUses, "invite": inviteJSON(inv)})
}

func (s *Server) handleListInvites(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	rows, err := s.opts.DB.ListInvites(r.Context(), gid)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	out := make([]Invite, len(rows))
	for i, inv := range rows {
		out[i] = inviteJSON(inv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"invites": out})
}

func (s *Server) handleRevokeInvite(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	code := chi.URLParam(r, "code")
	if !validCode(code) {
		s.respondError(w, r, errNotFound)
		return
	}
	n, err := s.opts.DB.RevokeInvite(r.Context(), store.RevokeInviteParams{GroupID: gid, Code: code})
	if err == nil && n == 0 {
		err = errNotFound
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handlePreviewInvite shows what an invite leads to, to a logged-in user.
func (s *Server) handlePreviewInvite(w http.ResponseWriter, r *http.Request) {
	code := chi.URLParam(r, "code")
	if !validCode(code) {
		s.respondError(w, r, errNotFound)
		return
	}
	inv, err := s.opts.DB.GetInvite(r.Context(), code)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	if gone(inv, time.Now()) {
		s.respondError(w, r, errInviteGone)
		return
	}
	members, err := s.opts.DB.ListGroupMemberIDs(r.Context(), inv.GroupID)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	name, err := s.opts.DB.GetGroupName(r.Context(), inv.GroupID)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User.ID
	member := false
	for _, m := range members {
		member = member || m == me
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": map[string]any{
		"id": inv.GroupID, "name": name, "member_count": len(members), "is_member": member}})
}

// handleAcceptInvite joins the group. Concurrent accepts of one invite
// serialise on its row, so it works exactly as many times as it says; for
// someone already in the group it changes nothing and uses nothing.
func (s *Server) handleAcceptInvite(w http.ResponseWriter, r *http.Request) {
	code := chi.URLParam(r, "code")
	if !validCode(code) {
		s.respondError(w, r, errNotFound)
		return
	}
	me := caller(r.Context()).User.ID
	var gid int64
	err := s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		inv, err := q.LockInvite(r.Context(), code)
		if err != nil {
			return err
		}
		gid = inv.GroupID
		if _, err := q.GetGroupRole(r.Context(), store.GetGroupRoleParams{GroupID: gid, UserID: me}); err == nil {
			return nil // already a member
		} else if !store.IsNotFound(err) {
			return err
		}
		if gone(inv, time.Now()) {
			return errInviteGone
		}
		if err := q.UseInvite(r.Context(), code); err != nil {
			return err
		}
		if err := joinGroup(r.Context(), q, gid, me, roleMember); err != nil {
			return err
		}
		return s.groupEvents(r.Context(), q, ob, gid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondGroup(w, r, http.StatusOK, me, gid)
}
