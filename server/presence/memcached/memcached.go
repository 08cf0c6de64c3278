// Package memcached holds a cluster's shared state in memcached: presence
// (Tracker, the presence.Tracker) and the send limit (SendLimiter, in
// limiter.go). For presence, each user has one
// key; its value lists the nodes holding a connection of the user, each with
// an expiry that heartbeats push forward. A user is online while any entry
// is unexpired. Updates are compare-and-swap, so nodes never overwrite each
// other.
package memcached

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/parleychat/parley/server/presence"
)

// Options configure the tracker.
type Options struct {
	Servers []string
	Node    string
	TTL     time.Duration // default presence.DefaultTTL
	Prefix  string        // key prefix, default "parley:p:"
}

// Tracker is a presence.Tracker on memcached.
type Tracker struct {
	o  Options
	mc *memcache.Client
}

// New returns a tracker; memcached being down is not an error here (every
// call then fails, and presence reads as offline until it is back).
func New(o Options) (*Tracker, error) {
	if len(o.Servers) == 0 {
		return nil, errors.New("memcached: no servers")
	}
	if o.TTL <= 0 {
		o.TTL = presence.DefaultTTL
	}
	if o.Prefix == "" {
		o.Prefix = "parley:p:"
	}
	if strings.ContainsAny(o.Node, " =,") || o.Node == "" {
		return nil, fmt.Errorf("memcached: node id %q cannot be used in a key value", o.Node)
	}
	mc := memcache.New(o.Servers...)
	mc.Timeout = 500 * time.Millisecond
	mc.MaxIdleConns = 16
	return &Tracker{o: o, mc: mc}, nil
}

func (t *Tracker) key(id int64) string { return t.o.Prefix + strconv.FormatInt(id, 10) }

// entries is a key's value: node → expiry (unix seconds).
type entries map[string]int64

func parse(b []byte) entries {
	e := entries{}
	for _, part := range strings.Split(string(b), ",") {
		node, exp, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(exp, 10, 64); err == nil {
			e[node] = n
		}
	}
	return e
}

func (e entries) encode() []byte {
	var sb strings.Builder
	for node, exp := range e {
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(node)
		sb.WriteByte('=')
		sb.WriteString(strconv.FormatInt(exp, 10))
	}
	return []byte(sb.String())
}

// live drops expired entries and reports whether any remain.
func (e entries) live(now int64) bool {
	for node, exp := range e {
		if exp <= now {
			delete(e, node)
		}
	}
	return len(e) > 0
}

// update applies fn to a user's entries with compare-and-swap, retrying on
// a concurrent change. fn reports whether to write.
func (t *Tracker) update(id int64, fn func(e entries, now int64) bool) (before, after bool, err error) {
	k := t.key(id)
	for try := 0; try < 10; try++ {
		now := time.Now().Unix()
		item, err := t.mc.Get(k)
		var e entries
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			e = entries{}
			item = nil
		case err != nil:
			return false, false, err
		default:
			e = parse(item.Value)
		}
		before = e.live(now)
		if !fn(e, now) {
			return before, e.live(now), nil
		}
		after = e.live(now)
		exp := int32(t.o.TTL / time.Second)
		switch {
		case item == nil && !after:
			return before, after, nil
		case item == nil:
			err = t.mc.Add(&memcache.Item{Key: k, Value: e.encode(), Expiration: exp})
			if errors.Is(err, memcache.ErrNotStored) {
				continue // someone else added it first
			}
		case !after:
			err = t.mc.Delete(k)
			if errors.Is(err, memcache.ErrCacheMiss) {
				err = nil
			}
		default:
			item.Value, item.Expiration = e.encode(), exp
			err = t.mc.CompareAndSwap(item)
			if errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) {
				continue
			}
		}
		return before, after, err
	}
	return false, false, errors.New("memcached: too much contention on a presence key")
}

func (t *Tracker) Connect(ctx context.Context, userID int64) (bool, error) {
	before, _, err := t.update(userID, func(e entries, now int64) bool {
		e[t.o.Node] = now + int64(t.o.TTL/time.Second)
		return true
	})
	return !before && err == nil, err
}

func (t *Tracker) Disconnect(ctx context.Context, userID int64) (bool, error) {
	_, after, err := t.update(userID, func(e entries, now int64) bool {
		if _, ok := e[t.o.Node]; !ok {
			return false
		}
		delete(e, t.o.Node)
		return true
	})
	return !after && err == nil, err
}

// Heartbeat refreshes this node's entry of every listed user that has one,
// reading them in one GetMulti; it returns the users whose entry is gone
// (memcached restarted, or the entry expired), for the caller to reconnect.
func (t *Tracker) Heartbeat(ctx context.Context, userIDs []int64) ([]int64, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	keys := make([]string, len(userIDs))
	for i, id := range userIDs {
		keys[i] = t.key(id)
	}
	items, err := t.mc.GetMulti(keys)
	if err != nil {
		return nil, err
	}
	var missing []int64
	now := time.Now().Unix()
	exp := now + int64(t.o.TTL/time.Second)
	for i, id := range userIDs {
		item := items[keys[i]]
		if item == nil {
			missing = append(missing, id)
			continue
		}
		e := parse(item.Value)
		if _, ok := e[t.o.Node]; !ok {
			missing = append(missing, id)
			continue
		}
		e.live(now)
		e[t.o.Node] = exp
		item.Value, item.Expiration = e.encode(), int32(t.o.TTL/time.Second)
		if err := t.mc.CompareAndSwap(item); err != nil && !errors.Is(err, memcache.ErrCASConflict) {
			if errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss) {
				missing = append(missing, id)
				continue
			}
			return missing, err
		}
		// a CAS conflict means another node just wrote: refresh next time
	}
	return missing, nil
}

func (t *Tracker) Online(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = t.key(id)
	}
	items, err := t.mc.GetMulti(keys)
	if err != nil {
		return out, err
	}
	now := time.Now().Unix()
	for i, id := range ids {
		if item := items[keys[i]]; item != nil && parse(item.Value).live(now) {
			out[id] = true
		}
	}
	return out, nil
}

func (t *Tracker) Ping(ctx context.Context) error { return t.mc.Ping() }

func (t *Tracker) Close() error { return t.mc.Close() }
