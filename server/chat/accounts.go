package chat

import (
	"context"
	"crypto/sha256"
	"net/netip"
	"strconv"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// Accounts holds the use cases for users and sessions that need nothing
// but the database, shared by the Service and the admin CLI
// (`parley user create|reset-password`).
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

// CreateUser validates and creates a user. displayName defaults to the
// username. The first account of an install is a site admin.
func (a *Accounts) CreateUser(ctx context.Context, username, password, displayName string) (store.User, error) {
	return a.CreateUserAs(ctx, username, password, displayName, false)
}

// CreateUserAs is CreateUser that makes a site admin when admin is set
// (`parley user create --admin`).
func (a *Accounts) CreateUserAs(ctx context.Context, username, password, displayName string, admin bool) (store.User, error) {
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
	user, err := a.DB.CreateUser(ctx, store.CreateUserParams{Username: u, DisplayName: dn, PasswordHash: hash, Admin: admin})
	if store.IsConflict(err) {
		return store.User{}, ErrUsernameTaken
	}
	return user, err
}

// checkCredentials checks a username and password.
func (a *Accounts) checkCredentials(ctx context.Context, username, password string) (store.User, error) {
	u, err := normalizeUsername(username)
	if err != nil {
		// same answer and about the same time as a wrong password
		_, _ = a.Hasher.Verify(ctx, "", password)
		return store.User{}, ErrBadCredentials
	}
	user, err := a.DB.GetUserByUsername(ctx, u)
	if err != nil && !store.IsNotFound(err) {
		return store.User{}, err
	}
	ok, err := a.Hasher.Verify(ctx, user.PasswordHash, password)
	if err != nil {
		return store.User{}, err
	}
	if !ok || user.ID == 0 || user.Bot {
		return store.User{}, ErrBadCredentials
	}
	if user.DeactivatedAt != nil {
		return store.User{}, NewError(CodeDeactivated, "This account is deactivated.")
	}
	return user, nil
}

// NewSession creates a session and returns its bearer token. Only the
// token's SHA-256 is stored.
func (a *Accounts) NewSession(ctx context.Context, userID int64, userAgent string) (Session, error) {
	token, err := randomToken(32)
	if err != nil {
		return Session{}, err
	}
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	row, err := a.DB.CreateSession(ctx, store.CreateSessionParams{
		UserID: userID, TokenHash: hashToken(token), ExpiresAt: time.Now().Add(a.ttl()), UserAgent: userAgent,
	})
	if err != nil {
		return Session{}, err
	}
	return Session{ID: row.ID, Token: token, ExpiresAt: row.ExpiresAt}, nil
}

// ResetPassword sets a user's password (admin CLI) and revokes all their
// sessions. A running server refuses the old tokens within
// SessionCacheTTL and closes their WebSockets at its next session check.
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

// Session is a signed-in session: its bearer token (the cookie's value) and
// when it ends.
type Session struct {
	ID        int64
	Token     string
	ExpiresAt time.Time
}

// SignedIn is the outcome of a sign-up or a login: the session, and a
// device token for the browser to keep (see Login).
type SignedIn struct {
	User    User
	Session Session
	Device  string
}

// Client is where a request came from, for rate limits: its address, its
// user agent and the device token it holds, if any.
type Client struct {
	IP        netip.Addr
	UserAgent string
	Device    string
}

// Signup creates an account and signs it in.
func (s *Service) Signup(ctx context.Context, c Client, username, password, displayName string) (SignedIn, error) {
	if !s.open {
		return SignedIn{}, ErrSignupClosed
	}
	if ok, after := s.limits.signup.allow(IPKey(c.IP)); !ok {
		return SignedIn{}, RateLimited(after)
	}
	user, err := s.CreateUser(ctx, username, password, displayName)
	if err != nil {
		return SignedIn{}, err
	}
	s.log.Info("user signed up", "user_id", user.ID, "username", user.Username)
	return s.signIn(ctx, c, user)
}

// Login checks a username and password and signs them in. The rules, so
// that guessing is slow but no one can lock the owner out: attempts are
// limited per client address and per username at that address; failures
// are limited per username from everywhere, and once those are spent
// only a browser holding the user's device token (set at each login) may
// try.
func (s *Service) Login(ctx context.Context, c Client, username, password string) (SignedIn, error) {
	if ok, after := s.limits.loginIP.allow(IPKey(c.IP)); !ok {
		return SignedIn{}, RateLimited(after)
	}
	// only real usernames get buckets: junk cannot grow the limiters
	name, nerr := normalizeUsername(username)
	if nerr == nil {
		if ok, after := s.limits.loginUser.allow(name + " " + IPKey(c.IP)); !ok {
			return SignedIn{}, RateLimited(after)
		}
		if spent, after := s.limits.loginFail.spent(name); spent && !s.validDevice(ctx, c.Device, name) {
			return SignedIn{}, RateLimited(after)
		}
	}
	user, err := s.checkCredentials(ctx, username, password)
	if err == ErrBadCredentials && nerr == nil {
		s.limits.loginFail.fail(name)
	}
	who := Actor{User: user, Address: c.IP.String()}
	if err != nil {
		if e, ok := AsError(err); nerr == nil && ok && (e.Code == CodeUnauthenticated || e.Code == CodeDeactivated) {
			s.auditNow(ctx, who, "auth.login_failed", "username:"+name)
		}
		return SignedIn{}, err
	}
	in, err := s.signIn(ctx, c, user)
	if err == nil {
		s.auditNow(ctx, who, "auth.login", "user:"+itoa(user.ID))
	}
	return in, err
}

func (s *Service) signIn(ctx context.Context, c Client, user store.User) (SignedIn, error) {
	sess, err := s.NewSession(ctx, user.ID, c.UserAgent)
	if err != nil {
		return SignedIn{}, err
	}
	device, err := s.deviceToken(ctx, user.Username, time.Now())
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{User: userJSON(user), Session: sess, Device: device}, nil
}

// Authenticate resolves a bearer token (or cookie value) to its actor,
// sliding the session's expiry when it was last slid over
// sessionTouchEvery ago; then the new expiry is returned as slid.
func (s *Service) Authenticate(ctx context.Context, token string) (me Actor, slid *time.Time, err error) {
	if token == "" || len(token) > 128 {
		return Actor{}, nil, ErrUnauthenticated
	}
	hash := [32]byte(hashToken(token))
	now := time.Now()
	if row, ok := s.sessions.get(hash, now); ok {
		return Actor{User: row.User, SessionID: row.Session.ID}, nil, nil
	}
	row, err := s.db.GetSessionUser(ctx, hash[:])
	if store.IsNotFound(err) {
		return Actor{}, nil, ErrUnauthenticated
	} else if err != nil {
		return Actor{}, nil, err
	}
	if row.Session.Name != nil { // a token: its last use is told, its expiry stays
		if since := time.Since(row.Session.LastUsedAt); since > time.Minute || row.Session.LastUsedAt.Equal(row.Session.CreatedAt) {
			if err := s.db.TouchSession(ctx, store.TouchSessionParams{ID: row.Session.ID}); err != nil {
				return Actor{}, nil, err
			}
		}
	} else if time.Since(row.Session.LastUsedAt) > sessionTouchEvery {
		exp := time.Now().Add(s.ttl())
		if err := s.db.TouchSession(ctx, store.TouchSessionParams{ID: row.Session.ID, ExpiresAt: exp}); err != nil {
			return Actor{}, nil, err
		}
		slid = &exp
		row.Session.ExpiresAt = exp
	}
	s.sessions.put(hash, row, now)
	return Actor{User: row.User, SessionID: row.Session.ID}, slid, nil
}

// Logout revokes the actor's session and closes its sockets.
func (s *Service) Logout(ctx context.Context, me Actor) error {
	if err := s.db.DeleteSession(ctx, me.SessionID); err != nil {
		return err
	}
	s.endSessions(ctx, me.ID(), []int64{me.SessionID})
	return nil
}

// endSessions closes the WebSockets of revoked sessions, on every node.
func (s *Service) endSessions(ctx context.Context, userID int64, ids []int64) {
	if len(ids) > 0 {
		s.forgetUsers(ctx, userID)
		s.publish(ctx, event.Event{Topic: event.UserTopic(userID), CloseSessions: ids})
	}
}

// Me is the actor's own User, with their own settings.
func (s *Service) Me(me Actor) User {
	u := userJSON(me.User)
	u.PresenceVisibility = me.User.PresenceVisibility
	return u
}

// MeInput is what PATCH /me changes; nil leaves a field as it is.
type MeInput struct {
	DisplayName        *string `json:"display_name"`
	PresenceVisibility *string `json:"presence_visibility"`
}

// UpdateMe changes the actor's display name (the peers of their direct
// chats see the new title) and who sees their presence.
func (s *Service) UpdateMe(ctx context.Context, me Actor, in MeInput) (User, error) {
	if in.PresenceVisibility != nil {
		u, err := s.SetPresenceVisibility(ctx, me, *in.PresenceVisibility)
		if err != nil {
			return User{}, err
		}
		me.User = u
	}
	if in.DisplayName != nil {
		u, err := s.setDisplayName(ctx, me.User, *in.DisplayName)
		if err != nil {
			return User{}, err
		}
		me.User = u
	}
	s.forgetUsers(ctx, me.ID()) // their cached sessions hold the old user
	return s.Me(me), nil
}

func (s *Service) setDisplayName(ctx context.Context, user store.User, name string) (store.User, error) {
	dn, err := normalizeDisplayName(name)
	if err != nil {
		return store.User{}, err
	}
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		var err error
		if user, err = q.UpdateDisplayName(ctx, store.UpdateDisplayNameParams{ID: user.ID, DisplayName: dn}); err != nil {
			return err
		}
		peers, err := q.MarkUserDirectsChanged(ctx, user.ID)
		if err != nil {
			return err
		}
		// peers without an alias for this user see the new name as the title
		for _, p := range peers {
			ev, err := conversationEvent(ctx, q, p.UserID, p.ConversationID)
			if err != nil {
				return err
			}
			ob.add(ev)
		}
		return nil
	})
	return user, err
}

// ChangePassword checks the current password, stores the new one, and
// revokes every other session of the user, closing their sockets.
func (s *Service) ChangePassword(ctx context.Context, me Actor, current, next string) error {
	key := strconv.FormatInt(me.ID(), 10)
	if spent, after := s.limits.passwordFail.spent(key); spent {
		return RateLimited(after)
	}
	if err := checkPassword("new_password", next); err != nil {
		return err
	}
	user := me.User
	ok, err := s.Hasher.Verify(ctx, user.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		s.limits.passwordFail.fail(key)
		return &Error{Code: CodeForbidden, Message: "The current password is wrong.", Field: "current_password"}
	}
	hash, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	var revoked []int64
	err = s.db.InTx(ctx, func(q *store.Queries) error {
		if err := q.UpdatePasswordHash(ctx, store.UpdatePasswordHashParams{ID: user.ID, PasswordHash: hash}); err != nil {
			return err
		}
		revoked, err = q.DeleteOtherSessions(ctx, store.DeleteOtherSessionsParams{UserID: user.ID, ID: me.SessionID})
		return err
	})
	if err != nil {
		return err
	}
	if len(revoked) == 0 {
		s.forgetUsers(ctx, user.ID) // the cached user holds the old hash
	}
	s.endSessions(ctx, user.ID, revoked)
	return nil
}

// LiveSessions returns which of ids are sessions that still work (for the
// hub's periodic check of its sockets).
func (s *Service) LiveSessions(ctx context.Context, ids []int64) ([]int64, error) {
	return s.db.ListLiveSessions(ctx, ids)
}
