package chat

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token-bucket limit: Per events per second with a Burst. A zero
// Per means unlimited.
type Rate struct {
	Per   float64
	Burst int
}

// keyedLimiter keeps one token bucket per key (an IP, a username, a user id)
// and forgets keys idle for long enough that their bucket is full again.
type keyedLimiter struct {
	limit Rate
	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyedLimiter(limit Rate) *keyedLimiter {
	return &keyedLimiter{limit: limit, m: make(map[string]*bucket)}
}

// allow takes one token for key, or reports how long until one is free.
func (l *keyedLimiter) allow(key string) (bool, time.Duration) {
	return l.reserve(key, true)
}

// spent reports whether key has no token left now, and how long until it
// has one, without taking any: for limits on failures, spent by fail.
func (l *keyedLimiter) spent(key string) (bool, time.Duration) {
	ok, after := l.reserve(key, false)
	return !ok, after
}

// fail takes a token for a failure, if one is left (a spent bucket does
// not go into debt: it refills at its rate whatever an attacker does).
func (l *keyedLimiter) fail(key string) { l.reserve(key, true) }

func (l *keyedLimiter) reserve(key string, take bool) (bool, time.Duration) {
	if l == nil || l.limit.Per <= 0 {
		return true, 0
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.m[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.limit.Per), max(l.limit.Burst, 1))}
		l.m[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d > 0 || !take {
		r.CancelAt(now)
	}
	return d <= 0, d
}

func (l *keyedLimiter) sweep(now time.Time) {
	l.swept = now
	// a bucket idle for the time it takes to refill is as good as new
	idle := time.Duration(float64(max(l.limit.Burst, 1))/l.limit.Per*float64(time.Second)) + time.Minute
	for k, b := range l.m {
		if now.Sub(b.seen) > idle {
			delete(l.m, k)
		}
	}
}

// Limits are the rate limits; a zero Rate disables one.
type Limits struct {
	Signup    Rate // per client address
	LoginIP   Rate // login attempts per client address
	LoginUser Rate // login attempts per username and client address
	// LoginFailures bounds failed logins per username from everywhere; once
	// it is spent, only a browser that logged in as that user before (its
	// device cookie) may try: many addresses guessing cannot lock the owner
	// out of a device they used.
	LoginFailures Rate
	// PasswordFailures bounds wrong current passwords per user at
	// POST /me/password (the caller holds a session: no one else spends it).
	PasswordFailures Rate
	Send             Rate // messages per user
	Upload           Rate // uploads per user
	Search           Rate // searches per user
}

// DefaultLimits suit people: a handful of sign-ups per address, enough
// login attempts for typos but not for guessing, and 10 messages a second
// with a burst of three seconds' worth.
var DefaultLimits = Limits{
	Signup:           Rate{Per: 1.0 / 60, Burst: 10},
	LoginIP:          Rate{Per: 1.0 / 3, Burst: 20},
	LoginUser:        Rate{Per: 1.0 / 6, Burst: 10},
	LoginFailures:    Rate{Per: 1.0 / 60, Burst: 50},
	PasswordFailures: Rate{Per: 1.0 / 6, Burst: 10},
	Send:             Rate{Per: 10, Burst: 30},
	Upload:           Rate{Per: 1, Burst: 30},
	Search:           Rate{Per: 5, Burst: 30},
}

type limiters struct {
	signup, loginIP, loginUser, loginFail, passwordFail, upload, search *keyedLimiter
}

func newLimiters(l Limits) limiters {
	return limiters{signup: newKeyedLimiter(l.Signup), loginIP: newKeyedLimiter(l.LoginIP),
		loginUser: newKeyedLimiter(l.LoginUser), loginFail: newKeyedLimiter(l.LoginFailures),
		passwordFail: newKeyedLimiter(l.PasswordFailures), upload: newKeyedLimiter(l.Upload),
		search: newKeyedLimiter(l.Search)}
}

// IPKey is the rate-limit key of a client address: the address for IPv4,
// the /64 for IPv6 (one subscriber's network hands out a whole /64).
func IPKey(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// SendLimiter limits messages per user. The in-process one (the default)
// holds per node; a cluster gives every node the same shared one, so the
// limit holds for a user whichever nodes they send through.
type SendLimiter interface {
	// Take takes one send for key, or says when one is free.
	Take(ctx context.Context, key string) (ok bool, retryAfter time.Duration)
	// Give returns a send that turned out to be a retry of a stored one.
	Give(ctx context.Context, key string)
}

// localSends is the in-process SendLimiter.
type localSends struct{ l *keyedLimiter }

// NewLocalSendLimiter limits sends per key on this node alone.
func NewLocalSendLimiter(r Rate) SendLimiter { return localSends{newKeyedLimiter(r)} }

func (s localSends) Take(_ context.Context, key string) (bool, time.Duration) { return s.l.allow(key) }

func (s localSends) Give(_ context.Context, key string) { s.l.give(key) }

// give puts back a token taken for key.
func (l *keyedLimiter) give(key string) {
	if l == nil || l.limit.Per <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.m[key]; b != nil {
		now := time.Now()
		if b.lim.TokensAt(now) < float64(b.lim.Burst()) {
			b.lim.AllowN(now, -1) // a negative take is a refund
		}
	}
}
