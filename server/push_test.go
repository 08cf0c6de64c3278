package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/store/storetest"
)

// waitPushQueue waits until every queued push has been worked through.
func waitPushQueue(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM push_queue").Scan(&n)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes still queued", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPush: an offline user is pushed, encrypted for their browser and
// signed with the server's key; an online one is not; a burst is one push;
// notify levels and mute hold; a gone subscription is deleted; a push
// service that is busy is tried again.
func TestPush(t *testing.T) {
	ps := newPushService(t)
	e := newEnv(t, func(o *server.Options) {
		o.DB = storetest.New(t)
		pusher(t, o)
	})
	alice, bob := e.user("alice"), e.user("bob")
	var key struct {
		PublicKey string `json:"public_key"`
	}
	bob.must(200, "GET", "/api/v1/push/key", nil).decode(t, &key)
	if len(key.PublicKey) < 80 {
		t.Fatalf("public key %q", key.PublicKey)
	}
	ps.vapid = key.PublicKey
	sub := ps.subscription("bob-phone")
	bob.must(201, "POST", "/api/v1/push/subscriptions", sub)
	bob.must(200, "POST", "/api/v1/push/subscriptions", sub) // again: the same one
	// what is not a subscription
	for _, bad := range []map[string]any{
		{"endpoint": "", "keys": map[string]string{"p256dh": "x", "auth": "y"}},
		{"endpoint": "ftp://push.example.com/x", "keys": sub["keys"]},
		{"endpoint": ps.ts.URL + "/push/x", "keys": map[string]string{"p256dh": "AAAA", "auth": "AAAA"}},
	} {
		bob.must(400, "POST", "/api/v1/push/subscriptions", bad)
	}
	(&user{client: e.client()}).must(401, "POST", "/api/v1/push/subscriptions", sub)

	dm := alice.direct(bob)
	// bob has no socket open: he is pushed, with the text, urgently (a direct message)
	m1 := alice.say(dm.ID, "are you there?")
	g := ps.waitFor(1)[0]
	if g.Sub != "bob-phone" || g.Payload.Type != "message" || g.Payload.ConversationID != dm.ID || g.Payload.Seq != m1.Seq ||
		g.Payload.Title != "alice" || g.Payload.Body == nil || *g.Payload.Body != "are you there?" || g.Payload.Count != 1 ||
		g.Urgency != "high" || g.TTL == "" || g.TTL == "0" || g.Topic == "" {
		t.Fatalf("push %+v body %v", g, g.Payload.Body)
	}
	// alice is never pushed her own message; bob online is not pushed at all
	bw := e.dial(bob.Token)
	alice.say(dm.ID, "seen it now")
	waitPushQueue(t, e)
	time.Sleep(100 * time.Millisecond)
	if n := len(ps.received()); n != 1 {
		t.Fatalf("%d pushes with bob online", n)
	}
	bw.c.CloseNow()
	time.Sleep(300 * time.Millisecond) // the server sees the close at once; pushes wait a second besides
	// a burst: one push for all of it (or two, should a tick fall inside it)
	for i := range 5 {
		alice.say(dm.ID, fmt.Sprintf("burst %d", i))
	}
	waitPushQueue(t, e)
	got := ps.waitFor(2)[1:]
	total := 0
	for _, g := range got {
		total += g.Payload.Count
	}
	if len(got) > 2 || total != 5 || *got[len(got)-1].Payload.Body != "burst 4" {
		t.Fatalf("burst pushes %+v", got)
	}
	before := len(ps.received())

	// a channel: notify all / mentions / none, and mute
	var grp struct{ Group groupOut }
	alice.must(201, "POST", "/api/v1/groups", map[string]any{"name": "Team"}).decode(t, &grp)
	alice.must(201, "POST", fmt.Sprintf("/api/v1/groups/%d/members", grp.Group.ID), map[string]any{"user_id": bob.ID, "role": "member"})
	gen := grp.Group.Channels[0].ID
	conv := fmt.Sprintf("/api/v1/conversations/%d", gen)
	bob.must(200, "PATCH", conv, map[string]any{"notify": "mentions"})
	bob.must(400, "PATCH", conv, map[string]any{"notify": "sometimes"})
	if c := bob.conversation(gen); c.Notify != "mentions" {
		t.Fatalf("notify %q", c.Notify)
	}
	alice.say(gen, "a plain message")
	alice.say(gen, "for you @bob")
	waitPushQueue(t, e)
	g = ps.waitFor(before + 1)[before]
	if g.Payload.Title != "#general" || *g.Payload.Body != "alice: for you @bob" || g.Payload.Count != 1 || g.Urgency != "high" {
		t.Fatalf("mention push %+v", g)
	}
	bob.must(200, "PATCH", conv, map[string]any{"notify": "all", "muted": true})
	alice.say(gen, "@bob muted")
	bob.must(200, "PATCH", conv, map[string]any{"notify": "none", "muted": false})
	alice.say(gen, "@bob none")
	waitPushQueue(t, e)
	time.Sleep(100 * time.Millisecond)
	if n := len(ps.received()); n != before+1 {
		t.Fatalf("%d pushes, want %d: muted and none push nothing", n, before+1)
	}

	// busy, then fine: delivered on a later try
	ps.answer("bob-phone", 429)
	alice.say(dm.ID, "after a retry")
	if g := ps.waitFor(before + 2)[before+1]; *g.Payload.Body != "after a retry" {
		t.Fatalf("retried push %+v", g)
	}
	// gone: the subscription is deleted
	ps.answer("bob-phone", 410)
	alice.say(dm.ID, "into the void")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM push_subscriptions").Scan(&n)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the gone subscription is still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// unsubscribing is idempotent
	bob.must(204, "DELETE", "/api/v1/push/subscriptions", map[string]any{"endpoint": sub["endpoint"]})
	bob.must(400, "DELETE", "/api/v1/push/subscriptions", map[string]any{})
}

// TestPushHidden: with PARLEY_PUSH_CONTENT=hidden, a push names the
// conversation only; with push off, the key is 404.
func TestPushHidden(t *testing.T) {
	ps := newPushService(t)
	e := newEnv(t, func(o *server.Options) {
		o.DB = storetest.New(t)
		pusher(t, o)
		o.PushHidden = true
	})
	alice, bob := e.user("alice"), e.user("bob")
	bob.must(201, "POST", "/api/v1/push/subscriptions", ps.subscription("b"))
	dm := alice.direct(bob)
	alice.say(dm.ID, "a secret")
	if g := ps.waitFor(1)[0]; g.Payload.Body != nil || g.Payload.Title != "alice" {
		t.Fatalf("hidden push %+v", g)
	}
	off := newEnv(t)
	off.user("carol").must(404, "GET", "/api/v1/push/key", nil)
}

// TestPushSubscriptionsBounded: a user keeps their newest ten
// subscriptions, and a subscription ends with the session that made it.
func TestPushSubscriptionsBounded(t *testing.T) {
	ps := newPushService(t)
	e := newEnv(t, func(o *server.Options) {
		o.DB = storetest.New(t)
		pusher(t, o)
	})
	carol := e.user("carol")
	for i := range 12 {
		carol.must(201, "POST", "/api/v1/push/subscriptions", ps.subscription(fmt.Sprint("c", i)))
	}
	count := func() (n int) {
		e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM push_subscriptions").Scan(&n)
		return n
	}
	if n := count(); n != 10 {
		t.Fatalf("%d subscriptions kept, want 10", n)
	}
	var left int
	e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM push_subscriptions WHERE endpoint LIKE '%/c0' OR endpoint LIKE '%/c1'").Scan(&left)
	if left != 0 {
		t.Fatal("the oldest subscriptions were kept, newer ones dropped")
	}
	carol.must(204, "POST", "/api/v1/auth/logout", nil)
	if n := count(); n != 0 {
		t.Fatalf("%d subscriptions outlived the session", n)
	}
}
