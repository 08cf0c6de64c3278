package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/event/rabbitmq"
	"github.com/parleychat/parley/server/presence/memcached"
	"github.com/parleychat/parley/store/storetest"
)

func testAMQP() string {
	if u := os.Getenv("PARLEY_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func testMemcached() []string {
	if s := os.Getenv("PARLEY_TEST_MEMCACHED"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"127.0.0.1:11211"}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cluster is n Parley nodes on one database, one RabbitMQ exchange and one
// memcached key space, each behind its own HTTP server.
type cluster struct {
	nodes []*env
}

func newCluster(t *testing.T, n int, amqpURL string, mods ...func(*server.Options)) *cluster {
	t.Helper()
	db := storetest.New(t)
	exchange := "parley.test." + randHex(6)
	prefix := "parley:test:" + randHex(4) + ":"
	t.Cleanup(func() { deleteExchange(amqpURL, exchange) })
	c := &cluster{}
	for i := range n {
		node := fmt.Sprintf("node%d", i+1)
		var bus *rabbitmq.Bus
		resync := make(chan struct{}, 1)
		e := newEnv(t, func(o *server.Options) {
			o.DB = db
			o.NodeID = node
			tr, err := memcached.New(memcached.Options{Servers: testMemcached(), Node: node, Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			o.Presence = tr
			o.NewBus = func(h event.Handler) (event.Bus, error) {
				var err error
				bus, err = rabbitmq.New(context.Background(), rabbitmq.Options{URL: amqpURL, Node: node, Exchange: exchange,
					OnReconnect: func() {
						select {
						case resync <- struct{}{}:
						default:
						}
					}}, h)
				return bus, err
			}
			o.Resync = resync
			for _, m := range mods {
				m(o)
			}
		})
		deadline := time.Now().Add(15 * time.Second)
		for bus.Ping(context.Background()) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("rabbitmq at %s unreachable", amqpURL)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Cleanup(func() { e.srv.Shutdown(context.Background()) })
		c.nodes = append(c.nodes, e)
	}
	return c
}

func deleteExchange(url, name string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_ = ch.ExchangeDelete(name, false, false)
	}
}

// on returns a client of user u that talks to node i.
func (c *cluster) on(i int, u *user) *user {
	cl := c.nodes[i].client()
	cl.token = u.Token
	return &user{client: cl, ID: u.ID, Username: u.Username, Token: u.Token}
}

// TestClusterDirectMessaging: a user on node 1 chats with a user on node 2
// (and a second device on node 3) exactly as on one node.
func TestClusterDirectMessaging(t *testing.T) {
	c := newCluster(t, 3, testAMQP())
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	alice, bob := n1.user("alice"), n2.user("bob")
	conv := alice.direct(c.on(1, bob))
	// mutual contacts see each other's presence
	alice.must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": bob.ID})
	c.on(1, bob).must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": alice.ID})

	a1 := n1.dial(alice.Token)
	a3 := n3.dial(alice.Token) // alice's phone, on another node
	b2 := n2.dial(bob.Token)

	// presence crosses nodes: bob (node 2) sees alice come online
	var p struct {
		UserID int64 `json:"user_id"`
		Online bool  `json:"online"`
	}
	alice.say(conv.ID, "first")
	b2.expect("conversation.updated", "presence")
	b2.expect("message.created", "presence")
	a1.expect("message.created", "presence")
	a3.expect("message.created", "presence")
	var pres struct{ Presence []struct{ Online bool } }
	c.on(1, bob).must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d", alice.ID), nil).decode(t, &pres)
	if len(pres.Presence) != 1 || !pres.Presence[0].Online {
		t.Fatalf("alice, connected to nodes 1 and 3, is not online for bob on node 2: %+v", pres)
	}

	// a burst of messages from both sides, by POST on one node and frames on another
	for i := range 20 {
		c.on(2, alice).say(conv.ID, fmt.Sprint("a", i))
		b2.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": fmt.Sprint("b", i), "body": fmt.Sprint("b", i)})
	}
	for _, w := range []*wsClient{a1, a3, b2} {
		seen := map[int64]int{}
		for len(seen) < 40 {
			f := w.expect("message.created", "presence", "receipt")
			var m struct{ Message message }
			f.decode(t, &m)
			seen[m.Message.Seq]++
		}
		for seq, n := range seen {
			if n != 1 || seq < 2 || seq > 41 {
				t.Fatalf("seq %d delivered %d times", seq, n)
			}
		}
	}

	// receipts and typing cross nodes
	c.on(2, alice).say(conv.ID, "last") // seq 42
	for _, w := range []*wsClient{a1, a3, b2} {
		w.expect("message.created", "presence", "receipt")
	}
	b2.send("receipt", map[string]any{"conversation_id": conv.ID, "read_seq": 42})
	a3.expect("receipt", "presence", "message.created")
	b2.send("typing", map[string]any{"conversation_id": conv.ID})
	a1.expect("typing", "presence", "receipt")
	a3.expect("typing", "presence", "receipt")

	// every connection got each event once: nothing more is queued
	for _, w := range []*wsClient{a1, a3, b2} {
		w.quiet(300*time.Millisecond, "presence", "receipt")
	}

	// alice goes offline everywhere: bob on node 2 hears it
	a1.c.CloseNow()
	a3.c.CloseNow()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f := <-b2.frames:
			if f.Type == "presence" {
				f.decode(t, &p)
				if p.UserID == alice.ID && !p.Online {
					return
				}
			}
		case <-deadline:
			t.Fatal("bob never saw alice go offline")
		}
	}
}

// slowBind delays every binding of a conversation topic, as a broker far
// away or under load would.
type slowBind struct {
	event.Bus
	delay time.Duration
}

func (b slowBind) Subscribe(ctx context.Context, topic string) error {
	if strings.HasPrefix(topic, "c.") {
		time.Sleep(b.delay)
	}
	return b.Bus.Subscribe(ctx, topic)
}

// slowBindOn makes node's bus bind conversation topics delay late.
func slowBindOn(node string, delay time.Duration) func(*server.Options) {
	return func(o *server.Options) {
		if o.NodeID != node {
			return
		}
		newBus := o.NewBus
		o.NewBus = func(h event.Handler) (event.Bus, error) {
			b, err := newBus(h)
			return slowBind{Bus: b, delay: delay}, err
		}
	}
}

// TestClusterJoinCatchUp: a message sent into a conversation the moment a
// member on another node joins it (a new direct chat, a group they were
// added to) reaches them exactly once, though their node binds the
// conversation's topic only after the bus routed the message.
func TestClusterJoinCatchUp(t *testing.T) {
	c := newCluster(t, 2, testAMQP(), slowBindOn("node2", 400*time.Millisecond))
	n1, n2 := c.nodes[0], c.nodes[1]
	alice, bob := n1.user("alice"), n2.user("bob")
	bw := n2.dial(bob.Token)
	// collect counts want message.created frames of conv by seq, with only
	// the ignored types besides, and then that nothing more comes
	collect := func(w *wsClient, conv int64, want int, ignore ...string) map[int64]int {
		t.Helper()
		seqs := map[int64]int{}
		deadline := time.After(10 * time.Second)
		for n := 0; n < want; {
			select {
			case f := <-w.frames:
				if f.Type != "message.created" {
					if !slices.Contains(ignore, f.Type) {
						t.Fatalf("unexpected %s frame %s", f.Type, f.Data)
					}
					continue
				}
				var m struct{ Message message }
				f.decode(t, &m)
				if m.Message.ConversationID != conv {
					t.Fatalf("message of conversation %d, want %d", m.Message.ConversationID, conv)
				}
				seqs[m.Message.Seq]++
				n++
			case <-deadline:
				t.Fatalf("%d of %d messages arrived: %v", n, want, seqs)
			}
		}
		w.quiet(time.Second, ignore...) // and no copies after
		return seqs
	}

	// a new direct chat, and a message into it at once
	conv := alice.direct(c.on(1, bob))
	alice.say(conv.ID, "hi")
	alice.say(conv.ID, "are you there?")
	if got := collect(bw, conv.ID, 2, "presence", "conversation.updated"); got[1] != 1 || got[2] != 1 {
		t.Fatalf("bob's deliveries by seq: %v", got)
	}
	// the bound conversation carries on as usual
	alice.say(conv.ID, "third")
	if got := collect(bw, conv.ID, 1, "presence", "conversation.updated", "receipt"); got[3] != 1 {
		t.Fatalf("bob's deliveries by seq: %v", got)
	}

	// added to a group, and a message into its channel at once
	var g struct{ Group groupOut }
	alice.must(201, "POST", "/api/v1/groups", map[string]any{"name": "Team"}).decode(t, &g)
	gen := g.Group.Channels[0].ID
	alice.say(gen, "before bob") // history, not replayed as new
	alice.must(201, "POST", fmt.Sprintf("/api/v1/groups/%d/members", g.Group.ID), map[string]any{"user_id": bob.ID})
	alice.say(gen, "welcome")
	// the group's shared fields may follow the join, as on one node: the
	// events of the add travel in one envelope, read after the join routed
	// the group to bob
	if got := collect(bw, gen, 1, "presence", "group.updated", "group.changed", "conversation.updated"); got[2] != 1 || len(got) != 1 {
		t.Fatalf("bob's deliveries in the channel by seq: %v", got)
	}
}

// TestClusterChannelCatchUpOneRead: a channel made in a group whose
// members are on another node, and a message into it at once. Every member
// gets the message exactly once, and their node runs one catch-up for the
// event, not one per member (TestCatchUpCostIsFlat counts its queries).
func TestClusterChannelCatchUpOneRead(t *testing.T) {
	c := newCluster(t, 2, testAMQP(), slowBindOn("node2", 400*time.Millisecond))
	n1, n2 := c.nodes[0], c.nodes[1]
	owner := n1.user("owner")
	var g struct{ Group groupOut }
	owner.must(201, "POST", "/api/v1/groups", map[string]any{"name": "Team"}).decode(t, &g)
	const members = 12
	var socks []*wsClient
	for i := range members {
		m := n2.user(fmt.Sprintf("member%d", i))
		owner.must(201, "POST", fmt.Sprintf("/api/v1/groups/%d/members", g.Group.ID), map[string]any{"user_id": m.ID})
		socks = append(socks, n2.dial(m.Token))
	}
	runs := func() float64 {
		t.Helper()
		for _, line := range strings.Split(string(n2.client().must(200, "GET", "/metrics", nil).Body), "\n") {
			if v, ok := strings.CutPrefix(line, "parley_catchup_runs_total "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
		}
		t.Fatal("no parley_catchup_runs_total")
		return 0
	}
	// copies counts the message.created frames of conversation conv that w
	// gets until wait has passed with none, or until the deadline
	copies := func(w *wsClient, conv int64, wait time.Duration) int {
		n := 0
		deadline := time.After(10 * time.Second)
		for {
			select {
			case f := <-w.frames:
				if f.Type == "message.created" {
					var m struct{ Message message }
					f.decode(t, &m)
					if m.Message.ConversationID == conv {
						n++
					}
				}
			case <-time.After(wait):
				if conv == 0 || n > 0 {
					return n
				}
			case <-deadline:
				return n
			}
		}
	}
	for _, w := range socks {
		copies(w, 0, 300*time.Millisecond) // the setup's frames
	}
	before := runs()

	var ch struct{ Conversation conversation }
	owner.must(201, "POST", fmt.Sprintf("/api/v1/groups/%d/channels", g.Group.ID), map[string]any{"name": "launch"}).decode(t, &ch)
	owner.say(ch.Conversation.ID, "first!")
	for i, w := range socks {
		if n := copies(w, ch.Conversation.ID, 500*time.Millisecond); n != 1 {
			t.Fatalf("member %d got the channel's first message %d times", i, n)
		}
	}
	if n := runs() - before; n != 1 {
		t.Fatalf("%v catch-ups for one channel's %d members, want 1", n, members)
	}
}

// TestClusterGroupRemoval: a removal on node 1 stops a member's sockets on
// node 2 at once.
func TestClusterGroupRemoval(t *testing.T) {
	c := newCluster(t, 2, testAMQP())
	n1, n2 := c.nodes[0], c.nodes[1]
	owner, member := n1.user("owner"), n2.user("member")
	var g struct{ Group groupOut }
	owner.must(201, "POST", "/api/v1/groups", map[string]any{"name": "Team"}).decode(t, &g)
	mw := n2.dial(member.Token)
	owner.must(201, "POST", fmt.Sprintf("/api/v1/groups/%d/members", g.Group.ID), map[string]any{"user_id": member.ID})
	mw.expect("group.updated", "presence")
	gen := g.Group.Channels[0].ID
	owner.say(gen, "welcome")
	mw.expect("message.created", "presence", "group.changed") // the add's shared fields may follow its join

	owner.must(204, "DELETE", fmt.Sprintf("/api/v1/groups/%d/members/%d", g.Group.ID, member.ID), nil)
	mw.expect("conversation.removed", "presence", "group.updated")
	mw.expect("group.removed", "presence")
	owner.say(gen, "after")
	mw.quiet(500*time.Millisecond, "presence")
	c.on(1, member).must(404, "GET", fmt.Sprintf("/api/v1/groups/%d", g.Group.ID), nil)
}

// TestClusterConcurrentChanges: edits on node 1 and reactions on node 2 to
// the same message, at once. Every client, keeping the highest version it
// has seen, ends on the same state as the database: the highest version.
func TestClusterConcurrentChanges(t *testing.T) {
	c := newCluster(t, 2, testAMQP())
	n1, n2 := c.nodes[0], c.nodes[1]
	alice, bob := n1.user("alice"), n2.user("bob")
	conv := alice.direct(c.on(1, bob))
	m := alice.say(conv.ID, "v1")
	aw, bw := n1.dial(alice.Token), n2.dial(bob.Token)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 15 {
			alice.must(200, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": fmt.Sprint("edit ", i)})
		}
	})
	wg.Go(func() {
		for _, em := range []string{"😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰"} {
			c.on(1, bob).must(204, "PUT", msgPath(conv.ID, m.Seq, "/reactions/"+url.PathEscape(em)), nil)
		}
	})
	wg.Wait()
	final := alice.message(conv.ID, m.Seq)
	if final.Version != 31 {
		t.Fatalf("version %d after 30 changes, want 31", final.Version)
	}
	for _, w := range []*wsClient{aw, bw} {
		best := fullMessage{}
		for best.Version < final.Version {
			var up struct{ Message fullMessage }
			w.expect("message.updated", "presence", "message.created", "receipt").decode(t, &up)
			if up.Message.Version > best.Version {
				best = up.Message
			}
		}
		if best.Body != final.Body || len(best.Reactions) != len(final.Reactions) {
			t.Fatalf("a client ended on %+v, the database on %+v", best, final)
		}
	}
}

// TestClusterFiles: a file uploaded through one node is read through the
// other (the default store in a cluster is Postgres), its thumbnail
// reaches a client of the other node, and a delete through the other node
// takes its bytes.
func TestClusterFiles(t *testing.T) {
	c := newCluster(t, 2, testAMQP())
	n1, n2 := c.nodes[0], c.nodes[1]
	alice, bob := n1.user("alice"), n2.user("bob")
	conv := alice.direct(c.on(1, bob))
	bw := n2.dial(bob.Token)
	img := alice.uploaded("photo.png", pngOf(t, 800, 600))
	var sent struct{ Message struct{ Seq int64 } }
	alice.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), map[string]any{"client_id": "c1", "upload_ids": []int64{img.ID}}).decode(t, &sent)
	bw.expect("message.created", "presence", "conversation.updated")
	if r := bob.get(img.URL); r.Status != 200 || len(r.Body) != int(img.Size) {
		t.Fatalf("through the other node: %d, %d bytes", r.Status, len(r.Body))
	}
	var up struct {
		Message struct{ Attachments []attachment }
	}
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	if len(up.Message.Attachments) != 1 || up.Message.Attachments[0].ThumbnailURL == nil {
		t.Fatalf("update %+v", up.Message)
	}
	if r := bob.get(*up.Message.Attachments[0].ThumbnailURL); r.Status != 200 {
		t.Fatalf("thumbnail through the other node: %d", r.Status)
	}
	c.on(1, alice).must(204, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", conv.ID, sent.Message.Seq), nil)
	alice.must(404, "GET", img.URL, nil)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var chunks int
		n1.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM file_chunks").Scan(&chunks)
		if chunks == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d chunks left after the delete", chunks)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterPush: with two nodes working the same queue, each push goes
// out once, whichever node takes it; a user online on either node is not
// pushed.
func TestClusterPush(t *testing.T) {
	ps := newPushService(t)
	c := newCluster(t, 2, testAMQP(), func(o *server.Options) { pusher(t, o) })
	e1 := c.nodes[0]
	bob := e1.user("bob")
	bob.must(201, "POST", "/api/v1/push/subscriptions", ps.subscription("bob"))
	var convs []int64
	for i := range 6 {
		u := c.on(i%2, e1.user(fmt.Sprintf("sender%d", i)))
		conv := u.direct(bob)
		convs = append(convs, conv.ID)
		u.say(conv.ID, fmt.Sprintf("hello %d", i))
	}
	ps.waitFor(6)
	waitPushQueue(t, e1)
	time.Sleep(200 * time.Millisecond)
	got := ps.received()
	seen := map[int64]int{}
	for _, g := range got {
		seen[g.Payload.ConversationID]++
	}
	for _, id := range convs {
		if seen[id] != 1 {
			t.Fatalf("conversation %d pushed %d times: %+v", id, seen[id], got)
		}
	}
	// online through node 2: no push from either node
	w := c.nodes[1].dial(bob.Token)
	defer w.c.CloseNow()
	late := c.on(0, e1.user("late"))
	late.say(late.direct(bob).ID, "while online")
	waitPushQueue(t, e1)
	time.Sleep(200 * time.Millisecond)
	if n := len(ps.received()); n != 6 {
		t.Fatalf("%d pushes with bob online on node 2", n)
	}
}

// TestClusterSessionRevocation: each node answers tokens from memory, and a
// revocation made on one node ends access on the other at once (through the
// bus), long before the cache would have expired: logout, password change,
// token deletion, deactivation; a new role takes effect the same way.
func TestClusterSessionRevocation(t *testing.T) {
	c := newCluster(t, 2, testAMQP(), func(o *server.Options) { o.SessionCache = time.Hour })
	n1 := c.nodes[0]
	root := n1.user("root") // the first account: site admin
	// refused reports whether node 2 stops accepting u within 3 s
	refused := func(u *user, path string, want int) {
		t.Helper()
		on2 := c.on(1, u)
		deadline := time.Now().Add(3 * time.Second)
		for {
			r := on2.do("GET", path, nil)
			if r.Status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("node 2 still answers %s with %d, want %d", path, r.Status, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	cached := func(u *user) {
		t.Helper()
		c.on(1, u).must(200, "GET", "/api/v1/me", nil) // node 2 caches the session
	}

	alice := n1.user("alice")
	cached(alice)
	alice.must(204, "POST", "/api/v1/auth/logout", nil)
	refused(alice, "/api/v1/me", 401)

	bob := n1.user("bob")
	other := c.on(0, bob)
	var again authOut
	other.must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "correct horse"}).decode(t, &again)
	second := &user{client: n1.client(), ID: bob.ID, Username: "bob", Token: again.Token}
	second.client.token = again.Token
	cached(second)
	bob.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "correct horse", "new_password": "battery staple"})
	refused(second, "/api/v1/me", 401)
	c.on(1, bob).must(200, "GET", "/api/v1/me", nil) // the session that changed it stays

	carol := n1.user("carol")
	var made struct {
		Token  tokenOut
		Secret string
	}
	carol.must(201, "POST", "/api/v1/me/tokens", map[string]any{"name": "deploys"}).decode(t, &made)
	tok := &user{client: n1.client(), ID: carol.ID, Username: "carol", Token: made.Secret}
	tok.client.token = made.Secret
	cached(tok)
	carol.must(204, "DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", made.Token.ID), nil)
	refused(tok, "/api/v1/me", 401)

	dave := n1.user("dave")
	cached(dave)
	c.on(1, dave).must(403, "GET", "/api/v1/admin/users", nil)
	root.must(200, "PATCH", fmt.Sprintf("/api/v1/admin/users/%d", dave.ID), map[string]any{"role": "admin"})
	refused(dave, "/api/v1/admin/users", 200)
	root.must(200, "PATCH", fmt.Sprintf("/api/v1/admin/users/%d", dave.ID), map[string]any{"deactivated": true})
	refused(dave, "/api/v1/me", 401)
}

// TestClusterViewersOfLargeChannel: in a channel of more than 100 members,
// typing and the group's presence cross nodes to the connections viewing
// it, and to no other; messages still reach every connection.
func TestClusterViewersOfLargeChannel(t *testing.T) {
	c := newCluster(t, 2, testAMQP())
	n1, n2 := c.nodes[0], c.nodes[1]
	owner, member, late := n1.user("owner"), n2.user("member"), n1.user("late")
	var g struct{ Group groupOut }
	owner.must(201, "POST", "/api/v1/groups", map[string]any{"name": "Crowd"}).decode(t, &g)
	add := func(id int64) {
		owner.must(201, "POST", fmt.Sprintf("/api/v1/groups/%d/members", g.Group.ID), map[string]any{"user_id": id})
	}
	add(member.ID)
	add(late.ID)
	for i := range 98 { // 3 + 98 = 101
		add(n1.user(fmt.Sprintf("crowd%03d", i)).ID)
	}
	gen := g.Group.Channels[0].ID

	viewer := n2.dial(member.Token)
	other := n2.dial(member.Token) // the same user, on a connection that views nothing
	viewer.send("viewing", map[string]any{"conversation_id": gen})
	viewer.send("ping", map[string]any{})
	viewer.expect("pong", "presence") // frames are handled in order: the viewing is recorded

	ow := n1.dial(owner.Token)
	ow.send("typing", map[string]any{"conversation_id": gen})
	var ty struct {
		ConversationID int64 `json:"conversation_id"`
		UserID         int64 `json:"user_id"`
	}
	viewer.expect("typing", "presence").decode(t, &ty)
	if ty.UserID != owner.ID || ty.ConversationID != gen {
		t.Fatalf("typing %+v", ty)
	}

	// presence of a member coming online, on the other node
	n1.dial(late.Token)
	for {
		var p struct {
			UserID int64 `json:"user_id"`
			Online bool  `json:"online"`
		}
		viewer.expect("presence").decode(t, &p)
		if p.UserID == late.ID && p.Online {
			break
		}
	}
	other.quiet(500 * time.Millisecond) // neither typing nor presence

	owner.say(gen, "to the crowd")
	viewer.expect("message.created", "presence")
	other.expect("message.created")

	// no longer viewing: no typing
	viewer.send("viewing", map[string]any{"conversation_id": nil})
	viewer.send("ping", map[string]any{})
	viewer.expect("pong", "presence")
	n1.dial(late.Token).send("typing", map[string]any{"conversation_id": gen})
	viewer.quiet(500*time.Millisecond, "presence")

	// a conversation one is not in
	viewer.send("viewing", map[string]any{"conversation_id": gen + 1000})
	var e struct{ Code string }
	viewer.expect("error", "presence").decode(t, &e)
	if e.Code != "not_found" {
		t.Fatalf("viewing a conversation one is not in: %s", e.Code)
	}
}
