package server_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fullMessage is a Message with its v1.1 fields.
type fullMessage struct {
	ID         int64   `json:"id"`
	Seq        int64   `json:"seq"`
	SenderID   int64   `json:"sender_id"`
	Body       string  `json:"body"`
	EditedAt   *string `json:"edited_at"`
	Deleted    bool    `json:"deleted"`
	Version    int     `json:"version"`
	ReplyToSeq *int64  `json:"reply_to_seq"`
	Mentions   struct {
		UserIDs []int64 `json:"user_ids"`
		All     bool    `json:"all"`
	} `json:"mentions"`
	Reactions []struct {
		Emoji   string  `json:"emoji"`
		UserIDs []int64 `json:"user_ids"`
	} `json:"reactions"`
}

func msgPath(conv, seq int64, rest string) string {
	return fmt.Sprintf("/api/v1/conversations/%d/messages/%d%s", conv, seq, rest)
}

func (u *user) message(conv, seq int64) fullMessage {
	u.e.t.Helper()
	var out struct{ Message fullMessage }
	u.must(200, "GET", msgPath(conv, seq, ""), nil).decode(u.e.t, &out)
	return out.Message
}

func TestEditWithHistory(t *testing.T) {
	e := newEnv(t)
	alice, bob, eve := e.user("alice"), e.user("bob"), e.user("eve")
	conv := alice.direct(bob)
	m := alice.say(conv.ID, "helo")
	bw := e.dial(bob.Token)

	var out struct{ Message fullMessage }
	alice.must(200, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": "hello"}).decode(t, &out)
	if out.Message.Body != "hello" || out.Message.Version != 2 || out.Message.EditedAt == nil {
		t.Fatalf("edited: %+v", out.Message)
	}
	var up struct{ Message fullMessage }
	bw.expect("message.updated", "presence").decode(t, &up)
	if up.Message.Body != "hello" || up.Message.Version != 2 {
		t.Fatalf("message.updated %+v", up.Message)
	}
	alice.must(200, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": "hello, bob"})
	var revs struct {
		Revisions []struct{ Body, At string }
	}
	bob.must(200, "GET", msgPath(conv.ID, m.Seq, "/revisions"), nil).decode(t, &revs)
	if len(revs.Revisions) != 2 || revs.Revisions[0].Body != "helo" || revs.Revisions[1].Body != "hello" {
		t.Fatalf("revisions %+v", revs)
	}
	// only the sender; the same validation as a send; strangers see nothing
	if code, _ := bob.must(403, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": "mine now"}).errCode(t); code != "forbidden" {
		t.Fatal(code)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", 4001)} {
		if _, field := alice.must(400, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": bad}).errCode(t); field != "body" {
			t.Fatalf("body %q: field %q", bad, field)
		}
	}
	eve.must(404, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": "x"})
	eve.must(404, "GET", msgPath(conv.ID, m.Seq, ""), nil)
	eve.must(404, "GET", msgPath(conv.ID, m.Seq, "/revisions"), nil)
	alice.must(404, "PATCH", msgPath(conv.ID, 99, ""), map[string]any{"body": "x"})
	alice.must(404, "GET", msgPath(conv.ID, 0, ""), nil)
	// a deleted message cannot be edited
	alice.must(204, "DELETE", msgPath(conv.ID, m.Seq, ""), nil)
	alice.must(409, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": "back"})
}

// TestDeleteErases: the tombstone keeps the seq, and the old text is in no
// table anywhere: not the message, its revisions, reactions, mentions or
// the outbox.
func TestDeleteErases(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	alice.say(conv.ID, "first")
	m := alice.say(conv.ID, "the secret is swordfish @bob")
	alice.must(200, "PATCH", msgPath(conv.ID, m.Seq, ""), map[string]any{"body": "the secret is still swordfish"})
	bob.must(204, "PUT", msgPath(conv.ID, m.Seq, "/reactions/"+url.PathEscape("👍")), nil)
	alice.say(conv.ID, "third")
	// bob cannot delete alice's message in a direct chat
	bob.must(403, "DELETE", msgPath(conv.ID, m.Seq, ""), nil)
	bw := e.dial(bob.Token)
	alice.must(204, "DELETE", msgPath(conv.ID, m.Seq, ""), nil)
	var up struct{ Message fullMessage }
	bw.expect("message.updated", "presence").decode(t, &up)
	if !up.Message.Deleted || up.Message.Body != "" || len(up.Message.Reactions) != 0 {
		t.Fatalf("tombstone event %+v", up.Message)
	}
	alice.must(204, "DELETE", msgPath(conv.ID, m.Seq, ""), nil) // again: nothing changes
	got := bob.message(conv.ID, m.Seq)
	if !got.Deleted || got.Body != "" || got.Seq != m.Seq || len(got.Reactions) != 0 || len(got.Mentions.UserIDs) != 0 {
		t.Fatalf("tombstone %+v", got)
	}
	var page struct{ Messages []fullMessage }
	bob.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), nil).decode(t, &page)
	if len(page.Messages) != 3 || !page.Messages[1].Deleted || page.Messages[1].Body != "" {
		t.Fatalf("history %+v", page.Messages)
	}
	var revs struct{ Revisions []any }
	bob.must(200, "GET", msgPath(conv.ID, m.Seq, "/revisions"), nil).decode(t, &revs)
	if len(revs.Revisions) != 0 {
		t.Fatalf("revisions of a deleted message: %+v", revs)
	}
	db := e.srv.Accounts().DB
	for _, q := range []string{
		"SELECT count(*) FROM messages WHERE body LIKE '%swordfish%'",
		"SELECT count(*) FROM message_revisions WHERE body LIKE '%swordfish%'",
		"SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8') LIKE '%swordfish%'",
		fmt.Sprintf("SELECT count(*) FROM reactions WHERE message_id = %d", got.ID),
		fmt.Sprintf("SELECT count(*) FROM mentions WHERE message_id = %d", got.ID),
	} {
		var n int
		if err := db.Pool.QueryRow(context.Background(), q).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d, %v", q, n, err)
		}
	}
}

func TestDeleteInChannels(t *testing.T) {
	ge := newGroup(t)
	gen := ge.general()
	m := ge.member.say(gen, "spam")
	// another member may not; an admin and the owner may
	ge.eve.must(404, "DELETE", msgPath(gen, m.Seq, ""), nil)
	ge.removed.must(404, "DELETE", msgPath(gen, m.Seq, ""), nil)
	other := ge.admin.say(gen, "the admin's")
	ge.member.must(403, "DELETE", msgPath(gen, other.Seq, ""), nil)
	ge.admin.must(204, "DELETE", msgPath(gen, m.Seq, ""), nil)
	m2 := ge.member.say(gen, "more spam")
	ge.owner.must(204, "DELETE", msgPath(gen, m2.Seq, ""), nil)
	if got := ge.member.message(gen, m2.Seq); !got.Deleted {
		t.Fatalf("not deleted: %+v", got)
	}
}

func TestReplies(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	first := alice.say(conv.ID, "question?")
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	var out struct{ Message fullMessage }
	bob.must(201, "POST", path, map[string]any{"client_id": "r1", "body": "answer", "reply_to_seq": first.Seq}).decode(t, &out)
	if out.Message.ReplyToSeq == nil || *out.Message.ReplyToSeq != first.Seq {
		t.Fatalf("reply %+v", out.Message)
	}
	for _, bad := range []int64{0, -1, 3, 99} {
		if _, field := bob.must(400, "POST", path, map[string]any{"client_id": fmt.Sprint("bad", bad), "body": "x", "reply_to_seq": bad}).errCode(t); field != "reply_to_seq" {
			t.Fatalf("reply_to_seq %d: field %q", bad, field)
		}
	}
	// by frame too
	w := e.dial(bob.Token)
	w.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "r2", "body": "again", "reply_to_seq": first.Seq})
	var f struct{ Message fullMessage }
	w.expect("message.created", "presence").decode(t, &f)
	if f.Message.ReplyToSeq == nil || *f.Message.ReplyToSeq != first.Seq {
		t.Fatalf("frame reply %+v", f.Message)
	}
	w.send("message.send", map[string]any{"conversation_id": conv.ID, "client_id": "r3", "body": "x", "reply_to_seq": 42})
	var er struct{ Code, Field, ClientID string }
	w.expect("error", "presence").decode(t, &er)
	if er.Code != "validation_failed" || er.Field != "reply_to_seq" {
		t.Fatalf("frame error %+v", er)
	}
	// a cleared message is not there for the one who cleared it
	bob.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/clear", conv.ID), nil)
	bob.must(404, "GET", msgPath(conv.ID, first.Seq, ""), nil)
	alice.must(200, "GET", msgPath(conv.ID, first.Seq, ""), nil)
}

func TestReactions(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	m := alice.say(conv.ID, "ship it?")
	r := func(u *user, method, emoji string, want int) {
		t.Helper()
		u.must(want, method, msgPath(conv.ID, m.Seq, "/reactions/"+url.PathEscape(emoji)), nil)
	}
	r(bob, "PUT", "👍", 204)
	r(bob, "PUT", "👍", 204) // twice: no-op
	r(alice, "PUT", "👍", 204)
	r(alice, "PUT", "🎉", 204)
	got := alice.message(conv.ID, m.Seq)
	if len(got.Reactions) != 2 || got.Reactions[0].Emoji != "👍" || len(got.Reactions[0].UserIDs) != 2 || got.Reactions[0].UserIDs[0] != bob.ID {
		t.Fatalf("reactions %+v", got.Reactions)
	}
	if got.Version != 4 {
		t.Fatalf("version %d after three changes, want 4", got.Version)
	}
	r(bob, "DELETE", "👍", 204)
	r(bob, "DELETE", "👍", 204)
	if got := alice.message(conv.ID, m.Seq); len(got.Reactions[0].UserIDs) != 1 || got.Version != 5 {
		t.Fatalf("after un-react %+v", got)
	}
	for _, bad := range []string{"a", "👍👍", "1", ":+1:", "%F0"} {
		code, field := bob.must(400, "PUT", msgPath(conv.ID, m.Seq, "/reactions/"+url.PathEscape(bad)), nil).errCode(t)
		if code != "validation_failed" || field != "emoji" {
			t.Fatalf("%q: %s %s", bad, code, field)
		}
	}
	// at most 20 different emoji
	many := []string{"😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙"}
	for _, em := range many { // 2 + 17 = 19
		r(bob, "PUT", em, 204)
	}
	r(bob, "PUT", "🥲", 204) // the 20th
	r(alice, "PUT", "🤯", 409)
	r(alice, "PUT", "😀", 204) // an emoji it has
	// a tombstone takes none
	alice.must(204, "DELETE", msgPath(conv.ID, m.Seq, ""), nil)
	r(bob, "PUT", "👍", 409)
	e.user("eve").must(404, "PUT", msgPath(conv.ID, m.Seq, "/reactions/"+url.PathEscape("👍")), nil)
}

// TestConcurrentReactions: many people react to one message at once; each
// reaction is there exactly once, and the version counted every one.
func TestConcurrentReactions(t *testing.T) {
	ge := newGroup(t)
	gen := ge.general()
	var users []*user
	var ids []int64
	for i := range 20 {
		u := ge.e.user(fmt.Sprint("fan", i))
		users = append(users, u)
		ids = append(ids, u.ID)
	}
	ge.owner.must(201, "POST", ge.path("/members"), map[string]any{"user_ids": ids})
	m := ge.owner.say(gen, "vote")
	var wg sync.WaitGroup
	for _, u := range users {
		for _, em := range []string{"👍", "🎉"} {
			wg.Go(func() { u.must(204, "PUT", msgPath(gen, m.Seq, "/reactions/"+url.PathEscape(em)), nil) })
		}
	}
	wg.Wait()
	got := ge.owner.message(gen, m.Seq)
	if len(got.Reactions) != 2 || len(got.Reactions[0].UserIDs) != 20 || len(got.Reactions[1].UserIDs) != 20 || got.Version != 41 {
		t.Fatalf("after 40 concurrent reactions: %d emoji, version %d, %+v", len(got.Reactions), got.Version, got.Reactions)
	}
}

func TestMentions(t *testing.T) {
	ge := newGroup(t)
	gen := ge.general()
	var c struct {
		Conversation struct {
			MentionCount int64 `json:"mention_count"`
		}
	}
	count := func(u *user) int64 {
		u.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d", gen), nil).decode(t, &c)
		return c.Conversation.MentionCount
	}
	m := ge.owner.say(gen, "hey @Member and @admin, not `@eve` or @nobody")
	got := ge.member.message(gen, m.Seq)
	if len(got.Mentions.UserIDs) != 2 || got.Mentions.All {
		t.Fatalf("mentions %+v", got.Mentions)
	}
	if count(ge.member) != 1 || count(ge.owner) != 0 {
		t.Fatal("mention_count after one mention")
	}
	ge.owner.say(gen, "```\n@member in a code block\n```")
	all := ge.admin.say(gen, "@all standup")
	if !ge.member.message(gen, all.Seq).Mentions.All || count(ge.member) != 2 {
		t.Fatalf("@all: %d", count(ge.member))
	}
	// an edit that names someone new counts for them; the old names go
	ge.owner.must(200, "PATCH", msgPath(gen, m.Seq, ""), map[string]any{"body": "hey @member only"})
	if got := ge.member.message(gen, m.Seq); len(got.Mentions.UserIDs) != 1 || got.Mentions.UserIDs[0] != ge.member.ID {
		t.Fatalf("after the edit: %+v", got.Mentions)
	}
	// reading clears the count; a delete takes its mention away
	ge.member.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/receipts", gen), map[string]any{"read_seq": 100})
	if count(ge.member) != 0 {
		t.Fatal("mention_count after reading")
	}
	late := ge.owner.say(gen, "@member one more")
	if count(ge.member) != 1 {
		t.Fatal("a new mention")
	}
	ge.owner.must(204, "DELETE", msgPath(gen, late.Seq, ""), nil)
	if count(ge.member) != 0 {
		t.Fatal("a deleted message still counts as a mention")
	}
}

// TestMentionAllInBigChannels: in a channel of more than 50 members only
// the group's admins and owner mention everyone.
func TestMentionAllInBigChannels(t *testing.T) {
	ge := newGroup(t)
	var ids []int64
	for i := range 50 {
		ids = append(ids, ge.e.user(fmt.Sprint("crowd", i)).ID)
	}
	ge.owner.must(201, "POST", ge.path("/members"), map[string]any{"user_ids": ids})
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", ge.general())
	if code, _ := ge.member.must(403, "POST", path, map[string]any{"client_id": "a1", "body": "@channel hello"}).errCode(t); code != "forbidden" {
		t.Fatal(code)
	}
	ge.member.must(201, "POST", path, map[string]any{"client_id": "a2", "body": "hello @admin"})
	ge.admin.must(201, "POST", path, map[string]any{"client_id": "a3", "body": "@here hello"})
}

// TestSyncUpdatedMessages: a device that was away learns of edits, deletes
// and reactions from /sync, at most 500 at a time.
func TestSyncUpdatedMessages(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	var msgs []message
	for i := range 5 {
		msgs = append(msgs, alice.say(conv.ID, fmt.Sprint("m", i)))
	}
	var s struct {
		Cursor          string
		UpdatedMessages []fullMessage `json:"updated_messages"`
		Truncated       bool          `json:"updated_messages_truncated"`
	}
	bob.must(200, "GET", "/api/v1/sync", nil).decode(t, &s)
	cursor := s.Cursor
	alice.must(200, "PATCH", msgPath(conv.ID, msgs[1].Seq, ""), map[string]any{"body": "edited"})
	alice.must(204, "DELETE", msgPath(conv.ID, msgs[2].Seq, ""), nil)
	bob.must(204, "PUT", msgPath(conv.ID, msgs[3].Seq, "/reactions/"+url.PathEscape("👀")), nil)
	alice.say(conv.ID, "new") // a new message is not an update
	bob.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(cursor), nil).decode(t, &s)
	if len(s.UpdatedMessages) != 3 || s.Truncated {
		t.Fatalf("updated %+v", s.UpdatedMessages)
	}
	if s.UpdatedMessages[0].Body != "edited" || !s.UpdatedMessages[1].Deleted || len(s.UpdatedMessages[2].Reactions) != 1 {
		t.Fatalf("updated %+v", s.UpdatedMessages)
	}
	bob.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(s.Cursor), nil).decode(t, &s)
	if len(s.UpdatedMessages) != 0 {
		t.Fatalf("again: %+v", s.UpdatedMessages)
	}
	// more than 500: the first 500, and truncated
	db := e.srv.Accounts().DB
	if _, err := db.Pool.Exec(context.Background(), `
		INSERT INTO messages (conversation_id, seq, sender_id, client_id, body)
		SELECT $1, 6 + i, $2, 'bulk' || i, 'x' FROM generate_series(1, 510) i`, conv.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	cursor = s.Cursor
	if _, err := db.Pool.Exec(context.Background(), "UPDATE messages SET version = version + 1, updated_xid = parley_xid() WHERE client_id LIKE 'bulk%'"); err != nil {
		t.Fatal(err)
	}
	bob.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(cursor), nil).decode(t, &s)
	if len(s.UpdatedMessages) != 500 || !s.Truncated {
		t.Fatalf("%d updated, truncated %v", len(s.UpdatedMessages), s.Truncated)
	}
}

func TestHistoryAround(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	for i := range 30 {
		alice.say(conv.ID, fmt.Sprint("m", i+1))
	}
	var page struct {
		Messages []message
		HasMore  bool `json:"has_more"`
	}
	base := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	bob.must(200, "GET", base+"?around=15&limit=10", nil).decode(t, &page)
	if len(page.Messages) != 10 || page.Messages[0].Seq != 10 || page.Messages[9].Seq != 19 || !page.HasMore {
		t.Fatalf("around 15: %v", seqs(page.Messages))
	}
	bob.must(200, "GET", base+"?around=2&limit=10", nil).decode(t, &page)
	if page.Messages[0].Seq != 1 || len(page.Messages) != 10 {
		t.Fatalf("around 2: %v", seqs(page.Messages))
	}
	bob.must(400, "GET", base+"?around=0", nil)
	bob.must(400, "GET", base+"?around=5&before=9", nil)
}
