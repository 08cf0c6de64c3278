package server

import (
	"context"
	"sync"
	"time"
)

// presenceWorker tells the tracker who is connected here, and publishes
// the transitions, in one goroutine of its own: a connection only asks for
// its user to be brought up to date (and waits a bounded time for the
// tracker, so GET /presence right after hello counts it), and no lock is
// ever held across the tracker's or the database's I/O. Transitions are
// published by a second goroutine in batches, off the connection path: a
// user watched by hundreds gets hello as fast as anyone.
type presenceWorker struct {
	h *Hub

	mu      sync.Mutex
	dirty   map[int64][]chan struct{} // users to bring up to date, and who waits
	wake    chan struct{}
	marked  map[int64]bool // users this node has told the tracker about (worker only)
	publish chan []transition
}

type transition struct {
	user   int64
	online bool
}

func newPresenceWorker(h *Hub) *presenceWorker {
	return &presenceWorker{h: h, dirty: map[int64][]chan struct{}{}, wake: make(chan struct{}, 1),
		marked: map[int64]bool{}, publish: make(chan []transition, 1024)}
}

// changed asks for uid's presence to be brought up to date, waiting up to
// wait for the tracker to have it.
func (p *presenceWorker) changed(uid int64, wait time.Duration) {
	if p == nil {
		return
	}
	var done chan struct{}
	if wait > 0 {
		done = make(chan struct{})
	}
	p.mu.Lock()
	p.dirty[uid] = append(p.dirty[uid], done)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	if done != nil {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		case <-p.h.stop:
		}
	}
}

func (p *presenceWorker) run() {
	h := p.h
	published := make(chan struct{})
	go func() {
		defer close(published)
		p.publisher()
	}()
	defer func() {
		close(p.publish)
		<-published
	}()
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			p.flush() // the departures of a shutdown
			return
		case <-p.wake:
			p.flush()
		case <-t.C:
			p.heartbeat()
		}
	}
}

// flush brings every dirty user's presence up to date.
func (p *presenceWorker) flush() {
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = map[int64][]chan struct{}{}
	p.mu.Unlock()
	if len(dirty) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []transition
	for uid, waiters := range dirty {
		if tr, ok := p.sync(ctx, uid); ok {
			out = append(out, tr)
		}
		for _, w := range waiters {
			if w != nil {
				close(w)
			}
		}
	}
	if len(out) > 0 {
		p.publish <- out
	}
}

// sync tells the tracker whether uid has connections here, and reports the
// transition when the user came online or went offline everywhere.
func (p *presenceWorker) sync(ctx context.Context, uid int64) (transition, bool) {
	h := p.h
	h.mu.Lock()
	local := h.users[uid] != nil
	h.mu.Unlock()
	switch {
	case local && !p.marked[uid]:
		came, err := h.tracker.Connect(ctx, uid)
		if err != nil {
			h.warn("presence connect failed", "err", err)
			return transition{}, false
		}
		p.marked[uid] = true
		return transition{uid, true}, came
	case !local && p.marked[uid]:
		delete(p.marked, uid)
		went, err := h.tracker.Disconnect(ctx, uid)
		if err != nil {
			h.warn("presence disconnect failed", "err", err)
		}
		return transition{uid, false}, went
	}
	return transition{}, false
}

// heartbeat refreshes the presence of local users, and brings back those
// the tracker lost (its store restarted, or was down): presence recovers by
// itself.
func (p *presenceWorker) heartbeat() {
	h := p.h
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []int64
	for id := range p.marked {
		ids = append(ids, id)
	}
	missing, err := h.tracker.Heartbeat(ctx, ids)
	if err != nil {
		h.warn("presence heartbeat failed", "err", err)
		clear(p.marked) // the store may be down: try again next time, from scratch
		return
	}
	for _, id := range missing {
		delete(p.marked, id)
	}
	// every local user not marked (lost above, or never marked because the
	// tracker failed at connect) is brought back
	h.mu.Lock()
	p.mu.Lock()
	for id := range h.users {
		if !p.marked[id] {
			p.dirty[id] = append(p.dirty[id], nil)
		}
	}
	p.mu.Unlock()
	h.mu.Unlock()
	p.flush()
}

// publisher publishes transitions in batches, in order.
func (p *presenceWorker) publisher() {
	for batch := range p.publish {
		for more := true; more; {
			select {
			case b, ok := <-p.publish:
				if !ok {
					more = false
					break
				}
				batch = append(batch, b...)
			default:
				more = false
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, t := range batch {
			p.h.chat.PresenceChanged(ctx, t.user, t.online)
		}
		cancel()
	}
}
