// Package presencetest is the contract every presence.Tracker must keep.
// The memory tracker and the Memcached tracker run the same tests.
package presencetest

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/server/presence"
)

// Factory makes a tracker for node with the given TTL. Trackers from one
// Factory within a test share their backing store.
type Factory func(t *testing.T, node string, ttl time.Duration) presence.Tracker

// Run runs the contract; multiNode says whether the factory can make
// several nodes that share a store.
func Run(t *testing.T, newTracker Factory, multiNode bool) {
	ctx := context.Background()
	// ids unique per run, so trackers on a shared store never collide
	base := time.Now().UnixNano() % 1e12

	online := func(t *testing.T, tr presence.Tracker, id int64) bool {
		t.Helper()
		m, err := tr.Online(ctx, []int64{id})
		if err != nil {
			t.Fatal(err)
		}
		return m[id]
	}

	t.Run("ConnectAndDisconnect", func(t *testing.T) {
		tr := newTracker(t, "n1", time.Minute)
		id := base + 1
		if online(t, tr, id) {
			t.Fatal("online before connecting")
		}
		came, err := tr.Connect(ctx, id)
		if err != nil || !came {
			t.Fatalf("first connect: came=%v err=%v", came, err)
		}
		if !online(t, tr, id) {
			t.Fatal("offline after connect")
		}
		if came, _ := tr.Connect(ctx, id); came {
			t.Fatal("second connect reported coming online again")
		}
		went, err := tr.Disconnect(ctx, id)
		if err != nil || !went {
			t.Fatalf("disconnect: went=%v err=%v", went, err)
		}
		if online(t, tr, id) {
			t.Fatal("online after disconnect")
		}
	})

	t.Run("TTLExpiresWithoutHeartbeat", func(t *testing.T) {
		tr := newTracker(t, "n1", 2*time.Second)
		a, b := base+10, base+11
		for _, id := range []int64{a, b} {
			if _, err := tr.Connect(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		// b is heartbeated, a is not
		deadline := time.Now().Add(3500 * time.Millisecond)
		for time.Now().Before(deadline) {
			if missing, err := tr.Heartbeat(ctx, []int64{b}); err != nil || len(missing) != 0 {
				t.Fatalf("heartbeat: missing %v, %v", missing, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
		m, err := tr.Online(ctx, []int64{a, b, base + 12})
		if err != nil {
			t.Fatal(err)
		}
		if m[a] || !m[b] || m[base+12] {
			t.Fatalf("online = %v; want only %d (the heartbeated one)", m, b)
		}
	})

	t.Run("HeartbeatAfterDisconnectStaysOffline", func(t *testing.T) {
		tr := newTracker(t, "n1", time.Minute)
		id := base + 20
		if _, err := tr.Connect(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Disconnect(ctx, id); err != nil {
			t.Fatal(err)
		}
		// a heartbeat that listed the user before the disconnect
		missing, err := tr.Heartbeat(ctx, []int64{id})
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) != 1 || missing[0] != id {
			t.Fatalf("heartbeat of a disconnected user: missing %v", missing)
		}
		if online(t, tr, id) {
			t.Fatal("a late heartbeat brought a disconnected user back online")
		}
	})

	t.Run("OnlineBatch", func(t *testing.T) {
		tr := newTracker(t, "n1", time.Minute)
		var ids []int64
		for i := range int64(50) {
			ids = append(ids, base+100+i)
		}
		for _, id := range ids[:25] {
			if _, err := tr.Connect(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		m, err := tr.Online(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			if m[id] != (i < 25) {
				t.Fatalf("user %d online=%v", i, m[id])
			}
		}
		if err := tr.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})

	if !multiNode {
		return
	}
	t.Run("OnlineWhileAnyNodeHoldsAConnection", func(t *testing.T) {
		n1 := newTracker(t, "n1", time.Minute)
		n2 := newTracker(t, "n2", time.Minute)
		id := base + 500
		if came, _ := n1.Connect(ctx, id); !came {
			t.Fatal("first node: not came online")
		}
		if came, _ := n2.Connect(ctx, id); came {
			t.Fatal("second node: came online twice")
		}
		if went, _ := n1.Disconnect(ctx, id); went {
			t.Fatal("offline while n2 still holds a connection")
		}
		if !online(t, n1, id) || !online(t, n2, id) {
			t.Fatal("offline while n2 still holds a connection")
		}
		if went, _ := n2.Disconnect(ctx, id); !went {
			t.Fatal("last node: not went offline")
		}
		if online(t, n1, id) {
			t.Fatal("online after the last node disconnected")
		}
	})
}
