package server_test

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestUserSearch(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	for i := range 25 {
		e.user(fmt.Sprintf("bob%02d", i))
	}
	c := e.client()
	c.must(201, "POST", "/api/v1/auth/signup", map[string]string{"username": "zed", "password": "password1", "display_name": "Bobby Tables"})

	var out struct{ Users []userOut }
	alice.must(200, "GET", "/api/v1/users?q=bob", nil).decode(t, &out)
	if len(out.Users) != 20 {
		t.Fatalf("%d results, want at most 20", len(out.Users))
	}
	alice.must(200, "GET", "/api/v1/users?q=BOBBY", nil).decode(t, &out)
	if len(out.Users) != 1 || out.Users[0].Username != "zed" {
		t.Fatalf("display-name prefix: %+v", out.Users)
	}
	alice.must(200, "GET", "/api/v1/users?q="+url.QueryEscape("b%"), nil).decode(t, &out)
	if len(out.Users) != 0 {
		t.Fatalf("%% is not a wildcard: %+v", out.Users)
	}
	alice.must(400, "GET", "/api/v1/users?q=", nil)
	e.client().must(401, "GET", "/api/v1/users?q=bob", nil)
}

func TestContacts(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	var one struct {
		Contact struct {
			User  userOut
			Alias *string
		}
	}
	alice.must(201, "POST", "/api/v1/contacts", map[string]any{"username": "BOB", "alias": "  Bobby  "}).decode(t, &one)
	if one.Contact.User.ID != bob.ID || one.Contact.Alias == nil || *one.Contact.Alias != "Bobby" {
		t.Fatalf("added %+v", one.Contact)
	}
	if code, _ := alice.must(409, "POST", "/api/v1/contacts", map[string]any{"user_id": bob.ID}).errCode(t); code != "conflict" {
		t.Fatal(code)
	}
	alice.must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": carol.ID})
	alice.must(404, "POST", "/api/v1/contacts", map[string]any{"username": "nobody"})
	alice.must(400, "POST", "/api/v1/contacts", map[string]any{"user_id": alice.ID})
	alice.must(400, "POST", "/api/v1/contacts", map[string]any{})
	alice.must(400, "POST", "/api/v1/contacts", map[string]any{"user_id": carol.ID, "alias": strings.Repeat("x", 65)})

	var list struct{ Contacts []struct{ User userOut } }
	alice.must(200, "GET", "/api/v1/contacts", nil).decode(t, &list)
	if len(list.Contacts) != 2 {
		t.Fatalf("contacts %+v", list)
	}
	// private: bob's book is his own, and the alias never changes bob's name
	bob.must(200, "GET", "/api/v1/contacts", nil).decode(t, &list)
	if len(list.Contacts) != 0 {
		t.Fatalf("bob sees %+v", list)
	}

	// the alias is the title of alice's direct chat, not bob's
	conv := alice.direct(bob)
	if conv.Title != "Bobby" || conv.Peer.DisplayName != "bob" {
		t.Fatalf("title %q, peer %+v", conv.Title, conv.Peer)
	}
	if bc := bob.direct(alice); bc.Title != "alice" {
		t.Fatalf("bob's title %q", bc.Title)
	}
	alice.must(200, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", bob.ID), map[string]any{"alias": "B."}).decode(t, &one)
	if *one.Contact.Alias != "B." || alice.conversation(conv.ID).Title != "B." {
		t.Fatal("alias not renamed")
	}
	alice.must(200, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", bob.ID), map[string]any{"alias": nil}).decode(t, &one)
	if one.Contact.Alias != nil || alice.conversation(conv.ID).Title != "bob" {
		t.Fatal("alias not cleared")
	}
	alice.must(404, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", 999999), map[string]any{"alias": "x"})
	alice.must(204, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", bob.ID), nil)
	alice.must(404, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", bob.ID), nil)
	alice.must(404, "DELETE", "/api/v1/contacts/abc", nil)
}

func TestDirectGetOrCreate(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	// concurrent creates from both sides make exactly one conversation
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	for i := range ids {
		wg.Go(func() {
			if i%2 == 0 {
				ids[i] = alice.direct(bob).ID
			} else {
				ids[i] = bob.direct(alice).ID
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("several conversations for one pair: %v", ids)
		}
	}
	alice.must(400, "POST", "/api/v1/direct", map[string]any{"user_id": alice.ID})
	alice.must(404, "POST", "/api/v1/direct", map[string]any{"user_id": 999999})

	// listed for its creator at once, for the peer from the first message
	carol, dave := e.user("carol"), e.user("dave")
	conv := carol.direct(dave)
	if len(carol.conversations()) != 1 || len(dave.conversations()) != 0 {
		t.Fatal("a new direct chat must be listed for its creator only")
	}
	carol.say(conv.ID, "hi dave")
	got := dave.conversations()
	if len(got) != 1 || got[0].UnreadCount != 1 || got[0].LastMessage.Body != "hi dave" {
		t.Fatalf("dave's list after the first message: %+v", got)
	}
	if c := got[0]; c.Kind != "direct" || c.Peer.ID != carol.ID || c.MemberCount != 2 || c.PeerDeliveredSeq == nil {
		t.Fatalf("conversation shape %+v", c)
	}
}

func TestSendAndHistory(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)

	// idempotent: a retry returns 200 and the same message
	var first, again struct{ Message message }
	alice.must(201, "POST", path, map[string]any{"client_id": "c-1", "body": "hello"}).decode(t, &first)
	alice.must(200, "POST", path, map[string]any{"client_id": "c-1", "body": "hello"}).decode(t, &again)
	if first.Message != again.Message || first.Message.Seq != 1 {
		t.Fatalf("retry gave %+v, first %+v", again.Message, first.Message)
	}
	// the same client_id from the other member is another message
	bob.must(201, "POST", path, map[string]any{"client_id": "c-1", "body": "hi"})

	bad := []struct {
		body  any
		field string
	}{
		{map[string]any{"client_id": "x", "body": ""}, "body"},
		{map[string]any{"client_id": "x", "body": " \n\t "}, "body"},
		{map[string]any{"client_id": "x", "body": strings.Repeat("ü", 4001)}, "body"},
		{map[string]any{"client_id": "", "body": "hi"}, "client_id"},
		{map[string]any{"client_id": strings.Repeat("c", 65), "body": "hi"}, "client_id"},
		{map[string]any{"body": "hi"}, "client_id"},
	}
	for _, b := range bad {
		code, field := alice.must(400, "POST", path, b.body).errCode(t)
		if code != "validation_failed" || field != b.field {
			t.Errorf("%v: %s %s", b.body, code, field)
		}
	}
	alice.must(201, "POST", path, map[string]any{"client_id": "max", "body": strings.Repeat("ü", 4000)})
	alice.must(413, "POST", path, `{"client_id":"big","body":"`+strings.Repeat("a", 70000)+`"}`)

	// history paging
	for i := range 7 {
		alice.say(conv.ID, fmt.Sprintf("m%d", i))
	}
	// seqs: 1 hello, 2 hi, 3 max, 4..10 m0..m6
	type page struct {
		Messages []message
		HasMore  bool `json:"has_more"`
	}
	var p page
	alice.must(200, "GET", path+"?limit=4", nil).decode(t, &p)
	if seqs(p.Messages) != "7,8,9,10" || !p.HasMore {
		t.Fatalf("newest page %s %v", seqs(p.Messages), p.HasMore)
	}
	alice.must(200, "GET", path+"?before=7&limit=4", nil).decode(t, &p)
	if seqs(p.Messages) != "3,4,5,6" || !p.HasMore {
		t.Fatalf("before=7: %s %v", seqs(p.Messages), p.HasMore)
	}
	alice.must(200, "GET", path+"?before=3&limit=4", nil).decode(t, &p)
	if seqs(p.Messages) != "1,2" || p.HasMore {
		t.Fatalf("before=3: %s %v", seqs(p.Messages), p.HasMore)
	}
	alice.must(200, "GET", path+"?after=5&limit=3", nil).decode(t, &p)
	if seqs(p.Messages) != "6,7,8" || !p.HasMore {
		t.Fatalf("after=5: %s %v", seqs(p.Messages), p.HasMore)
	}
	alice.must(200, "GET", path+"?after=8", nil).decode(t, &p)
	if seqs(p.Messages) != "9,10" || p.HasMore {
		t.Fatalf("after=8: %s %v", seqs(p.Messages), p.HasMore)
	}
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?before=x", "?after=-1", "?before=1&after=1"} {
		alice.must(400, "GET", path+q, nil)
	}
}

func seqs(ms []message) string {
	var s []string
	for _, m := range ms {
		s = append(s, fmt.Sprint(m.Seq))
	}
	return strings.Join(s, ",")
}

func TestConcurrentSendsHaveNoGaps(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			sender := alice
			if i%2 == 1 {
				sender = bob
			}
			// every second send is also retried concurrently: still one message
			cid := fmt.Sprintf("k%d", i)
			var out struct{ Message message }
			r := sender.do("POST", path, map[string]any{"client_id": cid, "body": fmt.Sprint(i)})
			if r.Status != 201 {
				t.Errorf("send %d: %d %s", i, r.Status, r.Body)
				return
			}
			r.decode(t, &out)
			if i%2 == 0 {
				if r2 := sender.do("POST", path, map[string]any{"client_id": cid, "body": fmt.Sprint(i)}); r2.Status != 200 {
					t.Errorf("retry %d: %d", i, r2.Status)
				}
			}
			mu.Lock()
			got = append(got, int(out.Message.Seq))
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Ints(got)
	for i, s := range got {
		if s != i+1 {
			t.Fatalf("seqs %v: want 1..100 with no gaps or duplicates", got)
		}
	}
	if c := alice.conversation(conv.ID); c.LastSeq != 100 {
		t.Fatalf("last_seq %d", c.LastSeq)
	}
}

func TestReceiptsAreMonotonic(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	for i := range 5 {
		alice.say(conv.ID, fmt.Sprint(i))
	}
	rp := fmt.Sprintf("/api/v1/conversations/%d/receipts", conv.ID)
	type rec struct {
		UserID       int64 `json:"user_id"`
		DeliveredSeq int64 `json:"delivered_seq"`
		ReadSeq      int64 `json:"read_seq"`
	}
	receipts := func() map[int64]rec {
		var out struct{ Receipts []rec }
		alice.must(200, "GET", rp, nil).decode(t, &out)
		m := map[int64]rec{}
		for _, r := range out.Receipts {
			m[r.UserID] = r
		}
		return m
	}
	if r := receipts(); r[alice.ID].ReadSeq != 5 || r[alice.ID].DeliveredSeq != 5 || r[bob.ID].DeliveredSeq != 0 {
		t.Fatalf("own messages are read by the sender: %+v", r)
	}
	bob.must(204, "POST", rp, map[string]any{"delivered_seq": 3})
	bob.must(204, "POST", rp, map[string]any{"read_seq": 2})
	if r := receipts()[bob.ID]; r.DeliveredSeq != 3 || r.ReadSeq != 2 {
		t.Fatalf("after delivered 3, read 2: %+v", r)
	}
	bob.must(204, "POST", rp, map[string]any{"delivered_seq": 1}) // late: ignored
	bob.must(204, "POST", rp, map[string]any{"read_seq": 4})      // reading implies delivery
	if r := receipts()[bob.ID]; r.DeliveredSeq != 4 || r.ReadSeq != 4 {
		t.Fatalf("after late delivered 1, read 4: %+v", r)
	}
	bob.must(204, "POST", rp, map[string]any{"delivered_seq": 99, "read_seq": 99}) // clamped
	if r := receipts()[bob.ID]; r.DeliveredSeq != 5 || r.ReadSeq != 5 {
		t.Fatalf("clamped to last_seq: %+v", r)
	}
	if c := alice.conversation(conv.ID); *c.PeerReadSeq != 5 || *c.PeerDeliveredSeq != 5 {
		t.Fatalf("ticks for alice: %+v", c)
	}
	if c := bob.conversation(conv.ID); c.UnreadCount != 0 || c.ReadSeq != 5 {
		t.Fatalf("bob's unread %d read %d", c.UnreadCount, c.ReadSeq)
	}
	bob.must(400, "POST", rp, map[string]any{})
	bob.must(400, "POST", rp, map[string]any{"read_seq": -1})

	// a burst of acks from many requests becomes few writes, all monotonic
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() { bob.must(204, "POST", rp, map[string]any{"read_seq": i % 6}) })
	}
	wg.Wait()
	if r := receipts()[bob.ID]; r.ReadSeq != 5 {
		t.Fatalf("after a burst: %+v", r)
	}
}

func TestClearAndDelete(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	alice.say(conv.ID, "one")
	bob.say(conv.ID, "two")
	path := fmt.Sprintf("/api/v1/conversations/%d", conv.ID)
	type page struct{ Messages []message }
	var p page

	alice.must(204, "POST", path+"/clear", nil)
	alice.must(200, "GET", path+"/messages", nil).decode(t, &p)
	if len(p.Messages) != 0 {
		t.Fatalf("alice still sees %v after clear", seqs(p.Messages))
	}
	alice.must(200, "GET", path+"/messages?after=0", nil).decode(t, &p)
	if len(p.Messages) != 0 {
		t.Fatalf("after=0 shows cleared %v", seqs(p.Messages))
	}
	if c := alice.conversation(conv.ID); c.ClearedSeq != 2 || c.LastMessage != nil || c.UnreadCount != 0 {
		t.Fatalf("after clear: %+v", c)
	}
	bob.must(200, "GET", path+"/messages", nil).decode(t, &p)
	if len(p.Messages) != 2 {
		t.Fatal("clear hid bob's history too")
	}
	bob.say(conv.ID, "three")
	alice.must(200, "GET", path+"/messages", nil).decode(t, &p)
	if seqs(p.Messages) != "3" {
		t.Fatalf("after clear and a new message: %s", seqs(p.Messages))
	}

	// delete: gone from alice's list, still readable, back with a new message
	alice.must(204, "DELETE", path, nil)
	if len(alice.conversations()) != 0 || len(bob.conversations()) != 1 {
		t.Fatal("delete must hide the conversation from the deleter only")
	}
	alice.must(200, "GET", path, nil)
	bob.say(conv.ID, "four")
	list := alice.conversations()
	if len(list) != 1 || list[0].LastMessage.Body != "four" || list[0].UnreadCount != 1 {
		t.Fatalf("after a new message: %+v", list)
	}
	alice.must(200, "GET", path+"/messages", nil).decode(t, &p)
	if seqs(p.Messages) != "4" {
		t.Fatalf("deleted history came back: %s", seqs(p.Messages))
	}
}

func TestFlagsAreOwn(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	ab := alice.direct(bob)
	ac := alice.direct(carol)
	alice.say(ab.ID, "old")
	alice.say(ac.ID, "newer")

	var out struct{ Conversation conversation }
	alice.must(200, "PATCH", fmt.Sprintf("/api/v1/conversations/%d", ab.ID), map[string]any{"pinned": true, "muted": true}).decode(t, &out)
	if !out.Conversation.Pinned || !out.Conversation.Muted || out.Conversation.Archived {
		t.Fatalf("flags %+v", out.Conversation)
	}
	if list := alice.conversations(); list[0].ID != ab.ID || list[1].ID != ac.ID {
		t.Fatal("pinned must come first")
	}
	if b := bob.conversation(ab.ID); b.Pinned || b.Muted {
		t.Fatal("alice's flags changed bob's")
	}
	alice.must(200, "PATCH", fmt.Sprintf("/api/v1/conversations/%d", ac.ID), map[string]any{"archived": true})
	list := alice.conversations()
	if len(list) != 2 || !list[1].Archived {
		t.Fatalf("archived ones are listed and flagged: %+v", list)
	}
	// a new message brings an archived chat back
	carol.say(ac.ID, "ping")
	if c := alice.conversation(ac.ID); c.Archived {
		t.Fatal("a new message did not unarchive")
	}
	alice.must(400, "PATCH", fmt.Sprintf("/api/v1/conversations/%d", ac.ID), map[string]any{"pinned": "yes"})
}

func TestSyncAfterAbsence(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	ab := alice.direct(bob)
	ac := alice.direct(carol)
	alice.say(ab.ID, "1")
	alice.say(ac.ID, "1")

	type syncOut struct {
		Cursor        string
		Conversations []conversation
		Removed       []int64
		Groups        []any
	}
	var full syncOut
	alice.must(200, "GET", "/api/v1/sync", nil).decode(t, &full)
	if len(full.Conversations) != 2 || full.Cursor == "" || full.Removed == nil || full.Groups == nil {
		t.Fatalf("full sync %+v", full)
	}
	var none syncOut
	alice.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(full.Cursor), nil).decode(t, &none)
	if len(none.Conversations) != 0 || len(none.Removed) != 0 {
		t.Fatalf("nothing changed, yet sync returned %+v", none)
	}

	// while alice is away: bob writes, carol reads, alice's phone deletes ab... no, archives ac
	for i := range 50 {
		bob.say(ab.ID, fmt.Sprint(i))
	}
	carol.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/receipts", ac.ID), map[string]any{"read_seq": 1})
	var later syncOut
	alice.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(full.Cursor), nil).decode(t, &later)
	byID := map[int64]conversation{}
	for _, c := range later.Conversations {
		byID[c.ID] = c
	}
	if c := byID[ab.ID]; c.LastSeq != 51 || c.UnreadCount != 50 {
		t.Fatalf("ab after absence: %+v", c)
	}
	if c := byID[ac.ID]; c.PeerReadSeq == nil || *c.PeerReadSeq != 1 {
		t.Fatalf("ac after carol read: %+v", c)
	}
	alice.must(204, "DELETE", fmt.Sprintf("/api/v1/conversations/%d", ac.ID), nil)
	var after syncOut
	alice.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(later.Cursor), nil).decode(t, &after)
	if len(after.Removed) != 1 || after.Removed[0] != ac.ID {
		t.Fatalf("delete not synced as removed: %+v", after)
	}
	// well shaped but impossible snapshots never reach the database
	for _, bad := range []string{"garbage", "x", "x-1", "123", "s1.0.", "s5.1.", "s5.10.20", "s0.0.", "s1.1.1"} {
		alice.must(400, "GET", "/api/v1/sync?since="+bad, nil)
	}
}

// TestStrangerSeesNothing is the authorization matrix: a user outside a
// conversation gets 404 from every endpoint and changes nothing.
func TestStrangerSeesNothing(t *testing.T) {
	e := newEnv(t)
	alice, bob, eve := e.user("alice"), e.user("bob"), e.user("eve")
	conv := alice.direct(bob)
	alice.say(conv.ID, "secret")
	base := fmt.Sprintf("/api/v1/conversations/%d", conv.ID)
	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", base, nil},
		{"PATCH", base, map[string]any{"pinned": true}},
		{"DELETE", base, nil},
		{"POST", base + "/clear", nil},
		{"GET", base + "/messages", nil},
		{"GET", base + "/messages?after=0", nil},
		{"POST", base + "/messages", map[string]any{"client_id": "x", "body": "intrusion"}},
		{"GET", base + "/receipts", nil},
		{"POST", base + "/receipts", map[string]any{"read_seq": 1}},
		{"GET", "/api/v1/conversations/999999", nil},
		{"GET", "/api/v1/conversations/0/messages", nil},
		{"GET", "/api/v1/conversations/abc", nil},
	}
	for _, c := range calls {
		if code, _ := eve.must(404, c.method, c.path, c.body).errCode(t); code != "not_found" {
			t.Errorf("%s %s: %s", c.method, c.path, code)
		}
	}
	if len(eve.conversations()) != 0 {
		t.Fatal("eve lists a conversation she is not in")
	}
	var pres struct{ Presence []struct{ UserID int64 } }
	eve.must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d,%d", alice.ID, bob.ID), nil).decode(t, &pres)
	if len(pres.Presence) != 0 {
		t.Fatalf("eve sees presence of strangers: %+v", pres)
	}
	// nothing changed for the members
	if c := alice.conversation(conv.ID); c.LastSeq != 1 || c.Pinned {
		t.Fatalf("a stranger changed the conversation: %+v", c)
	}
	// and no authenticated call at all without a session
	e.client().must(401, "GET", base, nil)
}
