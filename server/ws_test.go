package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/chat"
)

func TestWebSocketAuth(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	url := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/api/v1/ws"
	ctx := context.Background()

	_, res, err := websocket.Dial(ctx, url, nil)
	if err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("no session: %v %v", res, err)
	}
	_, res, err = websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer nope"}}})
	if err == nil || res.StatusCode != 401 {
		t.Fatalf("bad token: %v", err)
	}
	// a cookie upgrade from a foreign page is refused before upgrading
	cookie := http.Header{"Cookie": {server.CookieName + "=" + alice.Token}, "Origin": {"https://evil.example"}}
	_, res, err = websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: cookie})
	if err == nil || res.StatusCode != 403 {
		t.Fatalf("cross-origin cookie upgrade: %v", err)
	}
	// the same cookie from the page's own origin works
	cookie.Set("Origin", e.ts.URL)
	w := e.dialRaw("", cookie)
	var hello struct {
		UserID     int64  `json:"user_id"`
		Node       string `json:"node"`
		HeartbeatS int    `json:"heartbeat_s"`
	}
	w.expect("hello").decode(t, &hello)
	if hello.UserID != alice.ID || hello.Node != "test" || hello.HeartbeatS <= 0 {
		t.Fatalf("hello %+v", hello)
	}
	// bearer from anywhere is fine
	e.dialRaw(alice.Token, http.Header{"Origin": {"https://bot.example"}}).expect("hello")
}

func TestWebSocketMessaging(t *testing.T) {
	e := newEnv(t)
	alice, bob, eve := e.user("alice"), e.user("bob"), e.user("eve")
	conv := alice.direct(bob)
	a1, a2 := e.dial(alice.Token), e.dial(alice.Token) // two tabs
	b1 := e.dial(bob.Token)
	ev := e.dial(eve.Token)

	// send by frame: exactly one message.created on the sending connection
	a1.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "w1", "body": "hello bob"})
	var got struct{ Message message }
	a1.expect("message.created").decode(t, &got)
	if got.Message.ClientID != "w1" || got.Message.Seq != 1 || got.Message.SenderID != alice.ID {
		t.Fatalf("message.created %+v", got.Message)
	}
	// every connection of both members gets it; bob learns of the conversation
	a2.expect("message.created")
	// bob learns of the conversation first, then gets its message
	b1.expect("conversation.updated")
	b1.expect("message.created")

	// a retry of the frame: one more message.created on that connection only
	a1.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "w1", "body": "hello bob"})
	a1.expect("message.created").decode(t, &got)
	if got.Message.Seq != 1 {
		t.Fatalf("retry made a new message: %+v", got.Message)
	}
	a2.quiet(300*time.Millisecond, "presence")
	b1.quiet(100*time.Millisecond, "presence")

	// receipts by frame: pushed to every member, the reader's own other devices included
	b1.send("receipt", map[string]any{"conversation_id": conv.ID, "delivered_seq": 1})
	var r struct {
		ConversationID int64 `json:"conversation_id"`
		UserID         int64 `json:"user_id"`
		DeliveredSeq   int64 `json:"delivered_seq"`
		ReadSeq        int64 `json:"read_seq"`
	}
	a1.expect("receipt", "presence").decode(t, &r)
	if r.UserID != bob.ID || r.DeliveredSeq != 1 || r.ReadSeq != 0 {
		t.Fatalf("receipt %+v", r)
	}
	b1.expect("receipt", "presence")

	// POST sends reach sockets too
	bob.say(conv.ID, "hi alice")
	for _, w := range []*wsClient{a1, a2, b1} {
		w.expect("message.created", "presence", "receipt")
	}

	// typing goes to the other members only
	b1.send("typing", map[string]any{"conversation_id": conv.ID})
	var ty struct {
		ConversationID int64 `json:"conversation_id"`
		UserID         int64 `json:"user_id"`
	}
	a1.expect("typing", "presence").decode(t, &ty)
	a2.expect("typing", "presence")
	if ty.UserID != bob.ID || ty.ConversationID != conv.ID {
		t.Fatalf("typing %+v", ty)
	}
	b1.send("typing", map[string]any{"conversation_id": conv.ID}) // within 2 s: dropped
	b1.quiet(300*time.Millisecond, "presence")
	a1.quiet(200*time.Millisecond, "presence")

	// the stranger received nothing at all, and can do nothing
	ev.quiet(100*time.Millisecond, "presence")
	ev.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "e1", "body": "let me in"})
	var er struct{ Code, Message, ClientID string }
	ev.expect("error").decode(t, &er)
	if er.Code != "not_found" {
		t.Fatalf("stranger send: %+v", er)
	}
	ev.send("typing", map[string]any{"conversation_id": conv.ID})
	ev.expect("error")
	ev.send("receipt", map[string]any{"conversation_id": conv.ID, "read_seq": 1})
	ev.expect("error")
	a1.quiet(200*time.Millisecond, "presence")
	if c := alice.conversation(conv.ID); c.LastSeq != 2 {
		t.Fatalf("stranger changed the conversation: %+v", c)
	}
}

func TestWebSocketBadFrames(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	w := e.dial(alice.Token)
	var er struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		ClientID string `json:"client_id"`
	}
	cases := []struct{ frame, code, clientID string }{
		{`not json`, "invalid_json", ""},
		{`{"type": 5}`, "invalid_json", ""},
		{`[]`, "invalid_json", ""},
		{`{"type":"launch.missiles","data":{}}`, "unknown_type", ""},
		{`{"type":"message.send","data":"x"}`, "invalid_json", ""},
		{fmt.Sprintf(`{"type":"message.send","data":{"conversation_id":%d,"client_id":"c9","body":"   "}}`, conv.ID), "validation_failed", "c9"},
		{fmt.Sprintf(`{"type":"message.send","data":{"conversation_id":%d,"client_id":"","body":"hi"}}`, conv.ID), "validation_failed", ""},
		{`{"type":"message.send","data":{"conversation_id":999999,"client_id":"c8","body":"hi"}}`, "not_found", "c8"},
		{fmt.Sprintf(`{"type":"receipt","data":{"conversation_id":%d}}`, conv.ID), "validation_failed", ""},
		{`{"type":"typing","data":{"conversation_id":"x"}}`, "invalid_json", ""},
		{`{"type":"viewing","data":{"conversation_id":"x"}}`, "invalid_json", ""},
		{`{"type":"viewing","data":{"conversation_id":999999}}`, "not_found", ""},
	}
	for _, c := range cases {
		w.sendRaw(c.frame)
		er.ClientID = ""
		w.expect("error").decode(t, &er)
		if er.Code != c.code || er.ClientID != c.clientID || er.Message == "" {
			t.Errorf("%s: got %+v, want %s/%s", c.frame, er, c.code, c.clientID)
		}
	}
	// the connection stays open and useful
	w.send("ping", map[string]any{})
	w.expect("pong")
	w.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "ok", "body": "still here"})
	w.expect("message.created")

	// a legal message however escaped fits (4000 × \u escapes is 24 KB)...
	w.sendRaw(fmt.Sprintf(`{"type":"message.send","data":{"conversation_id":%d,"client_id":"esc","body":"%s"}}`, conv.ID, strings.Repeat(`\u00e9`, 4000)))
	w.expect("message.created")
	// ...and a NUL is a validation error, not a server error
	w.sendRaw(fmt.Sprintf(`{"type":"message.send","data":{"conversation_id":%d,"client_id":"nul","body":"a\u0000b"}}`, conv.ID))
	er.ClientID = ""
	w.expect("error").decode(t, &er)
	if er.Code != "validation_failed" || er.ClientID != "nul" {
		t.Fatalf("NUL in a frame: %+v", er)
	}
	// a frame over the 64 KiB read limit closes the connection (1009)
	w.sendRaw(`{"type":"ping","data":{"pad":"` + strings.Repeat("x", 65<<10) + `"}}`)
	if code := w.waitClosed(); code != websocket.StatusMessageTooBig {
		t.Fatalf("oversized frame: close %d", code)
	}
}

func TestWebSocketRateLimits(t *testing.T) {
	e := newEnv(t, func(o *server.Options) {
		o.Limits.Send = chat.Rate{Per: 0.01, Burst: 3}
		o.FrameRate = chat.Rate{Per: 0.01, Burst: 8}
	})
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	alice.must(201, "POST", path, map[string]any{"client_id": "first", "body": "x"})
	for range 2 {
		alice.say(conv.ID, "x")
	}
	r := alice.must(429, "POST", path, map[string]any{"client_id": "over", "body": "x"})
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// a retry of a stored message is answered with it, limit or not
	alice.must(200, "POST", path, map[string]any{"client_id": "first", "body": "x"})
	w := e.dial(alice.Token)
	w.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "over2", "body": "x"})
	var er struct {
		Code     string `json:"code"`
		ClientID string `json:"client_id"`
	}
	w.expect("error").decode(t, &er)
	if er.Code != "rate_limited" || er.ClientID != "over2" {
		t.Fatalf("send over the limit: %+v", er)
	}
	// frames: 8 allowed, then rate_limited errors, and the socket stays open
	for range 10 {
		w.send("ping", nil)
	}
	pongs, limited := 0, 0
	for range 10 {
		switch f := w.next(); f.Type {
		case "pong":
			pongs++
		case "error":
			limited++
		}
	}
	if pongs != 7 || limited != 3 { // one frame went to the send above
		t.Fatalf("pongs %d, rate_limited %d", pongs, limited)
	}
	// a refused send names its client_id
	w.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "late", "body": "x"})
	w.expect("error").decode(t, &er)
	if er.Code != "rate_limited" || er.ClientID != "late" {
		t.Fatalf("rate-limited send: %+v", er)
	}
}

func TestPresence(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	// carol and alice are each other's contacts; bob and alice have both
	// written in their direct chat (Presence v1.1)
	carol.must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": alice.ID})
	alice.must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": carol.ID})
	conv := bob.direct(alice)
	bob.say(conv.ID, "hi")
	alice.say(conv.ID, "hello")

	bw, cw := e.dial(bob.Token), e.dial(carol.Token)
	type pres struct {
		UserID   int64   `json:"user_id"`
		Online   bool    `json:"online"`
		LastSeen *string `json:"last_seen"`
	}
	get := func(u *user) map[int64]pres {
		var out struct{ Presence []pres }
		u.must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d,%d,%d", alice.ID, bob.ID, carol.ID), nil).decode(t, &out)
		m := map[int64]pres{}
		for _, p := range out.Presence {
			m[p.UserID] = p
		}
		return m
	}
	if p := get(carol); len(p) != 2 || p[alice.ID].Online || !p[carol.ID].Online {
		t.Fatalf("carol's view %+v (alice offline, herself online, bob not visible)", p)
	}
	if _, ok := get(carol)[bob.ID]; ok {
		t.Fatal("carol sees bob, who is neither contact nor peer")
	}

	a1 := e.dial(alice.Token)
	var p pres
	bw.expect("presence").decode(t, &p)
	if p.UserID != alice.ID || !p.Online {
		t.Fatalf("bob got %+v", p)
	}
	cw.expect("presence").decode(t, &p)
	if !get(bob)[alice.ID].Online {
		t.Fatal("alice not online for bob")
	}

	// a second tab changes nothing; closing one of two changes nothing
	a2 := e.dial(alice.Token)
	a1.c.Close(websocket.StatusNormalClosure, "")
	bw.quiet(300 * time.Millisecond)
	if !get(bob)[alice.ID].Online {
		t.Fatal("alice offline while a tab is open")
	}
	// closing the last one: offline, with last_seen
	a2.c.Close(websocket.StatusNormalClosure, "")
	bw.expect("presence").decode(t, &p)
	if p.Online || p.LastSeen == nil {
		t.Fatalf("offline event %+v", p)
	}
	cw.expect("presence")
	if q := get(bob)[alice.ID]; q.Online || q.LastSeen == nil {
		t.Fatalf("after close: %+v", q)
	}
	for _, bad := range []string{"", "x", "1,,-2", strings.Repeat("1,", 201) + "1"} {
		bob.must(400, "GET", "/api/v1/presence?user_ids="+bad, nil)
	}
}

func TestConversationEventsReachOwnDevices(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	other := e.dial(alice.Token)
	conv := alice.direct(bob)
	var cu struct{ Conversation conversation }
	other.expect("conversation.updated").decode(t, &cu)
	if cu.Conversation.ID != conv.ID {
		t.Fatalf("new conversation event %+v", cu)
	}
	alice.must(200, "PATCH", fmt.Sprintf("/api/v1/conversations/%d", conv.ID), map[string]any{"pinned": true})
	other.expect("conversation.updated").decode(t, &cu)
	if !cu.Conversation.Pinned {
		t.Fatal("flag change not pushed")
	}
	// the new conversation's events reach the other device
	bob.say(conv.ID, "hi")
	other.expect("message.created", "presence")
	alice.must(204, "DELETE", fmt.Sprintf("/api/v1/conversations/%d", conv.ID), nil)
	var rm struct {
		ConversationID int64 `json:"conversation_id"`
	}
	other.expect("conversation.removed", "presence").decode(t, &rm)
	if rm.ConversationID != conv.ID {
		t.Fatal(rm)
	}
	// a new message brings it back, live: first the conversation, then the message
	bob.say(conv.ID, "again")
	other.expect("conversation.updated", "presence")
	other.expect("message.created", "presence")
}

func TestLogoutClosesSockets(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	w := e.dial(alice.Token)
	alice.must(204, "POST", "/api/v1/auth/logout", nil)
	if code := w.waitClosed(); code != 4001 {
		t.Fatalf("close code %d, want 4001 (session ended)", code)
	}
}

func TestSlowConsumerIsClosed(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	// bob never reads: his buffers fill, and the server must close him
	// rather than slow alice down
	h := http.Header{"Authorization": {"Bearer " + bob.Token}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slow, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	fast := e.dial(alice.Token)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	big := strings.Repeat("€", 4000) // 12 KB: outgrow the socket buffers soon
	start := time.Now()
	for i := range 900 {
		alice.must(201, "POST", path, map[string]any{"client_id": fmt.Sprint(i), "body": big})
		fast.expect("message.created", "presence")
	}
	t.Logf("900 sends with a stalled reader took %v", time.Since(start))
	m := string(alice.must(200, "GET", "/metrics", nil).Body)
	if !strings.Contains(m, "parley_ws_slow_consumer_closes_total 1") {
		t.Fatal("the stalled connection was not closed as a slow consumer")
	}
}

func TestShutdownClosesSocketsGoingAway(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	w := e.dial(alice.Token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := w.waitClosed(); code != websocket.StatusGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
}

// TestManyClients runs many users with several connections each, chatting
// in pairs at once: every message reaches every connection of both members
// exactly once.
func TestManyClients(t *testing.T) {
	e := newEnv(t)
	const pairs, tabs, perUser = 10, 2, 20
	type member struct {
		u     *user
		conns []*wsClient
	}
	var ms [][2]member
	var convs []int64
	for p := range pairs {
		a, b := e.user(fmt.Sprintf("user-a%d", p)), e.user(fmt.Sprintf("user-b%d", p))
		conv := a.direct(b)
		b.direct(a)
		pair := [2]member{{u: a}, {u: b}}
		for i := range pair {
			for range tabs {
				pair[i].conns = append(pair[i].conns, e.dial(pair[i].u.Token))
			}
		}
		ms = append(ms, pair)
		convs = append(convs, conv.ID)
	}
	var wg sync.WaitGroup
	for p := range pairs {
		for side := range 2 {
			wg.Go(func() {
				w := ms[p][side].conns[0]
				for i := range perUser {
					w.send("message.send", map[string]any{"conversation_id": convs[p], "client_id": fmt.Sprintf("%d-%d", side, i), "body": "x"})
				}
			})
		}
	}
	wg.Wait()
	for p := range pairs {
		for side := range 2 {
			for _, w := range ms[p][side].conns {
				seen := map[int64]int{}
				for len(seen) < 2*perUser {
					f := w.next()
					if f.Type != "message.created" {
						continue
					}
					var m struct{ Message message }
					f.decode(t, &m)
					if m.Message.ConversationID != convs[p] {
						t.Fatalf("pair %d got a message of conversation %d", p, m.Message.ConversationID)
					}
					seen[m.Message.Seq]++
				}
				for seq, n := range seen {
					if n != 1 || seq < 1 || seq > 2*perUser {
						t.Fatalf("pair %d: seq %d delivered %d times", p, seq, n)
					}
				}
				w.quiet(100*time.Millisecond, "presence", "conversation.updated")
			}
		}
	}
}

// TestFrameFloodGetsErrorsNotADisconnect: a client that sends 500 pings in
// a row (and reads) gets pongs and rate_limited errors, and keeps its
// socket: refusals are dropped when its queue is full, never a reason to
// close it.
func TestFrameFloodGetsErrorsNotADisconnect(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.FrameRate = server.DefaultFrameRate })
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	w := e.dial(bob.Token)
	for range 500 {
		w.send("ping", nil)
	}
	alice.say(conv.ID, "still here?")
	pongs, limited := 0, 0
	for {
		f := w.next()
		switch f.Type {
		case "pong":
			pongs++
		case "error":
			limited++
			continue
		case "message.created":
		default:
			continue
		}
		if f.Type == "message.created" {
			break
		}
	}
	if pongs == 0 || limited == 0 {
		t.Fatalf("pongs %d, errors %d", pongs, limited)
	}
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed != nil {
		t.Fatalf("the socket closed: %v", closed)
	}
	t.Logf("500 pings: %d pongs, %d rate_limited", pongs, limited)
}
