package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// countingBus is the in-process bus counting what is published.
type countingBus struct {
	*event.Memory
	n atomic.Int64
}

func (b *countingBus) Publish(ctx context.Context, ev event.Event) error {
	b.n.Add(1)
	return b.Memory.Publish(ctx, ev)
}

func newCostService(t testing.TB) (*Service, *countingBus) {
	bus := &countingBus{Memory: event.NewMemory(func(event.Event) {})}
	s := New(Options{DB: storetest.New(t), Bus: bus, Tracker: presence.NewMemory(presence.DefaultTTL),
		Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	t.Cleanup(s.Close)
	return s, bus
}

// seedUsers inserts n users named prefix0… at once and returns their ids.

// groupOf makes a group owned by a new user with size members in all.
func groupOf(t testing.TB, s *Service, size int) (Actor, Group) {
	ctx := context.Background()
	ids := storetest.SeedUsers(t, s.db, "m", size)
	owner, err := s.db.GetUser(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	me := Actor{User: owner}
	g, err := s.CreateGroup(ctx, me, "Team", "")
	if err != nil {
		t.Fatal(err)
	}
	for rest := ids[1:]; len(rest) > 0; rest = rest[min(len(rest), maxBulkAdd):] {
		if _, err := s.AddMembers(ctx, me, g.ID, rest[:min(len(rest), maxBulkAdd)], ""); err != nil {
			t.Fatal(err)
		}
	}
	return me, g
}

// outboxWritten is how many events were ever written to the outbox.
func outboxWritten(t *testing.T, s *Service) int64 {
	var n int64
	if err := s.db.Pool.QueryRow(context.Background(), "SELECT last_value FROM outbox_id_seq").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupChangeCostIsFlat: every change to a group costs the same number
// of queries and events in a group of 3 as in a group of 300.
func TestGroupChangeCostIsFlat(t *testing.T) {
	type cost struct{ queries, events int64 }
	measure := func(size int) map[string]cost {
		s, _ := newCostService(t)
		me, g := groupOf(t, s, size)
		extra := storetest.SeedUsers(t, s.db, "x", 3)
		out := map[string]cost{}
		var chID int64
		steps := []struct {
			name string
			run  func(ctx context.Context) error
		}{
			{"add", func(ctx context.Context) error { _, err := s.AddMember(ctx, me, g.ID, extra[0], ""); return err }},
			{"bulk add", func(ctx context.Context) error { _, err := s.AddMembers(ctx, me, g.ID, extra[1:], ""); return err }},
			{"role", func(ctx context.Context) error { _, err := s.SetRole(ctx, me, g.ID, extra[0], RoleAdmin); return err }},
			{"remove", func(ctx context.Context) error { return s.RemoveMember(ctx, me, g.ID, extra[0]) }},
			{"create channel", func(ctx context.Context) error {
				c, err := s.CreateChannel(ctx, me, g.ID, "random")
				chID = c.ID
				return err
			}},
			{"rename channel", func(ctx context.Context) error {
				_, err := s.RenameChannel(ctx, me, g.ID, chID, "off-topic")
				return err
			}},
			{"delete channel", func(ctx context.Context) error { return s.DeleteChannel(ctx, me, g.ID, chID) }},
			{"rename group", func(ctx context.Context) error {
				name := "Team 2"
				_, err := s.UpdateGroup(ctx, me, g.ID, GroupInput{Name: &name})
				return err
			}},
		}
		for _, st := range steps {
			ctx, n := store.WithQueryCount(context.Background())
			before := outboxWritten(t, s)
			if err := st.run(ctx); err != nil {
				t.Fatalf("%s in a group of %d: %v", st.name, size, err)
			}
			out[st.name] = cost{n.Load(), outboxWritten(t, s) - before}
		}
		return out
	}
	small, large := measure(3), measure(300)
	for name, c := range small {
		if large[name] != c {
			t.Errorf("%s: %+v in a group of 3, %+v in a group of 300", name, c, large[name])
		}
		if c.events > 3 {
			t.Errorf("%s: %d events", name, c.events)
		}
	}
	t.Logf("cost per change (queries, events): %v", small)
}

// BenchmarkAddMember adds members one at a time to groups of several
// sizes: ns/op stays flat from a small group to one of 2,000.
func BenchmarkAddMember(b *testing.B) {
	for _, size := range []int{10, 500, 2000} {
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
			s, _ := newCostService(b)
			me, g := groupOf(b, s, size)
			extra := storetest.SeedUsers(b, s.db, "x", b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.AddMember(ctx, me, g.ID, extra[i], ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCatchUpCostIsFlat: catching up every member of a new channel costs
// one query when nothing was missed and the same few when something was,
// in a group of 3 as in a group of 300; each member gets each missed
// message, with their own view of the channel.
func TestCatchUpCostIsFlat(t *testing.T) {
	measure := func(size int) (none, some int64) {
		s, _ := newCostService(t)
		me, g := groupOf(t, s, size)
		ctx := context.Background()
		ch, err := s.CreateChannel(ctx, me, g.ID, "launch")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.db.Pool.Query(ctx, "SELECT user_id FROM members WHERE conversation_id = $1", ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		var reqs []CatchUpRequest
		for rows.Next() {
			var uid int64
			if err := rows.Scan(&uid); err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, CatchUpRequest{User: uid, Convs: []int64{ch.ID}, Since: []int64{0}})
		}
		if rows.Err() != nil || len(reqs) != size {
			t.Fatalf("%d members of %d: %v", len(reqs), size, rows.Err())
		}
		count := func() (map[int64][]CatchUpConversation, int64) {
			cctx, n := store.WithQueryCount(ctx)
			got, err := s.CatchUp(cctx, reqs)
			if err != nil {
				t.Fatal(err)
			}
			return got, n.Load()
		}
		got, none := count()
		if len(got) != 0 {
			t.Fatalf("a new channel replays %v", got)
		}
		for i := range 2 {
			if _, _, err := s.Send(ctx, me, ch.ID, Outgoing{ClientID: fmt.Sprintf("c%d", i), Body: "hello"}); err != nil {
				t.Fatal(err)
			}
		}
		got, some = count()
		if len(got) != size-1 || got[me.ID()] != nil { // the sender has their own messages
			t.Fatalf("%d of %d members caught up (the sender too: %v)", len(got), size-1, got[me.ID()] != nil)
		}
		for uid, convs := range got {
			if len(convs) != 1 || convs[0].ID != ch.ID || len(convs[0].Messages) != 2 || convs[0].Updated == nil {
				t.Fatalf("member %d: %+v", uid, convs)
			}
			var f struct {
				Data ConversationData
			}
			if err := json.Unmarshal(convs[0].Updated, &f); err != nil || f.Data.Conversation.ID != ch.ID || f.Data.Conversation.UnreadCount != 2 {
				t.Fatalf("member %d's view: %s (%v)", uid, convs[0].Updated, err)
			}
		}
		return none, some
	}
	n3, s3 := measure(3)
	n300, s300 := measure(300)
	if n3 != 1 || n300 != 1 {
		t.Errorf("nothing missed: %d queries for 3 members, %d for 300, want 1", n3, n300)
	}
	if s3 != s300 {
		t.Errorf("two messages missed: %d queries for 3 members, %d for 300", s3, s300)
	}
	t.Logf("queries: %d with nothing missed, %d with messages missed", n3, s3)
}
