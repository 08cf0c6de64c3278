package server_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// TestDatabaseOutage: PostgreSQL refuses connections, then hangs (a black
// hole), then drops them mid-stream. Every request answers in time with
// 503 unavailable, never a 500; readiness says so within its timeout; the
// node recovers by itself; and every message a client sent, retried with
// its client_id until accepted, is stored exactly once.
func TestDatabaseOutage(t *testing.T) {
	raw := storetest.URL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFaultProxy(t, u.Host)
	u.Host = proxy.addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	db, err := store.Open(context.Background(), u.String(), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	e := newEnv(t, func(o *server.Options) {
		o.DB = db
		o.RequestTimeout = 2 * time.Second
	})
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)

	var mu sync.Mutex
	statuses := map[int]int{}
	send := func(id string) int {
		r := alice.do("POST", path, map[string]any{"client_id": id, "body": id})
		mu.Lock()
		statuses[r.Status]++
		mu.Unlock()
		if r.Status >= 500 && r.Status != 503 {
			t.Errorf("%s: %d %s", id, r.Status, r.Body)
		}
		if r.Status == 503 {
			if code, _ := r.errCode(t); code != "unavailable" {
				t.Errorf("%s: 503 with code %s", id, code)
			}
		}
		return r.Status
	}
	var sent []string
	burst := func(phase string, n int) {
		var wg sync.WaitGroup
		for i := range n {
			id := fmt.Sprintf("%s-%d", phase, i)
			sent = append(sent, id)
			wg.Go(func() { send(id) })
		}
		wg.Wait()
	}
	ready := func() (int, time.Duration) {
		start := time.Now()
		r := alice.do("GET", "/readyz", nil)
		return r.Status, time.Since(start)
	}

	burst("before", 5)

	// refused: connections to the database fail at once
	proxy.setRefuse(true)
	proxy.cut()
	burst("refused", 10)
	if st, d := ready(); st != 503 || d > 3*time.Second {
		t.Errorf("readyz while refused: %d after %v", st, d)
	}
	proxy.setRefuse(false)

	// a black hole: the database accepts and never answers
	proxy.cut()
	proxy.setHole(true)
	start := time.Now()
	burst("hole", 10)
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("sends during a black hole took %v to answer", d)
	}
	if st, d := ready(); st != 503 || d > 3*time.Second {
		t.Errorf("readyz in a black hole: %d after %v", st, d)
	}
	proxy.setHole(false)

	// connections cut in the middle of a burst
	var wg sync.WaitGroup
	wg.Go(func() { burst("cut", 30) })
	time.Sleep(20 * time.Millisecond)
	proxy.cut()
	wg.Wait()

	// recovery by itself: retries of every client_id end accepted
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range sent {
		for send(id) == 503 {
			if time.Now().After(deadline) {
				t.Fatalf("%s still refused after the outage", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if st, _ := ready(); st != 200 {
		t.Errorf("readyz after recovery: %d", st)
	}
	var page struct{ Messages []message }
	bob.must(200, "GET", path+"?after=0&limit=200", nil).decode(t, &page)
	seen := map[string]int{}
	for i, m := range page.Messages {
		if m.Seq != int64(i+1) {
			t.Fatalf("seq %d at %d: a gap", m.Seq, i)
		}
		seen[m.ClientID]++
	}
	for _, id := range sent {
		if seen[id] != 1 {
			t.Errorf("%s stored %d times", id, seen[id])
		}
	}
	if len(page.Messages) != len(sent) {
		t.Errorf("%d messages stored, %d sent", len(page.Messages), len(sent))
	}
	if statuses[503] == 0 {
		t.Error("no request saw the outage")
	}
	t.Logf("statuses: %v", statuses)
}
