package chat

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/store"
)

// Personal access tokens (docs/protocol.md, Integrations): a session with
// a name, made by its user, shown once, used as a Bearer token. Its expiry
// is fixed (or never); revoking it closes its sockets at once, like a
// logout. A password change revokes tokens too.

const (
	maxTokensPerUser = 50
	maxTokenLife     = 10 * 365 * 24 * time.Hour
)

// never is the expiry of a token that does not expire.
var never = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Token is the protocol's Token.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func tokenJSON(s store.Session) Token {
	t := Token{ID: s.ID, CreatedAt: s.CreatedAt.UTC()}
	if s.Name != nil {
		t.Name = *s.Name
	}
	if !s.LastUsedAt.Equal(s.CreatedAt) {
		u := s.LastUsedAt.UTC()
		t.LastUsedAt = &u
	}
	if s.ExpiresAt.Before(never.Add(-24 * time.Hour)) {
		e := s.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	return t
}

// TokenInput is POST /me/tokens.
type TokenInput struct {
	Name       string `json:"name"`
	ExpiresInS *int64 `json:"expires_in_s"`
}

// CreateToken makes a token for the actor and returns its secret, the only
// time it is shown.
func (s *Service) CreateToken(ctx context.Context, me Actor, in TokenInput) (Token, string, error) {
	name := strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		return Token{}, "", Validation("name", "A token's name is 1 to 64 characters.")
	}
	exp := never
	if in.ExpiresInS != nil {
		d := time.Duration(*in.ExpiresInS) * time.Second
		if *in.ExpiresInS < 60 || d > maxTokenLife {
			return Token{}, "", Validation("expires_in_s", "expires_in_s is 60 seconds to 10 years, or left out for a token that does not expire.")
		}
		exp = time.Now().Add(d)
	}
	secret, err := newTokenSecret()
	if err != nil {
		return Token{}, "", err
	}
	row, err := s.db.CreateToken(ctx, store.CreateTokenParams{Owner: me.ID(), TokenHash: hashToken(secret),
		ExpiresAt: exp, Name: name, MaxTokens: maxTokensPerUser})
	if store.IsNotFound(err) {
		return Token{}, "", Conflict("You have 50 tokens; revoke one first.")
	} else if err != nil {
		return Token{}, "", err
	}
	s.auditNow(ctx, me, "token.create", "token:"+itoa(row.ID))
	return tokenJSON(row), secret, nil
}

func newTokenSecret() (string, error) {
	t, err := randomToken(32)
	return "pat_" + t, err
}

// ListTokens lists the actor's live tokens, newest first.
func (s *Service) ListTokens(ctx context.Context, me Actor) ([]Token, error) {
	rows, err := s.db.ListTokens(ctx, me.ID())
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = tokenJSON(r)
	}
	return out, nil
}

// RevokeToken deletes one of the actor's tokens; its sockets close at once.
func (s *Service) RevokeToken(ctx context.Context, me Actor, id int64) error {
	n, err := s.db.DeleteToken(ctx, store.DeleteTokenParams{ID: id, UserID: me.ID()})
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	s.auditNow(ctx, me, "token.revoke", "token:"+itoa(id))
	s.endSessions(ctx, me.ID(), []int64{id})
	return nil
}
