package rabbitmq_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/event/eventtest"
	"github.com/parleychat/parley/server/event/rabbitmq"
)

// URL is the test broker: PARLEY_TEST_AMQP_URL, or the local RabbitMQ.
func URL() string {
	if u := os.Getenv("PARLEY_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func TestRabbitMQBus(t *testing.T) {
	eventtest.Run(t, func(t *testing.T, node string, h event.Handler) event.Bus {
		// one exchange per subtest: nodes of one subtest share it
		exchange := exchangeFor(t)
		b, err := rabbitmq.New(context.Background(), rabbitmq.Options{URL: URL(), Node: node, Exchange: exchange}, h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		waitUp(t, b)
		return b
	}, true)
}

var exchanges = map[string]string{}

func exchangeFor(t *testing.T) string {
	if x, ok := exchanges[t.Name()]; ok {
		return x
	}
	x := randomName("parley.test.")
	exchanges[t.Name()] = x
	t.Cleanup(func() { deleteExchange(x) })
	return x
}

// deleteExchange removes a test exchange from the shared broker.
func deleteExchange(name string) {
	conn, err := amqp.Dial(URL())
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_ = ch.ExchangeDelete(name, false, false)
	}
}

func waitUp(t *testing.T, b *rabbitmq.Bus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Ping(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("rabbitmq at %s unreachable (is RabbitMQ running?)", URL())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBadURL(t *testing.T) {
	if _, err := rabbitmq.New(context.Background(), rabbitmq.Options{URL: "http://nope"}, func(event.Event) {}); err == nil {
		t.Fatal("a bad URL was accepted")
	}
}

// TestEnvelope: events published together travel as one broker message to
// every node, and each node keeps, in order and once, those of the topics
// it subscribed; a lone event still goes by its topic.
func TestEnvelope(t *testing.T) {
	ctx := context.Background()
	exchange := exchangeFor(t)
	bus := func(node string, h event.Handler) *rabbitmq.Bus {
		b, err := rabbitmq.New(ctx, rabbitmq.Options{URL: URL(), Node: node, Exchange: exchange}, h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		waitUp(t, b)
		return b
	}
	ra, rb := eventtest.NewRecorder(), eventtest.NewRecorder()
	a, b := bus("a", ra.Handle), bus("b", rb.Handle)
	p := bus("p", func(event.Event) {})
	for _, topic := range []string{"c.1", "c.2"} {
		if err := a.Subscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Subscribe(ctx, "c.2"); err != nil {
		t.Fatal(err)
	}

	// a raw queue on the envelopes' key sees how they travel
	conn, err := amqp.Dial(URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "envelope", exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	ev := func(id, topic string) event.Event { return event.Event{ID: id, Origin: "p", Topic: topic} }
	batch := []event.Event{ev("1", "c.1"), ev("2", "c.2"), ev("3", "c.3"), ev("4", "c.1")}
	if n, err := p.PublishAll(ctx, batch); err != nil || n != 4 {
		t.Fatalf("published %d: %v", n, err)
	}
	if n, err := p.PublishAll(ctx, batch); err != nil || n != 4 { // republished: dropped as copies
		t.Fatalf("republished %d: %v", n, err)
	}
	if err := p.Publish(ctx, ev("5", "c.1")); err != nil {
		t.Fatal(err)
	}
	// an event the outbox encoded is sent as encoded, not encoded again
	six := ev("not-6", "c.2")
	six.Encoded = []byte(`{"id":"6","origin":"p","topic":"c.2"}`)
	if err := p.Publish(ctx, six); err != nil {
		t.Fatal(err)
	}

	ids := func(evs []event.Event) (out []string) {
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	if got := ids(ra.WaitFor(t, 5)); fmt.Sprint(got) != "[1 2 4 5 6]" {
		t.Fatalf("node a got %v, want [1 2 4 5 6]", got)
	}
	if got := ids(rb.WaitFor(t, 2)); fmt.Sprint(got) != "[2 6]" {
		t.Fatalf("node b got %v, want [2 6]", got)
	}
	// the envelopes were two broker messages (the lone events went by topic)
	for i := range 2 {
		select {
		case d := <-raw:
			if d.ContentType != "application/x-parley-events" || bytes.Count(d.Body, []byte("\n")) != 4 {
				t.Fatalf("envelope %d: %q, %q", i, d.ContentType, d.Body)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("envelope %d never came", i)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if len(ra.Events()) != 5 || len(rb.Events()) != 2 || len(raw) != 0 {
		t.Fatalf("more came: a %d, b %d, raw %d", len(ra.Events()), len(rb.Events()), len(raw))
	}
}
