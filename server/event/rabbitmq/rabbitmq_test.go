package rabbitmq_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
