package memcached_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/parleychat/parley/server/presence/memcached"
)

// TestSendLimiterIsShared: two nodes' limiters on one memcached share each
// user's budget; a retry given back costs nothing.
func TestSendLimiterIsShared(t *testing.T) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "parley:test:" + hex.EncodeToString(b[:]) + ":"
	n1 := memcached.NewSendLimiter(Servers(), prefix, 1, 10) // 10 in a 10 s window
	n2 := memcached.NewSendLimiter(Servers(), prefix, 1, 10)
	var down error
	n1.OnDown = func(err error) { down = err }
	ctx := context.Background()
	ok := 0
	for i := range 20 {
		l := n1
		if i%2 == 1 {
			l = n2
		}
		if took, _ := l.Take(ctx, "u1"); took {
			ok++
		}
	}
	if down != nil {
		t.Fatalf("memcached: %v", down)
	}
	if ok != 10 {
		t.Fatalf("%d of 20 sends through two nodes were allowed, want the one budget of 10", ok)
	}
	if took, after := n1.Take(ctx, "u1"); took || after <= 0 {
		t.Fatalf("after the budget: %v, retry after %v", took, after)
	}
	n2.Give(ctx, "u1")
	if took, _ := n1.Take(ctx, "u1"); !took {
		t.Fatal("a send given back was not free again")
	}
	if took, _ := n2.Take(ctx, "u2"); !took {
		t.Fatal("another user shares the budget")
	}
}
