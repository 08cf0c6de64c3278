package chat

import (
	"context"
	"sync"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// SessionCacheTTL is how long a node answers a token from memory before it
// reads the session again. Revocations made through the API (logout,
// password change, token deletion, deactivation, a role change) reach every
// node at once through the bus (event.AuthTopic); the TTL bounds what only
// the database learns (the admin CLI, or a bus that is down).
const SessionCacheTTL = 5 * time.Second

// maxCachedSessions bounds the cache; past it, it starts over.
const maxCachedSessions = 100_000

// sessionCache maps a token's hash to its session and user as last read.
type sessionCache struct {
	mu     sync.Mutex
	ttl    time.Duration
	byHash map[[32]byte]cachedSession
}

type cachedSession struct {
	row store.GetSessionUserRow
	at  time.Time
}

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, byHash: make(map[[32]byte]cachedSession)}
}

func (c *sessionCache) get(h [32]byte, now time.Time) (store.GetSessionUserRow, bool) {
	if c.ttl <= 0 {
		return store.GetSessionUserRow{}, false
	}
	c.mu.Lock()
	e, ok := c.byHash[h]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) >= c.ttl || !now.Before(e.row.Session.ExpiresAt) {
		return store.GetSessionUserRow{}, false
	}
	return e.row, true
}

func (c *sessionCache) put(h [32]byte, row store.GetSessionUserRow, at time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	if len(c.byHash) >= maxCachedSessions {
		clear(c.byHash)
	}
	c.byHash[h] = cachedSession{row: row, at: at}
	c.mu.Unlock()
}

// forget drops every cached session of these users.
func (c *sessionCache) forget(users []int64) {
	if len(users) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.byHash {
		for _, u := range users {
			if e.row.User.ID == u {
				delete(c.byHash, h)
				break
			}
		}
	}
}

// ForgetSessions drops the cached sessions of users on this node: the
// handler of event.AuthTopic.
func (s *Service) ForgetSessions(users []int64) { s.sessions.forget(users) }

// forgetUsers makes every node read these users' sessions again: after a
// change to what a session grants (revoked sessions, a new role, a
// deactivation). This node forgets at once; the others when the event
// arrives.
func (s *Service) forgetUsers(ctx context.Context, users ...int64) {
	if len(users) == 0 {
		return
	}
	s.sessions.forget(users)
	s.publish(ctx, event.Event{Topic: event.AuthTopic, ForgetUsers: users})
}
