package chat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/parleychat/parley/store"
)

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
func newInviteCode() (string, error) { return randomToken(24) }

// randomToken is n random bytes in URL-safe base64: invite codes, session
// tokens, token and bot secrets.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateInvite makes an invite link (admins): maxUses 1–100000 and an
// expiry of a minute to a year, each optional.
func (s *Service) CreateInvite(ctx context.Context, me Actor, gid int64, maxUses *int32, expiresInS *int64) (Invite, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return Invite{}, err
	}
	if maxUses != nil && (*maxUses < 1 || *maxUses > 100000) {
		return Invite{}, Validation("max_uses", "max_uses is 1 to 100000, or absent for no limit.")
	}
	var expires *time.Time
	if expiresInS != nil {
		if *expiresInS < 60 || *expiresInS > 366*24*3600 {
			return Invite{}, Validation("expires_in_s", "expires_in_s is 60 seconds to a year, or absent for never.")
		}
		t := time.Now().Add(time.Duration(*expiresInS) * time.Second).UTC().Truncate(time.Second)
		expires = &t
	}
	code, err := newInviteCode()
	if err != nil {
		return Invite{}, err
	}
	inv, err := s.db.CreateInvite(ctx, store.CreateInviteParams{
		Code: code, GroupID: gid, CreatedBy: me.ID(), MaxUses: maxUses, ExpiresAt: expires})
	return inviteJSON(inv), err
}

// ListInvites is a group's invites, newest first (admins).
func (s *Service) ListInvites(ctx context.Context, me Actor, gid int64) ([]Invite, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return nil, err
	}
	rows, err := s.db.ListInvites(ctx, gid)
	if err != nil {
		return nil, err
	}
	out := make([]Invite, len(rows))
	for i, inv := range rows {
		out[i] = inviteJSON(inv)
	}
	return out, nil
}

// RevokeInvite ends an invite (admins).
func (s *Service) RevokeInvite(ctx context.Context, me Actor, gid int64, code string) error {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return err
	}
	if !validCode(code) {
		return ErrNotFound
	}
	n, err := s.db.RevokeInvite(ctx, store.RevokeInviteParams{GroupID: gid, Code: code})
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// PreviewInvite shows what an invite leads to.
func (s *Service) PreviewInvite(ctx context.Context, me Actor, code string) (InvitePreview, error) {
	if !validCode(code) {
		return InvitePreview{}, ErrNotFound
	}
	inv, err := s.db.GetInvite(ctx, code)
	if err != nil {
		return InvitePreview{}, err
	}
	if gone(inv, time.Now()) {
		return InvitePreview{}, ErrInviteGone
	}
	p, err := s.db.GetInvitePreview(ctx, store.GetInvitePreviewParams{GroupID: inv.GroupID, UserID: me.ID()})
	if err != nil {
		return InvitePreview{}, err
	}
	return InvitePreview{ID: inv.GroupID, Name: p.Name, MemberCount: int(p.MemberCount), IsMember: p.IsMember}, nil
}

// AcceptInvite joins the group. Concurrent accepts of one invite serialise
// on its row, so it works exactly as many times as it says; for someone
// already in the group it changes nothing and uses nothing.
func (s *Service) AcceptInvite(ctx context.Context, me Actor, code string) (Group, error) {
	if !validCode(code) {
		return Group{}, ErrNotFound
	}
	var gid int64
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		inv, err := q.LockInvite(ctx, code)
		if err != nil {
			return err
		}
		gid = inv.GroupID
		if _, err := q.GetGroupRole(ctx, store.GetGroupRoleParams{GroupID: gid, UserID: me.ID()}); err == nil {
			return nil // already a member
		} else if !store.IsNotFound(err) {
			return err
		}
		if gone(inv, time.Now()) {
			return ErrInviteGone
		}
		if err := q.UseInvite(ctx, code); err != nil {
			return err
		}
		_, err = s.join(ctx, q, ob, gid, []int64{me.ID()}, RoleMember)
		return err
	})
	if err != nil {
		return Group{}, err
	}
	return s.GetGroup(ctx, me, gid)
}
