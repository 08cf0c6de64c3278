package server

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
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
