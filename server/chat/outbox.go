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

// write stores the queued events in the transaction.
func (o *outbox) write(ctx context.Context, q *store.Queries) error {
	if len(o.evs) == 0 {
		return nil
	}
	p := store.InsertOutboxParams{Topics: make([]string, len(o.evs)), Payloads: make([][]byte, len(o.evs))}
	for i, ev := range o.evs {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		p.Topics[i], p.Payloads[i] = ev.Topic, b
	}
	ids, err := q.InsertOutbox(ctx, p)
	o.ids = ids
	return err
}

// flush publishes after commit, in order, and hands published rows to the
// deleter. It stops at the first failure: the sweeper publishes the rest,
// in order, once the bus is back.
func (o *outbox) flush(ctx context.Context) {
	if len(o.evs) == 0 {
		return
	}
	n, err := event.PublishAll(ctx, o.s.bus, o.evs)
	o.s.m.published.Add(float64(n))
	o.s.deleter.add(o.ids[:min(n, len(o.ids))]...)
	if err != nil {
		o.s.m.pubErrors.Inc()
		o.s.log.Warn("events left in the outbox", "count", len(o.evs)-n, "err", err)
	}
}

// change runs fn in a transaction with an outbox: the events fn adds are
// written with its changes and published after the commit.
func (s *Service) change(ctx context.Context, fn func(q *store.Queries, ob *outbox) error) error {
	var ob *outbox
	err := s.db.InTx(ctx, func(q *store.Queries) error {
		ob = &outbox{s: s} // a retried transaction starts over
		if err := fn(q, ob); err != nil {
			return err
		}
		return ob.write(ctx, q)
	})
	if err != nil {
		return err
	}
	ob.flush(context.WithoutCancel(ctx))
	return nil
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
		d.s.log.Warn("outbox rows not deleted", "count", len(ids), "err", err)
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

// sessionPurgeEvery is how often expired sessions are deleted; they stop
// working at expiry already, this only keeps the table small.
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
}

// sweepOutbox republishes events older than sweepOlderThan, oldest first,
// stopping at the first failure so order holds.
func (s *Service) sweepOutbox() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	err := s.db.InTx(ctx, func(q *store.Queries) error {
		n = 0
		rows, err := q.LockStaleOutbox(ctx, store.LockStaleOutboxParams{OlderThanS: sweepOlderThan.Seconds(), Lim: sweepBatch})
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
		s.log.Warn("outbox sweep failed", "err", err)
	} else if n > 0 {
		s.log.Info("outbox swept", "republished", n)
	}
}
