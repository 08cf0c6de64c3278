package memcached

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// SendLimiter is the cluster's chat.SendLimiter: one counter per key and
// window in memcached, shared by every node, so a user's limit holds
// whichever nodes they send through. A window is as long as a full burst
// takes to earn (burst/per seconds), and holds at most burst sends: on
// average the rate, never more than a burst at once. When memcached does
// not answer, sends are let through (messaging must not stop for a
// presence store); the caller counts on the log for that.
type SendLimiter struct {
	mc     *memcache.Client
	prefix string
	burst  uint64
	window time.Duration
	OnDown func(error) // told when memcached fails (it lets the send through)
}

// NewSendLimiter limits each key to per sends a second, burst at once.
func NewSendLimiter(servers []string, prefix string, per float64, burst int) *SendLimiter {
	mc := memcache.New(servers...)
	mc.Timeout = 300 * time.Millisecond
	mc.MaxIdleConns = 16
	if prefix == "" {
		prefix = "parley:"
	}
	w := time.Second
	if per > 0 {
		w = time.Duration(float64(burst) / per * float64(time.Second))
	}
	return &SendLimiter{mc: mc, prefix: prefix + "rl:", burst: uint64(max(burst, 1)), window: max(w, time.Second)}
}

func (l *SendLimiter) key(k string, now time.Time) (string, time.Duration) {
	n := now.UnixNano() / int64(l.window)
	next := time.Unix(0, (n+1)*int64(l.window))
	return l.prefix + k + ":" + strconv.FormatInt(n, 10), next.Sub(now)
}

// Take counts a send in the current window.
func (l *SendLimiter) Take(ctx context.Context, k string) (bool, time.Duration) {
	key, left := l.key(k, time.Now())
	n, err := l.mc.Increment(key, 1)
	if errors.Is(err, memcache.ErrCacheMiss) {
		exp := int32(left/time.Second) + 2
		err = l.mc.Add(&memcache.Item{Key: key, Value: []byte("1"), Expiration: exp})
		n = 1
		if errors.Is(err, memcache.ErrNotStored) { // another node made it first
			n, err = l.mc.Increment(key, 1)
		}
	}
	if err != nil {
		if l.OnDown != nil {
			l.OnDown(err)
		}
		return true, 0
	}
	if n > l.burst {
		_, _ = l.mc.Decrement(key, 1) // a refused send is not counted
		return false, left
	}
	return true, 0
}

// Give takes back a send that was a retry.
func (l *SendLimiter) Give(ctx context.Context, k string) {
	key, _ := l.key(k, time.Now())
	_, _ = l.mc.Decrement(key, 1)
}
