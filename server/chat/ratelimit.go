package chat

import (
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
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
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
	Signup    Rate // per client IP
	LoginIP   Rate // per client IP
	LoginUser Rate // per username
	Send      Rate // messages per user
}

// DefaultLimits suit people: a handful of sign-ups per address, enough
// login attempts for typos but not for guessing, and 10 messages a second
// with a burst of three seconds' worth.
var DefaultLimits = Limits{
	Signup:    Rate{Per: 1.0 / 60, Burst: 10},
	LoginIP:   Rate{Per: 1.0 / 3, Burst: 20},
	LoginUser: Rate{Per: 1.0 / 6, Burst: 10},
	Send:      Rate{Per: 10, Burst: 30},
}

type limiters struct {
	signup, loginIP, loginUser, send *keyedLimiter
}

func newLimiters(l Limits) limiters {
	return limiters{signup: newKeyedLimiter(l.Signup), loginIP: newKeyedLimiter(l.LoginIP),
		loginUser: newKeyedLimiter(l.LoginUser), send: newKeyedLimiter(l.Send)}
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
