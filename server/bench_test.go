package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// BenchmarkSendMessage is the send use case against the real database: one
// transaction per message with its outbox row, published after commit.
func BenchmarkSendMessage(b *testing.B) {
	db := storetest.New(b)
	s, err := New(Options{DB: db, NodeID: "bench", Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Shutdown(context.Background()) })
	ctx := context.Background()
	alice, err := s.accounts.CreateUser(ctx, "alice", "password1", "")
	if err != nil {
		b.Fatal(err)
	}
	bob, _ := s.accounts.CreateUser(ctx, "bob", "password1", "")
	// a few conversations, so parallel senders do not all queue on one row lock
	var convs []int64
	for i := range 16 {
		u, _ := s.accounts.CreateUser(ctx, fmt.Sprintf("peer%d", i), "password1", "")
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
			if _, _, err := s.sendMessage(ctx, alice, convs[i%int64(len(convs))], fmt.Sprint("c", i), "benchmark message"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkHubFanout delivers one event to N local connections: the frame
// is queued, not copied or encoded, per recipient.
func BenchmarkHubFanout(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			h := newHub(nil, nil, slog.New(slog.DiscardHandler), "bench", newHubMetrics(nopRegistry{}), 0)
			s := &Server{hub: h}
			const conv = 1
			var conns []*Conn
			for i := range n {
				c := &Conn{s: s, user: store.User{ID: int64(i + 1)}, wake: make(chan struct{}, 1), done: make(chan struct{})}
				h.users[c.user.ID] = &localUser{conns: map[*Conn]struct{}{c: {}}, convs: map[int64]struct{}{conv: {}}}
				if h.convs[conv] == nil {
					h.convs[conv] = map[int64]struct{}{}
				}
				h.convs[conv][c.user.ID] = struct{}{}
				conns = append(conns, c)
			}
			ev := event.Event{Topic: event.ConversationTopic(conv), Frame: encodeFrame(frameMessageCreated, messageData{})}
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
	m := Message{ID: 1, ConversationID: 2, Seq: 3, SenderID: 4, ClientID: "2c1f0a8e-4b7e-4d8f-9a51-0d3c5a1b2e6f", Body: "a typical chat message of moderate length, say sixty-odd chars"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = encodeFrame(frameMessageCreated, messageData{Message: m})
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
	h := newHub(nil, nil, slog.New(slog.DiscardHandler), "t", newHubMetrics(nopRegistry{}), 0)
	s := &Server{hub: h}
	h.convs[1] = map[int64]struct{}{}
	var conns []*Conn
	for i := range 3 {
		c := &Conn{s: s, user: store.User{ID: int64(i + 1)}, wake: make(chan struct{}, 1), done: make(chan struct{})}
		h.users[c.user.ID] = &localUser{conns: map[*Conn]struct{}{c: {}}, convs: map[int64]struct{}{1: {}}}
		h.convs[1][c.user.ID] = struct{}{}
		conns = append(conns, c)
	}
	frame := encodeFrame(frameMessageCreated, messageData{})
	h.deliver(event.Event{Topic: event.ConversationTopic(1), Frame: frame})
	for _, c := range conns {
		got := c.take()[0]
		if &got[0] != &frame[0] {
			t.Fatal("a recipient got a copy of the frame, not the shared encoding")
		}
	}
}
