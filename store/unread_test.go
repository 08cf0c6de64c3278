package store_test

import (
	"context"
	"testing"

	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// A conversation's unread and mention counts stop at 1000 and start where
// the member joined, so listing conversations costs the same after a long
// absence, or after joining a channel with a long history, as after a short
// one.
func TestUnreadCountsAreBounded(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	exec := execer(t, db)
	exec(`INSERT INTO users (username, display_name, password_hash) VALUES ('u1', 'U', 'x'), ('u2', 'U', 'x')`)
	exec(`INSERT INTO conversations (kind, direct_key) VALUES ('direct', '1:2')`)
	exec(`INSERT INTO members (conversation_id, user_id) VALUES (1, 1), (1, 2)`)
	// messages from user 2: every 20th an @all, every 25th (but those)
	// naming user 1
	addMessages := func(from, to int) {
		t.Helper()
		exec(`INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, mention_all)
			SELECT 1, g, 2, 'c' || g, 'message ' || g, g % 20 = 0 FROM generate_series($1::int, $2::int) g`, from, to)
		exec(`INSERT INTO mentions (message_id, user_id, conversation_id, seq)
			SELECT id, 1, 1, seq FROM messages WHERE seq BETWEEN $1 AND $2 AND seq % 25 = 0 AND NOT mention_all`, from, to)
		exec(`UPDATE conversations SET last_seq = $1 WHERE id = 1`, to)
	}
	counts := func() (unread, mentions int64) {
		t.Helper()
		rows, err := db.ListConversations(ctx, store.ListConversationsParams{UserID: 1, ConversationID: ptr(int64(1))})
		if err != nil || len(rows) != 1 {
			t.Fatalf("ListConversations: %v, %d rows", err, len(rows))
		}
		return rows[0].UnreadCount, rows[0].MentionCount
	}
	// the buffers listing the conversation touches, from its plan
	blocks := func() int {
		t.Helper()
		exec(`VACUUM ANALYZE messages`)
		b, _ := planBuffers(t, db, store.ListConversationsSQL, int64(1), int64(1), nil, false, nil)
		return b
	}

	addMessages(1, 140)
	if u, m := counts(); u != 140 || m != 7+4 {
		t.Fatalf("140 unread: unread %d mentions %d; want 140 and 11", u, m)
	}
	addMessages(141, 30000)
	if u, m := counts(); u != 1000 || m != 1000 {
		t.Fatalf("30,000 unread: unread %d mentions %d; want both counted to 1000", u, m)
	}
	at30k := blocks()
	addMessages(30001, 90000)
	if u, m := counts(); u != 1000 || m != 1000 {
		t.Fatalf("90,000 unread: unread %d mentions %d; want both counted to 1000", u, m)
	}
	at90k := blocks()
	// counting every unread message would cost three times as much
	if at90k*10 > at30k*13 {
		t.Fatalf("listing the conversation touched %d buffers with 30,000 unread and %d with 90,000; want about the same", at30k, at90k)
	}
	t.Logf("buffers: %d with 30,000 unread, %d with 90,000", at30k, at90k)

	// joined at 89,960: the 40 messages since are unread; 89,980 and 90,000
	// are @all, 89,975 names user 1
	exec(`UPDATE members SET joined_seq = 89960 WHERE conversation_id = 1 AND user_id = 1`)
	if u, m := counts(); u != 40 || m != 3 {
		t.Fatalf("joined at 89,960 of 90,000: unread %d mentions %d; want 40 and 3", u, m)
	}
	// a read above the join point counts from the read
	exec(`UPDATE members SET delivered_seq = 89990, read_seq = 89990 WHERE conversation_id = 1 AND user_id = 1`)
	if u, m := counts(); u != 10 || m != 1 {
		t.Fatalf("read to 89,990: unread %d mentions %d; want 10 and 1", u, m)
	}
}

func ptr[T any](v T) *T { return &v }
