// Package eventtest is the contract every event.Bus must keep. The memory
// bus and the RabbitMQ bus run the same tests.
package eventtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/server/event"
)

// Factory makes a bus for node that hands its events to h. Buses from one
// Factory call within a test share one broker; the memory bus has one node.
type Factory func(t *testing.T, node string, h event.Handler) event.Bus

// Recorder collects delivered events.
type Recorder struct {
	mu     sync.Mutex
	events []event.Event
	signal chan struct{}
}

func NewRecorder() *Recorder { return &Recorder{signal: make(chan struct{}, 1)} }

func (r *Recorder) Handle(ev event.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// Events returns a copy of what arrived so far.
func (r *Recorder) Events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

// WaitFor waits until n events arrived, or fails the test.
func (r *Recorder) WaitFor(t *testing.T, n int) []event.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if evs := r.Events(); len(evs) >= n {
			return evs
		}
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("waited for %d events, got %d", n, len(r.Events()))
		}
	}
}

// settle waits a little for stray deliveries (a broker is asynchronous).
func settle() { time.Sleep(200 * time.Millisecond) }

// Run runs the contract. multiNode says whether the factory can make
// several nodes on one broker.
func Run(t *testing.T, newBus Factory, multiNode bool) {
	ctx := context.Background()

	t.Run("DeliversOnlySubscribedTopics", func(t *testing.T) {
		rec := NewRecorder()
		bus := newBus(t, "n1", rec.Handle)
		if err := bus.Subscribe(ctx, event.UserTopic(1)); err != nil {
			t.Fatal(err)
		}
		mustPublish(t, bus, event.Event{ID: "a", Origin: "n1", Topic: event.UserTopic(2), Frame: []byte(`{"type":"x"}`)})
		mustPublish(t, bus, event.Event{ID: "b", Origin: "n1", Topic: event.UserTopic(1), Frame: []byte(`{"type":"y"}`),
			Droppable: true, ExceptUser: 7, Join: []int64{3}, Since: []int64{12}, Leave: []int64{4}, Created: 99})
		evs := rec.WaitFor(t, 1)
		settle()
		evs = rec.Events()
		if len(evs) != 1 || evs[0].ID != "b" {
			t.Fatalf("delivered %+v, want only b", evs)
		}
		got := evs[0]
		if string(got.Frame) != `{"type":"y"}` || !got.Droppable || got.ExceptUser != 7 || got.Origin != "n1" ||
			len(got.Join) != 1 || got.Join[0] != 3 || len(got.Leave) != 1 || got.Leave[0] != 4 ||
			len(got.Since) != 1 || got.Since[0] != 12 || got.Created != 99 {
			t.Fatalf("event changed in transit: %+v", got)
		}
	})

	t.Run("UnsubscribeStopsDelivery", func(t *testing.T) {
		rec := NewRecorder()
		bus := newBus(t, "n1", rec.Handle)
		topic := event.ConversationTopic(9)
		if err := bus.Subscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
		mustPublish(t, bus, event.Event{ID: "1", Topic: topic})
		rec.WaitFor(t, 1)
		if err := bus.Unsubscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
		mustPublish(t, bus, event.Event{ID: "2", Topic: topic})
		settle()
		if n := len(rec.Events()); n != 1 {
			t.Fatalf("%d events after unsubscribe, want 1", n)
		}
	})

	t.Run("KeepsPublishOrder", func(t *testing.T) {
		rec := NewRecorder()
		bus := newBus(t, "n1", rec.Handle)
		topic := event.ConversationTopic(1)
		if err := bus.Subscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
		const n = 200
		for i := range n {
			mustPublish(t, bus, event.Event{ID: fmt.Sprint(i), Topic: topic})
		}
		evs := rec.WaitFor(t, n)
		for i, ev := range evs[:n] {
			if ev.ID != fmt.Sprint(i) {
				t.Fatalf("event %d is %s: order lost", i, ev.ID)
			}
		}
	})

	t.Run("PublishAllKeepsOrder", func(t *testing.T) {
		rec := NewRecorder()
		bus := newBus(t, "n1", rec.Handle)
		topic := event.ConversationTopic(3)
		if err := bus.Subscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
		var evs []event.Event
		for i := range 300 {
			evs = append(evs, event.Event{ID: fmt.Sprint("all-", i), Topic: topic})
		}
		n, err := event.PublishAll(ctx, bus, evs)
		if err != nil || n != len(evs) {
			t.Fatalf("PublishAll: %d, %v", n, err)
		}
		got := rec.WaitFor(t, len(evs))
		for i, ev := range got[:len(evs)] {
			if ev.ID != evs[i].ID {
				t.Fatalf("event %d is %s: order lost", i, ev.ID)
			}
		}
	})

	t.Run("ConcurrentPublishers", func(t *testing.T) {
		rec := NewRecorder()
		bus := newBus(t, "n1", rec.Handle)
		topic := event.ConversationTopic(2)
		if err := bus.Subscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 25 {
					mustPublish(t, bus, event.Event{ID: fmt.Sprint(w, "-", i), Topic: topic})
				}
			})
		}
		wg.Wait()
		evs := rec.WaitFor(t, 200)
		seen := map[string]bool{}
		for _, ev := range evs {
			if seen[ev.ID] {
				t.Fatalf("duplicate %s", ev.ID)
			}
			seen[ev.ID] = true
		}
	})

	t.Run("Ping", func(t *testing.T) {
		bus := newBus(t, "n1", func(event.Event) {})
		if err := bus.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})

	if !multiNode {
		return
	}
	t.Run("RoutesBetweenNodesOnce", func(t *testing.T) {
		r1, r2, r3 := NewRecorder(), NewRecorder(), NewRecorder()
		b1 := newBus(t, "n1", r1.Handle)
		b2 := newBus(t, "n2", r2.Handle)
		b3 := newBus(t, "n3", r3.Handle)
		topic := event.ConversationTopic(42)
		for _, b := range []event.Bus{b1, b2} {
			if err := b.Subscribe(ctx, topic); err != nil {
				t.Fatal(err)
			}
		}
		mustPublish(t, b3, event.Event{ID: "x", Origin: "n3", Topic: topic})
		r1.WaitFor(t, 1)
		r2.WaitFor(t, 1)
		settle()
		if len(r1.Events()) != 1 || len(r2.Events()) != 1 || len(r3.Events()) != 0 {
			t.Fatalf("deliveries n1=%d n2=%d n3=%d, want 1 1 0", len(r1.Events()), len(r2.Events()), len(r3.Events()))
		}
	})
}

func mustPublish(t *testing.T, b event.Bus, ev event.Event) {
	t.Helper()
	if err := b.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}
