package memcached_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/server/presence/memcached"
	"github.com/parleychat/parley/server/presence/presencetest"
)

// Servers is the test memcached: PARLEY_TEST_MEMCACHED, or the local one.
func Servers() []string {
	if s := os.Getenv("PARLEY_TEST_MEMCACHED"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"127.0.0.1:11211"}
}

func TestMemcachedTracker(t *testing.T) {
	prefixes := map[string]string{}
	presencetest.Run(t, func(t *testing.T, node string, ttl time.Duration) presence.Tracker {
		// one key prefix per subtest: its nodes share it
		p, ok := prefixes[t.Name()]
		if !ok {
			var b [4]byte
			_, _ = rand.Read(b[:])
			p = "parley:test:" + hex.EncodeToString(b[:]) + ":"
			prefixes[t.Name()] = p
		}
		tr, err := memcached.New(memcached.Options{Servers: Servers(), Node: node, TTL: ttl, Prefix: p})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Ping(context.Background()); err != nil {
			t.Fatalf("memcached at %v unreachable (is memcached running?): %v", Servers(), err)
		}
		t.Cleanup(func() { tr.Close() })
		return tr
	}, true)
}

func TestMemcachedDownDegrades(t *testing.T) {
	tr, err := memcached.New(memcached.Options{Servers: []string{"127.0.0.1:1"}, Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tr.Ping(ctx); err == nil {
		t.Fatal("ping of a dead memcached succeeded")
	}
	start := time.Now()
	if _, err := tr.Connect(ctx, 1); err == nil {
		t.Fatal("connect to a dead memcached succeeded")
	}
	if m, err := tr.Online(ctx, []int64{1}); err == nil || m[1] {
		t.Fatalf("online with memcached down: %v %v", m, err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("a dead memcached must fail fast")
	}
}
