package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/event"
)

// flakyBus is the in-process bus with a switch that makes publishing fail,
// as a broker outage does.
type flakyBus struct {
	*event.Memory
	down atomic.Bool
}

func (b *flakyBus) Publish(ctx context.Context, ev event.Event) error {
	if b.down.Load() {
		return errors.New("broker down")
	}
	return b.Memory.Publish(ctx, ev)
}

func TestOutboxDeliversAfterAnOutage(t *testing.T) {
	var bus *flakyBus
	e := newEnv(t, func(o *server.Options) {
		o.NewBus = func(h event.Handler) (event.Bus, error) {
			bus = &flakyBus{Memory: event.NewMemory(h)}
			return bus, nil
		}
	})
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	bw := e.dial(bob.Token)

	bus.down.Store(true)
	// sends still succeed while the bus is down: the events wait in the outbox
	for i := range 5 {
		alice.say(conv.ID, fmt.Sprint("during the outage ", i))
	}
	var n int
	db := e.srv.Accounts().DB
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&n); err != nil || n < 5 {
		t.Fatalf("outbox holds %d events, %v", n, err)
	}
	bw.quiet(300*time.Millisecond, "presence")

	// the bus comes back: the sweeper publishes them, in order, once each
	bus.down.Store(false)
	var seqs []int64
	for len(seqs) < 5 {
		f := bw.expect("message.created", "presence", "conversation.updated")
		var m struct{ Message message }
		f.decode(t, &m)
		seqs = append(seqs, m.Message.Seq)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("republished out of order: %v", seqs)
		}
	}
	bw.quiet(500*time.Millisecond, "presence", "conversation.updated")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d outbox rows left after delivery", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
