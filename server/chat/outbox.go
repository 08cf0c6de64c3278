package chat

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// The transactional outbox: every change that emits events writes them to
// the outbox table in its own transaction. After commit they are published
// and their rows deleted once the bus has them; a sweeper republishes, in
// order, whatever a crash or a broker outage left behind. A change is never
// committed without its events. A republished event keeps its id, so a
// receiving node drops the copy it already has (the RabbitMQ bus remembers
// recent ids; the in-process bus never republishes, having no broker to
// lose events in); frames carry no event id, and clients place what
// arrives by seq, so a copy that slips through changes nothing.

const (
	sweepEvery     = time.Second
	sweepOlderThan = 2 * time.Second // leave fresh rows to their publisher
	sweepBatch     = 500
)

// outbox collects the events of one transaction.
type outbox struct {
	s   *Service
	evs []event.Event
	ids []int64
}

// add queues events, stamping each with its id and this node.
func (o *outbox) add(evs ...event.Event) {
	now := time.Now().UnixNano()
	for _, ev := range evs {
		ev.ID, ev.Origin, ev.At = event.NewID(), o.s.node, now
		o.evs = append(o.evs, ev)
	}
}

// write stores the queued events as the transaction's last statement,
// with its COMMIT when the transaction is piped.
func (o *outbox) write(ctx context.Context, q *store.Queries) error {
	if len(o.evs) == 0 {
		return nil
	}
	p := store.InsertOutboxParams{Topics: make([]string, len(o.evs)), Payloads: make([][]byte, len(o.evs)), MessageIds: make([]int64, len(o.evs))}
	for i, ev := range o.evs {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		p.Topics[i], p.Payloads[i], p.MessageIds[i] = ev.Topic, b, ev.MessageID
		o.evs[i].Encoded = b // published as stored
	}
	ids, err := q.InsertOutboxCommit(ctx, p)
	o.ids = ids
	return err
}

// change runs fn in a transaction with an outbox: the events fn adds are
// written with its changes and handed to the publisher after the commit.
// It returns once the change is committed, without waiting for the bus:
// the outbox guarantees publication, so a broker that is slow or not
// answering never holds up a send.
func (s *Service) change(ctx context.Context, fn func(q *store.Queries, ob *outbox) error) error {
	var ob *outbox
	err := s.db.InPipedTx(ctx, func(q *store.Queries) error {
		ob = &outbox{s: s} // a retried transaction starts over
		if err := fn(q, ob); err != nil {
			return err
		}
		return ob.write(ctx, q)
	})
	if err != nil {
		return err
	}
	s.publisher.hand(ob)
	return nil
}

// publisher publishes committed events, in the order their transactions
// handed them over, from one goroutine; it deletes what the bus took. What
// it cannot publish (the bus is down, or its queue is full) stays in the
// outbox for the sweeper, which leaves alone what is still queued here.
type publisher struct {
	s        *Service
	queue    chan *outbox
	done     chan struct{}
	mu       sync.Mutex
	inflight map[int64]struct{} // outbox ids queued here
	closed   bool
}

const publishQueue = 4096 // transactions waiting to be published

func newPublisher(s *Service) *publisher {
	p := &publisher{s: s, queue: make(chan *outbox, publishQueue), done: make(chan struct{}), inflight: map[int64]struct{}{}}
	go p.run()
	return p
}

func (p *publisher) hand(ob *outbox) {
	if len(ob.evs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return // shutting down: the sweeper of this or another node publishes it
	}
	select {
	case p.queue <- ob:
		for _, id := range ob.ids {
			p.inflight[id] = struct{}{}
		}
	default:
		p.s.warn("publish queue full: events left to the sweeper", "count", len(ob.evs))
	}
}

func (p *publisher) run() {
	defer close(p.done)
	for ob := range p.queue {
		batch := []*outbox{ob}
	gather:
		for len(batch) < 256 {
			select {
			case more, ok := <-p.queue:
				if !ok {
					break gather
				}
				batch = append(batch, more)
			default:
				break gather
			}
		}
		p.publish(batch)
	}
}

// publish publishes a batch in order and stops at the first failure.
func (p *publisher) publish(batch []*outbox) {
	var evs []event.Event
	var ids []int64
	for _, ob := range batch {
		evs = append(evs, ob.evs...)
		ids = append(ids, ob.ids...)
	}
	n := 0
	var err error
	if err = p.s.bus.Ping(context.Background()); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err = event.PublishAll(ctx, p.s.bus, evs)
		cancel()
	}
	p.s.m.published.Add(float64(n))
	p.s.deleter.add(ids[:min(n, len(ids))]...)
	if err != nil {
		p.s.m.pubErrors.Inc()
		p.s.warn("events left in the outbox", "count", len(evs)-n, "err", err)
	}
	p.mu.Lock()
	for _, id := range ids {
		delete(p.inflight, id)
	}
	p.mu.Unlock()
}

// queued lists the outbox ids waiting here, for the sweeper to skip.
func (p *publisher) queued() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int64, 0, len(p.inflight))
	for id := range p.inflight {
		out = append(out, id)
	}
	return out
}

// close publishes what is queued and stops.
func (p *publisher) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	<-p.done
}

// outboxDeleter deletes published rows in batches, off the request path.
type outboxDeleter struct {
	s    *Service
	mu   sync.Mutex
	ids  []int64
	wake chan struct{}
}

func (d *outboxDeleter) add(ids ...int64) {
	if len(ids) == 0 {
		return
	}
	d.mu.Lock()
	d.ids = append(d.ids, ids...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *outboxDeleter) drain() {
	d.mu.Lock()
	ids := d.ids
	d.ids = nil
	d.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.s.db.DeleteOutbox(ctx, ids); err != nil {
		// the sweeper will publish them again; receiving nodes drop the copies
		d.s.warn("outbox rows not deleted", "count", len(ids), "err", err)
	}
}

// runOutbox deletes published rows, sweeps leftovers and purges expired
// sessions until the Service closes.
func (s *Service) runOutbox() {
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	lastPurge := time.Time{}
	for {
		select {
		case <-s.stop:
			s.deleter.drain()
			return
		case <-s.deleter.wake:
			time.Sleep(20 * time.Millisecond) // gather a batch
			s.deleter.drain()
		case <-tick.C:
			s.deleter.drain()
			s.sweepOutbox()
			if time.Since(lastPurge) > sessionPurgeEvery {
				lastPurge = time.Now()
				s.purgeSessions()
			}
		}
	}
}

// sessionPurgeEvery is how often expired sessions and audit entries past
// their retention are deleted; sessions stop working at expiry already,
// this only keeps the tables small.
const sessionPurgeEvery = 10 * time.Minute

func (s *Service) purgeSessions() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := s.db.DeleteExpiredSessions(ctx)
	if err != nil {
		s.log.Warn("expired sessions not purged", "err", err)
	} else if n > 0 {
		s.log.Info("expired sessions purged", "count", n)
	}
	if n, err := s.PurgeAudit(ctx); err != nil {
		s.log.Warn("old audit entries not purged", "err", err)
	} else if n > 0 {
		s.log.Info("old audit entries purged", "count", n)
	}
}

// sweepOutbox republishes events older than sweepOlderThan, oldest first,
// stopping at the first failure so order holds.
func (s *Service) sweepOutbox() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	err := s.db.InTx(ctx, func(q *store.Queries) error {
		n = 0
		rows, err := q.LockStaleOutbox(ctx, store.LockStaleOutboxParams{OlderThanS: sweepOlderThan.Seconds(), Lim: sweepBatch, Skip: s.publisher.queued()})
		if err != nil || len(rows) == 0 {
			return err
		}
		var done []int64
		var evs []event.Event
		var ids []int64
		for _, row := range rows {
			var ev event.Event
			if err := json.Unmarshal(row.Payload, &ev); err != nil {
				s.log.Error("dropping a malformed outbox row", "id", row.ID, "err", err)
				done = append(done, row.ID)
				continue
			}
			ev.Encoded = row.Payload
			evs, ids = append(evs, ev), append(ids, row.ID)
		}
		// Published inside the transaction on purpose: its row locks (FOR
		// UPDATE SKIP LOCKED) keep every other node's sweeper off these
		// rows until they are deleted, so two sweepers never publish the
		// same events at once. A crash before commit only republishes
		// them, which receivers drop by event id. The bus may fail part
		// way: the rest stay, in order.
		published, _ := event.PublishAll(ctx, s.bus, evs)
		done = append(done, ids[:published]...)
		n = published
		return q.DeleteOutbox(ctx, done)
	})
	if err != nil {
		s.warn("outbox sweep failed", "err", err)
	} else if n > 0 {
		s.log.Info("outbox swept", "republished", n)
	}
}
