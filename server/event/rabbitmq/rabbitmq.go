// Package rabbitmq is the event.Bus of a cluster: one durable topic exchange,
// and per node one exclusive, auto-delete queue bound to exactly the topics
// its connections need, so each event reaches each interested node once.
package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/parleychat/parley/server/event"
)

// Options configure the bus.
type Options struct {
	URL      string
	Node     string
	Exchange string // default "parley.events"
	Logger   *slog.Logger
	// OnReconnect runs after the connection came back and every binding was
	// restored: events published during the gap were missed.
	OnReconnect func()
}

// Bus is an event.Bus on RabbitMQ. It reconnects by itself with backoff.
type Bus struct {
	o   Options
	h   event.Handler
	log *slog.Logger

	mu     sync.Mutex
	conn   *amqp.Connection
	pub    *amqp.Channel // publisher confirms
	ctl    *amqp.Channel // bindings
	queue  string
	topics map[string]bool
	up     bool
	closed bool

	seen       *dedupe
	reconnects atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
}

// ErrDown means the broker is unreachable now; the bus is reconnecting.
var ErrDown = errors.New("rabbitmq: not connected")

// New connects (or, if the broker is down, keeps trying in the background)
// and hands every event of the bound topics to h.
func New(ctx context.Context, o Options, h event.Handler) (*Bus, error) {
	if o.Exchange == "" {
		o.Exchange = "parley.events"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := amqp.ParseURI(o.URL); err != nil {
		return nil, fmt.Errorf("PARLEY_AMQP_URL: %w", err)
	}
	b := &Bus{o: o, h: h, log: o.Logger.With("component", "bus"), topics: make(map[string]bool),
		seen: newDedupe(1 << 14), stop: make(chan struct{})}
	if err := b.connect(); err != nil {
		b.log.Error("rabbitmq unreachable; retrying in the background", "err", err)
	}
	b.wg.Go(b.supervise)
	return b, nil
}

// Reconnects counts the connections re-established after a loss.
func (b *Bus) Reconnects() int64 { return b.reconnects.Load() }

func (b *Bus) connect() error {
	conn, err := amqp.DialConfig(b.o.URL, amqp.Config{
		Heartbeat:  10 * time.Second,
		Properties: amqp.Table{"connection_name": "parley " + b.o.Node},
		Dial:       amqp.DefaultDial(5 * time.Second),
	})
	if err != nil {
		return err
	}
	fail := func(err error) error {
		conn.Close()
		return err
	}
	pub, err := conn.Channel()
	if err != nil {
		return fail(err)
	}
	if err := pub.Confirm(false); err != nil {
		return fail(err)
	}
	ctl, err := conn.Channel()
	if err != nil {
		return fail(err)
	}
	if err := ctl.ExchangeDeclare(b.o.Exchange, "topic", true, false, false, false, nil); err != nil {
		return fail(err)
	}
	// a server-named queue: a restarted node never collides with its old one
	q, err := ctl.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return fail(err)
	}
	cons, err := conn.Channel()
	if err != nil {
		return fail(err)
	}
	if err := cons.Qos(512, 0, false); err != nil {
		return fail(err)
	}
	b.mu.Lock()
	topics := make([]string, 0, len(b.topics))
	for t := range b.topics {
		topics = append(topics, t)
	}
	b.mu.Unlock()
	for _, t := range topics {
		if err := ctl.QueueBind(q.Name, t, b.o.Exchange, false, nil); err != nil {
			return fail(err)
		}
	}
	deliveries, err := cons.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fail(err)
	}
	b.mu.Lock()
	b.conn, b.pub, b.ctl, b.queue, b.up = conn, pub, ctl, q.Name, true
	// topics wanted while binding were bound above or will be by Subscribe
	for t := range b.topics {
		if !slices.Contains(topics, t) {
			_ = ctl.QueueBind(q.Name, t, b.o.Exchange, false, nil)
		}
	}
	b.mu.Unlock()
	b.wg.Go(func() { b.consume(deliveries) })
	b.log.Info("rabbitmq connected", "queue", q.Name, "bindings", len(topics))
	return nil
}

func (b *Bus) consume(deliveries <-chan amqp.Delivery) {
	for d := range deliveries {
		var ev event.Event
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			b.log.Warn("dropping a malformed event", "err", err)
			continue
		}
		if b.seen.add(ev.ID) {
			continue // a republished duplicate
		}
		b.h(ev)
	}
}

// supervise waits for the connection to drop and brings it back, with
// backoff, then rebinds everything and reports the gap.
func (b *Bus) supervise() {
	for {
		b.mu.Lock()
		conn := b.conn
		b.mu.Unlock()
		if conn != nil {
			closed := conn.NotifyClose(make(chan *amqp.Error, 1))
			select {
			case <-b.stop:
				return
			case err := <-closed:
				b.mu.Lock()
				b.up = false
				b.mu.Unlock()
				b.log.Warn("rabbitmq connection lost; reconnecting", "err", err)
			}
		}
		delay := 100 * time.Millisecond
		for {
			select {
			case <-b.stop:
				return
			case <-time.After(delay):
			}
			if err := b.connect(); err != nil {
				b.log.Warn("rabbitmq reconnect failed", "err", err, "retry_in", delay)
				delay = min(delay*2, 5*time.Second)
				continue
			}
			break
		}
		if conn != nil { // a reconnect, not a late first connect
			b.reconnects.Add(1)
		}
		if b.o.OnReconnect != nil {
			b.o.OnReconnect() // events may have been missed meanwhile
		}
	}
}

// Publish sends ev and waits for the broker's confirm.
func (b *Bus) Publish(ctx context.Context, ev event.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	b.mu.Lock()
	pub, up := b.pub, b.up
	b.mu.Unlock()
	if !up {
		return ErrDown
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dc, err := pub.PublishWithDeferredConfirmWithContext(ctx, b.o.Exchange, ev.Topic, false, false, amqp.Publishing{
		ContentType: "application/json", MessageId: ev.ID, Body: body,
	})
	if err != nil {
		return err
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("rabbitmq: publish not confirmed")
	}
	return nil
}

// PublishAll publishes evs pipelined (all sent, then all confirms awaited)
// and returns how many, in order, the broker confirmed.
func (b *Bus) PublishAll(ctx context.Context, evs []event.Event) (int, error) {
	b.mu.Lock()
	pub, up := b.pub, b.up
	b.mu.Unlock()
	if !up {
		return 0, ErrDown
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dcs := make([]*amqp.DeferredConfirmation, 0, len(evs))
	var sendErr error
	for _, ev := range evs {
		body, err := json.Marshal(ev)
		if err != nil {
			sendErr = err
			break
		}
		dc, err := pub.PublishWithDeferredConfirmWithContext(ctx, b.o.Exchange, ev.Topic, false, false, amqp.Publishing{
			ContentType: "application/json", MessageId: ev.ID, Body: body,
		})
		if err != nil {
			sendErr = err
			break
		}
		dcs = append(dcs, dc)
	}
	for i, dc := range dcs {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return i, err
		}
		if !ok {
			return i, errors.New("rabbitmq: publish not confirmed")
		}
	}
	return len(dcs), sendErr
}

// Subscribe binds topic to this node's queue (now, or on reconnect).
func (b *Bus) Subscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.topics[topic] = true
	if !b.up {
		return nil // bound on reconnect
	}
	return b.ctl.QueueBind(b.queue, topic, b.o.Exchange, false, nil)
}

// Unsubscribe unbinds topic.
func (b *Bus) Unsubscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.topics, topic)
	if !b.up {
		return nil
	}
	return b.ctl.QueueUnbind(b.queue, topic, b.o.Exchange, nil)
}

// Ping reports whether the broker is connected.
func (b *Bus) Ping(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.up {
		return ErrDown
	}
	return nil
}

// Close disconnects for good.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conn := b.conn
	b.up = false
	b.mu.Unlock()
	close(b.stop)
	var err error
	if conn != nil {
		err = conn.Close()
	}
	b.wg.Wait()
	return err
}

// dedupe remembers the last n event ids.
type dedupe struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func newDedupe(n int) *dedupe {
	return &dedupe{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records id and reports whether it was already there.
func (d *dedupe) add(id string) bool {
	if id == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[id]; ok {
		return true
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.set, old)
	}
	d.ring[d.next] = id
	d.next = (d.next + 1) % len(d.ring)
	d.set[id] = struct{}{}
	return false
}
