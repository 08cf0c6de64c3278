package server_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/presence/memcached"
)

// TestBrokerDropsMidBurst: RabbitMQ connections drop in the middle of a
// send burst, and stay down for a while. Every send still succeeds, and
// after recovery the peer has every message exactly once.
func TestBrokerDropsMidBurst(t *testing.T) {
	proxy := newFaultProxy(t, "127.0.0.1:5672")
	c := newCluster(t, 2, "amqp://guest:guest@"+proxy.addr()+"/")
	n1, n2 := c.nodes[0], c.nodes[1]
	alice, bob := n1.user("alice"), n2.user("bob")
	conv := alice.direct(c.on(1, bob))
	alice.say(conv.ID, "hello")
	bw := n2.dial(bob.Token)

	const total = 200
	got := map[int64]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range total {
			if i == 60 {
				proxy.setRefuse(true) // the broker is gone for a while
				proxy.cut()
			}
			if i == 140 {
				proxy.setRefuse(false)
			}
			alice.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID),
				map[string]any{"client_id": fmt.Sprint("burst-", i), "body": fmt.Sprint(i)})
		}
	})
	// bob's socket: live messages until the node tells it to resync (1012)
	collect := func(w *wsClient) {
		for {
			select {
			case f := <-w.frames:
				if f.Type == "message.created" {
					var m struct{ Message message }
					f.decode(t, &m)
					mu.Lock()
					got[m.Message.Seq]++
					mu.Unlock()
				}
			case <-w.done:
				return
			case <-time.After(20 * time.Second):
				return
			}
		}
	}
	collect(bw)
	wg.Wait()
	if proxy.dropped == 0 {
		t.Fatal("the proxy dropped nothing")
	}
	// reconnect and sync, as every client does after a close
	bw = n2.dial(bob.Token)
	var s struct{ Conversations []conversation }
	c.on(1, bob).must(200, "GET", "/api/v1/sync", nil).decode(t, &s)
	if len(s.Conversations) != 1 || s.Conversations[0].LastSeq != total+1 {
		t.Fatalf("after recovery: %+v", s.Conversations)
	}
	var page struct{ Messages []message }
	c.on(1, bob).must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after=0&limit=200", conv.ID), nil).decode(t, &page)
	var rest struct{ Messages []message }
	c.on(1, bob).must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after=200&limit=200", conv.ID), nil).decode(t, &rest)
	all := append(page.Messages, rest.Messages...)
	if len(all) != total+1 {
		t.Fatalf("%d messages stored, want %d", len(all), total+1)
	}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("seq %d at %d: lost or duplicated", m.Seq, i)
		}
	}
	for seq, n := range got {
		if n != 1 {
			t.Fatalf("seq %d delivered %d times on one connection", seq, n)
		}
	}
	// the outbox drains, and live delivery works again on the new socket
	deadline := time.Now().Add(15 * time.Second)
	for {
		var depth int
		if err := n1.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&depth); err != nil {
			t.Fatal(err)
		}
		if depth == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d events", depth)
		}
		time.Sleep(100 * time.Millisecond)
	}
	alice.say(conv.ID, "after recovery")
	// the new socket may first get swept events of the outage (clients place
	// them by seq), each once, then the new message
	again := map[int64]int{}
	for {
		f := bw.expect("message.created", "presence", "receipt", "conversation.updated")
		var m struct{ Message message }
		f.decode(t, &m)
		if again[m.Message.Seq]++; again[m.Message.Seq] > 1 {
			t.Fatalf("seq %d twice on one connection", m.Message.Seq)
		}
		if m.Message.Seq == total+2 {
			break
		}
	}
	t.Logf("live deliveries before the resync: %d of %d; connections dropped: %d", len(got), total, proxy.dropped)
}

// startMemcached runs a private memcached on a free port.
func startMemcached(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "memcache")
	}
	cmd := exec.Command("memcached", args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start memcached (is it installed?): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return cmd
		}
		if i > 100 {
			t.Fatal("private memcached did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestMemcachedDown: presence degrades to offline, messaging is unaffected,
// and presence comes back by itself with memcached.
func TestMemcachedDown(t *testing.T) {
	port := freePort(t)
	mc := startMemcached(t, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	e := newEnv(t, func(o *server.Options) {
		tr, err := memcached.New(memcached.Options{Servers: []string{addr}, Node: "n1"})
		if err != nil {
			t.Fatal(err)
		}
		o.Presence = tr
		o.Heartbeat = 300 * time.Millisecond
	})
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	alice.say(conv.ID, "hi")
	bob.say(conv.ID, "hi back") // both have written: they see each other's presence
	bw := e.dial(bob.Token)
	e.dial(alice.Token)
	online := func() (bool, int) {
		var out struct{ Presence []struct{ Online bool } }
		r := bob.do("GET", fmt.Sprintf("/api/v1/presence?user_ids=%d", alice.ID), nil)
		if r.Status != 200 {
			return false, r.Status
		}
		r.decode(t, &out)
		return len(out.Presence) == 1 && out.Presence[0].Online, 200
	}
	if on, _ := online(); !on {
		t.Fatal("alice not online with memcached up")
	}

	mc.Process.Kill()
	mc.Wait()
	if on, status := online(); on || status != 200 {
		t.Fatalf("with memcached down: online=%v status=%d; want offline and 200", on, status)
	}
	alice.say(conv.ID, "still works")
	bw.expect("message.created", "presence", "conversation.updated")
	// presence is degraded, but the node stays in its load balancer
	if r := alice.do("GET", "/readyz", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"presence":"degraded"`) {
		t.Fatalf("readyz with memcached down: %d %s", r.Status, r.Body)
	}

	startMemcached(t, port) // empty: every presence entry is gone
	deadline := time.Now().Add(10 * time.Second)
	for {
		if on, _ := online(); on {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("presence did not recover by itself")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrokerBlackHole: RabbitMQ accepts TCP but answers nothing for a
// while. Sends are still answered at once (they are committed; the outbox
// publishes them later), a socket that connects meanwhile gets hello,
// /readyz answers in time and says the bus is down, and after recovery the
// peer has every message exactly once.
func TestBrokerBlackHole(t *testing.T) {
	proxy := newFaultProxy(t, "127.0.0.1:5672")
	c := newCluster(t, 2, "amqp://guest:guest@"+proxy.addr()+"/")
	n1, n2 := c.nodes[0], c.nodes[1]
	alice, bob := n1.user("alice"), n2.user("bob")
	conv := alice.direct(c.on(1, bob))
	alice.say(conv.ID, "hello")

	proxy.setHole(true)
	const total = 40
	var slowest time.Duration
	for i := range total {
		start := time.Now()
		alice.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID),
			map[string]any{"client_id": fmt.Sprint("hole-", i), "body": fmt.Sprint(i)})
		slowest = max(slowest, time.Since(start))
		time.Sleep(100 * time.Millisecond) // over four seconds of black hole
	}
	if slowest > time.Second {
		t.Errorf("the slowest send during the black hole took %v", slowest)
	}
	// a socket opened now still gets hello
	start := time.Now()
	n1.dial(alice.Token)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hello took %v during the black hole", d)
	}
	start = time.Now()
	r := alice.do("GET", "/readyz", nil)
	if d := time.Since(start); d > 3*time.Second || r.Status != 503 || !strings.Contains(string(r.Body), `"bus":"unavailable"`) {
		t.Errorf("readyz during the black hole: %d %s after %v", r.Status, r.Body, d)
	}
	proxy.setHole(false)
	proxy.cut() // what a black hole ends in, sooner or later

	// after recovery: every message once, in order
	deadline := time.Now().Add(30 * time.Second)
	for {
		var s struct{ Conversations []conversation }
		c.on(1, bob).must(200, "GET", "/api/v1/sync", nil).decode(t, &s)
		if len(s.Conversations) == 1 && s.Conversations[0].LastSeq == total+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after recovery: %+v", s.Conversations)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var page struct{ Messages []message }
	c.on(1, bob).must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after=0&limit=200", conv.ID), nil).decode(t, &page)
	for i, m := range page.Messages {
		if m.Seq != int64(i+1) {
			t.Fatalf("seq %d at %d: lost or duplicated", m.Seq, i)
		}
	}
	// live delivery works again once both nodes are back on the broker
	// (each then asks its clients to resync), and the outbox drains
	for _, n := range c.nodes {
		for n.client().do("GET", "/readyz", nil).Status != 200 {
			if time.Now().After(deadline) {
				t.Fatal("a node is not ready after the black hole")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	bw := n2.dial(bob.Token)
	alice.say(conv.ID, "after recovery")
	for {
		var m struct{ Message message }
		bw.expect("message.created", "presence", "receipt", "conversation.updated").decode(t, &m)
		if m.Message.Seq == total+2 {
			break
		}
	}
	for {
		var depth int
		if err := n1.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&depth); err != nil {
			t.Fatal(err)
		}
		if depth == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d events", depth)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
