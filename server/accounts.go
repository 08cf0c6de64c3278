package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/parleychat/parley/store"
)

// Accounts holds the use cases for users and sessions, shared by the HTTP
// handlers and the admin CLI (`parley user create|reset-password`).
type Accounts struct {
	DB         *store.DB
	Hasher     *Hasher
	SessionTTL time.Duration
}

// DefaultSessionTTL is how long an unused session lives; each use slides it.
const DefaultSessionTTL = 30 * 24 * time.Hour

// sessionTouchEvery bounds how often a session's expiry is written: at most
// once per this interval per session, not on every request.
const sessionTouchEvery = time.Hour

func (a *Accounts) ttl() time.Duration {
	if a.SessionTTL > 0 {
		return a.SessionTTL
	}
	return DefaultSessionTTL
}

// CreateUser validates and creates a user. displayName defaults to the username.
func (a *Accounts) CreateUser(ctx context.Context, username, password, displayName string) (store.User, error) {
	u, err := normalizeUsername(username)
	if err != nil {
		return store.User{}, err
	}
	if err := checkPassword("password", password); err != nil {
		return store.User{}, err
	}
	if displayName == "" {
		displayName = u
	}
	dn, err := normalizeDisplayName(displayName)
	if err != nil {
		return store.User{}, err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	user, err := a.DB.CreateUser(ctx, store.CreateUserParams{Username: u, DisplayName: dn, PasswordHash: hash})
	if store.IsConflict(err) {
		return store.User{}, errUsernameTaken
	}
	return user, err
}

// Authenticate checks a username and password.
func (a *Accounts) Authenticate(ctx context.Context, username, password string) (store.User, error) {
	u, err := normalizeUsername(username)
	if err != nil {
		// same answer and about the same time as a wrong password
		_, _ = a.Hasher.Verify(ctx, "", password)
		return store.User{}, errBadCredentials
	}
	user, err := a.DB.GetUserByUsername(ctx, u)
	if err != nil && !store.IsNotFound(err) {
		return store.User{}, err
	}
	ok, err := a.Hasher.Verify(ctx, user.PasswordHash, password)
	if err != nil {
		return store.User{}, err
	}
	if !ok || user.ID == 0 {
		return store.User{}, errBadCredentials
	}
	return user, nil
}

// NewSession creates a session and returns its bearer token. Only the
// token's SHA-256 is stored.
func (a *Accounts) NewSession(ctx context.Context, userID int64, userAgent string) (token string, s store.Session, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", s, err
	}
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	s, err = a.DB.CreateSession(ctx, store.CreateSessionParams{
		UserID: userID, TokenHash: hashToken(token), ExpiresAt: time.Now().Add(a.ttl()), UserAgent: userAgent,
	})
	return token, s, err
}

// SessionUser resolves a token to its live session and user, sliding the
// expiry when it was last slid over sessionTouchEvery ago.
func (a *Accounts) SessionUser(ctx context.Context, token string) (store.Session, store.User, bool, error) {
	if token == "" || len(token) > 128 {
		return store.Session{}, store.User{}, false, errUnauthenticated
	}
	row, err := a.DB.GetSessionUser(ctx, hashToken(token))
	if store.IsNotFound(err) {
		return store.Session{}, store.User{}, false, errUnauthenticated
	} else if err != nil {
		return store.Session{}, store.User{}, false, err
	}
	touched := false
	if time.Since(row.Session.LastUsedAt) > sessionTouchEvery {
		row.Session.ExpiresAt = time.Now().Add(a.ttl())
		if err := a.DB.TouchSession(ctx, store.TouchSessionParams{ID: row.Session.ID, ExpiresAt: row.Session.ExpiresAt}); err != nil {
			return store.Session{}, store.User{}, false, err
		}
		touched = true
	}
	return row.Session, row.User, touched, nil
}

// ChangePassword checks the current password, stores the new one, and
// revokes every other session of the user, returning their ids.
func (a *Accounts) ChangePassword(ctx context.Context, user store.User, keepSession int64, current, next string) ([]int64, error) {
	if err := checkPassword("new_password", next); err != nil {
		return nil, err
	}
	ok, err := a.Hasher.Verify(ctx, user.PasswordHash, current)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Status: 403, Code: "forbidden", Message: "The current password is wrong.", Field: "current_password"}
	}
	hash, err := a.Hasher.Hash(ctx, next)
	if err != nil {
		return nil, err
	}
	var revoked []int64
	err = a.DB.InTx(ctx, func(q *store.Queries) error {
		if err := q.UpdatePasswordHash(ctx, store.UpdatePasswordHashParams{ID: user.ID, PasswordHash: hash}); err != nil {
			return err
		}
		revoked, err = q.DeleteOtherSessions(ctx, store.DeleteOtherSessionsParams{UserID: user.ID, ID: keepSession})
		return err
	})
	return revoked, err
}

// ResetPassword sets a user's password (admin CLI) and revokes all their
// sessions. The API refuses the old tokens at once; a running server closes
// their WebSockets at its next session check (Hub.checkSessions).
func (a *Accounts) ResetPassword(ctx context.Context, username, password string) error {
	u, err := normalizeUsername(username)
	if err != nil {
		return err
	}
	if err := checkPassword("password", password); err != nil {
		return err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(q *store.Queries) error {
		user, err := q.GetUserByUsername(ctx, u)
		if err != nil {
			return err
		}
		if err := q.UpdatePasswordHash(ctx, store.UpdatePasswordHashParams{ID: user.ID, PasswordHash: hash}); err != nil {
			return err
		}
		_, err = q.DeleteUserSessions(ctx, user.ID)
		return err
	})
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
