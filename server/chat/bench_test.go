package chat

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// BenchmarkSendMessage is the send use case against the real database: one
// transaction per message with its outbox row, published after commit.
func BenchmarkSendMessage(b *testing.B) {
	db := storetest.New(b)
	s := New(Options{DB: db, NodeID: "bench", Bus: event.NewMemory(func(event.Event) {}), Tracker: presence.NewMemory(presence.DefaultTTL),
		Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	b.Cleanup(s.Close)
	ctx := context.Background()
	alice, err := s.CreateUser(ctx, "alice", "password1", "")
	if err != nil {
		b.Fatal(err)
	}
	bob, _ := s.CreateUser(ctx, "bob", "password1", "")
	// a few conversations, so parallel senders do not all queue on one row lock
	var convs []int64
	for i := range 16 {
		u, _ := s.CreateUser(ctx, fmt.Sprintf("peer%d", i), "password1", "")
		key := directKey(alice.ID, u.ID)
		id, err := db.CreateDirect(ctx, &key)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []int64{alice.ID, u.ID} {
			if err := db.AddMember(ctx, store.AddMemberParams{ConversationID: id, UserID: m}); err != nil {
				b.Fatal(err)
			}
		}
		convs = append(convs, id)
	}
	_ = bob
	var n atomic.Int64
	b.SetParallelism(16) // many senders at once, as a busy node has
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, _, err := s.Send(ctx, Actor{User: alice}, convs[i%int64(len(convs))], Outgoing{ClientID: fmt.Sprint("c", i), Body: "benchmark message"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
