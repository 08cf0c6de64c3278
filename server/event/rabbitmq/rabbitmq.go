// Package rabbitmq is the event.Bus of a cluster: one durable topic exchange,
// and per node one exclusive, auto-delete queue bound to exactly the topics
// its connections need, so each event reaches each interested node once.
//
// Events published together (the outbox hands over whatever committed
// meanwhile) travel as one broker message, an envelope, routed by
// envelopeKey to every node; each node keeps the events of the topics it
// subscribed and drops the rest unread. The broker's cost is per message
// (routing, queueing, the confirm, a write on each side), so under load an
// envelope of n events costs about what one event did; a lone event still
// goes by its topic, to the nodes that want it only.
package rabbitmq

import (
	"bytes"
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
// No lock is held across a call to the broker: mu guards only the fields,
// and Ping reads atomics, so a broker that accepts TCP but never answers
// stalls nothing but the calls that wait for it, each within its timeout.
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
	closed bool

	up       atomic.Bool
	waiting  sync.Map // publish batch → when it began waiting for confirms
	breaking atomic.Bool

	seen       *dedupe
	reconnects atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
}

// Timeouts for calls that wait for the broker.
const (
	bindTimeout    = 2 * time.Second  // a bind or unbind
	publishTimeout = 10 * time.Second // a batch's confirms
	// confirmsLate is how long confirms may be awaited before Ping reports
	// the bus as down.
	confirmsLate = 3 * time.Second
)

// The envelope: its routing key (bound by every node; no topic is named
// so), its content type, and its bounds. Its body is one line per event:
// the topic, a tab, and the event's JSON (which has no raw newline).
const (
	envelopeKey    = "envelope"
	envelopeType   = "application/x-parley-events"
	envelopeEvents = 256
	envelopeBytes  = 1 << 20
)

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
	if err := ctl.QueueBind(q.Name, envelopeKey, b.o.Exchange, false, nil); err != nil {
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
	b.conn, b.pub, b.ctl, b.queue = conn, pub, ctl, q.Name
	var late []string // topics wanted while binding the others
	for t := range b.topics {
		if !slices.Contains(topics, t) {
			late = append(late, t)
		}
	}
	b.mu.Unlock()
	for _, t := range late {
		if err := ctl.QueueBind(q.Name, t, b.o.Exchange, false, nil); err != nil {
			return fail(err)
		}
	}
	b.breaking.Store(false)
	b.up.Store(true)
	b.wg.Go(func() { b.consume(deliveries) })
	b.log.Info("rabbitmq connected", "queue", q.Name, "bindings", len(topics))
	return nil
}

func (b *Bus) consume(deliveries <-chan amqp.Delivery) {
	for d := range deliveries {
		if d.ContentType == envelopeType {
			b.unpack(d.Body)
			continue
		}
		b.deliver(d.Body)
	}
}

// deliver hands one event's JSON to the handler, once.
func (b *Bus) deliver(body []byte) {
	var ev event.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		b.log.Warn("dropping a malformed event", "err", err)
		return
	}
	if b.seen.add(ev.ID) {
		return // a republished duplicate
	}
	b.h(ev)
}

// unpack delivers the events of an envelope whose topics this node
// subscribed, in order; the others are not decoded.
func (b *Bus) unpack(body []byte) {
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		topic, js, ok := bytes.Cut(line, []byte{'\t'})
		if !ok {
			b.log.Warn("dropping a malformed envelope line")
			continue
		}
		b.mu.Lock()
		want := b.topics[string(topic)]
		b.mu.Unlock()
		if want {
			b.deliver(js)
		}
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
				b.up.Store(false)
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
	n, err := b.PublishAll(ctx, []event.Event{ev})
	if err == nil && n != 1 {
		err = errors.New("rabbitmq: publish not confirmed")
	}
	return err
}

// PublishAll publishes evs pipelined (all sent, then all confirms awaited)
// and returns how many, in order, the broker confirmed. Confirms that do
// not come within publishTimeout mean the broker is not answering: the
// connection is dropped and made again.
func (b *Bus) PublishAll(ctx context.Context, evs []event.Event) (int, error) {
	b.mu.Lock()
	pub := b.pub
	b.mu.Unlock()
	if !b.up.Load() || pub == nil {
		return 0, ErrDown
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	key := new(byte)
	b.waiting.Store(key, time.Now())
	defer b.waiting.Delete(key)
	type sent struct {
		dc     *amqp.DeferredConfirmation
		events int
	}
	var sends []sent
	var sendErr error
	for i := 0; i < len(evs); {
		msg, n, err := publishing(evs[i:])
		if err != nil {
			sendErr = err
			break
		}
		route := envelopeKey
		if n == 1 {
			route = evs[i].Topic
		}
		dc, err := pub.PublishWithDeferredConfirmWithContext(ctx, b.o.Exchange, route, false, false, msg)
		if err != nil {
			sendErr = err
			break
		}
		sends = append(sends, sent{dc, n})
		i += n
	}
	confirmed := 0
	for _, s := range sends {
		ok, err := s.dc.WaitContext(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				b.broken("publish confirms overdue")
			}
			return confirmed, err
		}
		if !ok {
			return confirmed, errors.New("rabbitmq: publish not confirmed")
		}
		confirmed += s.events
	}
	return confirmed, sendErr
}

// encode is an event's JSON: the outbox's, or made now.
func encode(ev event.Event) ([]byte, error) {
	if ev.Encoded != nil {
		return ev.Encoded, nil
	}
	return json.Marshal(ev)
}

// publishing is the broker message of the first of evs, or of an envelope
// of as many of them as fit, and how many it carries.
func publishing(evs []event.Event) (amqp.Publishing, int, error) {
	first, err := encode(evs[0])
	if err != nil {
		return amqp.Publishing{}, 0, err
	}
	if len(evs) == 1 {
		return amqp.Publishing{ContentType: "application/json", MessageId: evs[0].ID, Body: first}, 1, nil
	}
	var body bytes.Buffer
	add := func(ev event.Event, js []byte) {
		body.WriteString(ev.Topic)
		body.WriteByte('\t')
		body.Write(js)
		body.WriteByte('\n')
	}
	add(evs[0], first)
	n := 1
	for ; n < len(evs) && n < envelopeEvents; n++ {
		js, err := encode(evs[n])
		if err != nil {
			break // the envelope ends before it; the next one reports it
		}
		if body.Len()+len(evs[n].Topic)+len(js)+2 > envelopeBytes {
			break
		}
		add(evs[n], js)
	}
	if n == 1 { // the second did not fit: the first goes alone, by topic
		return amqp.Publishing{ContentType: "application/json", MessageId: evs[0].ID, Body: first}, 1, nil
	}
	return amqp.Publishing{ContentType: envelopeType, MessageId: evs[0].ID, Body: body.Bytes()}, n, nil
}

// Subscribe binds topic to this node's queue, now (waiting at most
// bindTimeout) or on reconnect. A bind the broker does not answer in time
// means it is not answering: the connection is made again, which binds
// every topic; meanwhile the topic is remembered.
func (b *Bus) Subscribe(ctx context.Context, topic string) error {
	return b.bind(ctx, topic, true)
}

// Unsubscribe unbinds topic.
func (b *Bus) Unsubscribe(ctx context.Context, topic string) error {
	return b.bind(ctx, topic, false)
}

func (b *Bus) bind(ctx context.Context, topic string, on bool) error {
	b.mu.Lock()
	if on {
		b.topics[topic] = true
	} else {
		delete(b.topics, topic)
	}
	ctl, queue := b.ctl, b.queue
	b.mu.Unlock()
	if !b.up.Load() || ctl == nil {
		return nil // bound (or not) on reconnect
	}
	done := make(chan error, 1)
	go func() {
		if on {
			done <- ctl.QueueBind(queue, topic, b.o.Exchange, false, nil)
		} else {
			done <- ctl.QueueUnbind(queue, topic, b.o.Exchange, nil)
		}
	}()
	t := time.NewTimer(bindTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		b.broken("a bind went unanswered")
		return ErrDown
	case <-ctx.Done():
		return ctx.Err()
	}
}

// broken drops a connection whose broker stopped answering; supervise
// makes a new one (and reports the gap).
func (b *Bus) broken(why string) {
	if !b.breaking.CompareAndSwap(false, true) {
		return
	}
	b.up.Store(false)
	b.mu.Lock()
	conn := b.conn
	b.mu.Unlock()
	b.log.Warn("rabbitmq is not answering; reconnecting", "reason", why)
	if conn != nil {
		go conn.CloseDeadline(time.Now().Add(time.Second))
	}
}

// Ping reports whether the broker is connected and answering: it fails
// while confirms are overdue. It takes no lock and does no I/O.
func (b *Bus) Ping(ctx context.Context) error {
	if !b.up.Load() {
		return ErrDown
	}
	late := false
	b.waiting.Range(func(_, v any) bool {
		late = time.Since(v.(time.Time)) > confirmsLate
		return !late
	})
	if late {
		return errors.New("rabbitmq: publisher confirms overdue")
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
	b.up.Store(false)
	b.mu.Unlock()
	close(b.stop)
	var err error
	if conn != nil {
		err = conn.CloseDeadline(time.Now().Add(2 * time.Second))
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
