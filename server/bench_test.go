package server

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// BenchmarkHubFanout delivers one event to N local connections: the frame
// is queued, not copied or encoded, per recipient.
func BenchmarkHubFanout(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			h := newHub(hubOptions{Log: slog.New(slog.DiscardHandler), Node: "bench", Metrics: nopRegistry{}})
			const conv = 1
			var conns []*Conn
			for i := range n {
				c := &Conn{hub: h, me: chat.Actor{User: store.User{ID: int64(i + 1)}}, wake: make(chan struct{}, 1), done: make(chan struct{})}
				h.users[c.me.ID()] = &localUser{conns: map[*Conn]struct{}{c: {}}, convs: map[int64]struct{}{conv: {}}}
				if h.convs[conv] == nil {
					h.convs[conv] = map[int64]struct{}{}
				}
				h.convs[conv][c.me.ID()] = struct{}{}
				conns = append(conns, c)
			}
			ev := event.Event{Topic: event.ConversationTopic(conv), Frame: chat.EncodeFrame(chat.FrameMessageCreated, chat.MessageData{})}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.deliver(ev)
				if i%100 == 99 { // drain, as the writers would
					for _, c := range conns {
						c.take()
					}
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkEncodeFrame is the one encoding a message gets, however many
// recipients it has.
func BenchmarkEncodeFrame(b *testing.B) {
	m := chat.Message{ID: 1, ConversationID: 2, Seq: 3, SenderID: 4, ClientID: "2c1f0a8e-4b7e-4d8f-9a51-0d3c5a1b2e6f", Body: "a typical chat message of moderate length, say sixty-odd chars"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = chat.EncodeFrame(chat.FrameMessageCreated, chat.MessageData{Message: m})
	}
}

// nopRegistry accepts metrics and serves none.
type nopRegistry struct{}

func (nopRegistry) Register(prometheus.Collector) error  { return nil }
func (nopRegistry) MustRegister(...prometheus.Collector) {}
func (nopRegistry) Unregister(prometheus.Collector) bool { return true }

// TestFanoutSharesOneEncoding checks the property the fan-out benchmark
// relies on: every recipient gets the very same bytes.
func TestFanoutSharesOneEncoding(t *testing.T) {
	h := newHub(hubOptions{Log: slog.New(slog.DiscardHandler), Node: "t", Metrics: nopRegistry{}})
	h.convs[1] = map[int64]struct{}{}
	var conns []*Conn
	for i := range 3 {
		c := &Conn{hub: h, me: chat.Actor{User: store.User{ID: int64(i + 1)}}, wake: make(chan struct{}, 1), done: make(chan struct{})}
		h.users[c.me.ID()] = &localUser{conns: map[*Conn]struct{}{c: {}}, convs: map[int64]struct{}{1: {}}}
		h.convs[1][c.me.ID()] = struct{}{}
		conns = append(conns, c)
	}
	frame := chat.EncodeFrame(chat.FrameMessageCreated, chat.MessageData{})
	h.deliver(event.Event{Topic: event.ConversationTopic(1), Frame: frame})
	for _, c := range conns {
		got := c.take()[0]
		if &got[0] != &frame[0] {
			t.Fatal("a recipient got a copy of the frame, not the shared encoding")
		}
	}
}

// newBareServer is a Server on a fresh database, without a listener, with a
// cheap password hasher: for tests and benchmarks that drive its hub and
// use cases directly.
func newBareServer(t testing.TB) (*Server, *store.DB) {
	t.Helper()
	db := storetest.New(t)
	s, err := New(Options{DB: db, Hasher: chat.NewHasher(chat.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, db
}

// BenchmarkAddMemberConnected adds members one at a time to a group of
// 1,000 and of 2,000, with 1,000 of them connected to this node, the
// fan-out of the events included (the in-process bus delivers as it
// publishes): the cost per add does not grow with the group.
func BenchmarkAddMemberConnected(b *testing.B) {
	for _, size := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("members=%d/connected=1000", size), func(b *testing.B) {
			s, db := newBareServer(b)
			ctx := context.Background()
			ids := storetest.SeedUsers(b, db, "m", size+b.N)
			members, extra := ids[:size], ids[size:]
			owner, _ := db.GetUser(ctx, members[0])
			me := chat.Actor{User: owner}
			g, err := s.chat.CreateGroup(ctx, me, "Team", "")
			if err != nil {
				b.Fatal(err)
			}
			// connected first, so that joining costs no presence fan-out here
			for _, id := range members[:1000] {
				u, _ := db.GetUser(ctx, id)
				c := s.hub.newConn("bench", nil, chat.Actor{User: u}, func() {})
				if err := s.hub.register(ctx, c); err != nil {
					b.Fatal(err)
				}
				go func() { // the writer's part: take what is queued
					for {
						select {
						case <-c.wake:
							batch := c.take()
							c.qmu.Lock()
							c.spare = batch[:0]
							c.qmu.Unlock()
						case <-c.done:
							return
						}
					}
				}()
				b.Cleanup(func() { c.close(1000, ""); s.hub.unregister(c) })
			}
			for rest := members[1:]; len(rest) > 0; rest = rest[min(len(rest), 500):] {
				if _, err := s.chat.AddMembers(ctx, me, g.ID, rest[:min(len(rest), 500)], ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.chat.AddMember(ctx, me, g.ID, extra[i], ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
