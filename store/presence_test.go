package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// ListPresenceWatchers finds mutual contacts and direct-chat peers where
// both have written, and its cost follows the user's own rows, not the
// number of users on the install.
func TestListPresenceWatchersCostFollowsWatchers(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// users 1..8; 1 is watched. 2 and 3 are mutual contacts, 4 has 1 as a
	// one-way contact, 5 is a direct peer where both wrote, 6 one where only
	// 1 wrote, 7 is both a mutual contact and a direct peer, 8 a stranger.
	exec(`INSERT INTO users (username, display_name, password_hash)
		SELECT 'u' || g, 'U', 'x' FROM generate_series(1, 8) g`)
	exec(`INSERT INTO contacts (owner_id, user_id) VALUES
		(1, 2), (2, 1), (1, 3), (3, 1), (4, 1), (1, 7), (7, 1)`)
	exec(`INSERT INTO conversations (kind, direct_key) VALUES ('direct', '1:5'), ('direct', '1:6'), ('direct', '1:7')`)
	exec(`INSERT INTO members (conversation_id, user_id, has_sent) VALUES
		(1, 1, true), (1, 5, true), (2, 1, true), (2, 6, false), (3, 1, true), (3, 7, true)`)

	watchers := func() []int64 {
		t.Helper()
		rows, err := db.ListPresenceWatchers(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range rows {
			ids = append(ids, r.UserID)
		}
		slices.Sort(ids)
		return ids
	}
	if got := watchers(); !slices.Equal(got, []int64{2, 3, 5, 7}) {
		t.Fatalf("watchers of a shared user: %v; want [2 3 5 7]", got)
	}
	exec(`UPDATE users SET presence_visibility = 'contacts' WHERE id = 1`)
	if got := watchers(); !slices.Equal(got, []int64{2, 3, 7}) {
		t.Fatalf("watchers of a contacts-only user: %v; want [2 3 7]", got)
	}
	exec(`UPDATE users SET presence_visibility = 'nobody' WHERE id = 1`)
	if got := watchers(); len(got) != 0 {
		t.Fatalf("watchers of a hidden user: %v; want none", got)
	}
	exec(`UPDATE users SET presence_visibility = 'shared' WHERE id = 1`)

	// The buffers the statement touches, from its plan.
	blocks := func() int {
		t.Helper()
		exec(`ANALYZE`)
		var plan []struct {
			Plan struct {
				Hit  int `json:"Shared Hit Blocks"`
				Read int `json:"Shared Read Blocks"`
			}
		}
		var raw []byte
		if err := db.Pool.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+store.ListPresenceWatchersSQL, int64(1)).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &plan); err != nil || len(plan) != 1 {
			t.Fatalf("plan %s: %v", raw, err)
		}
		return plan[0].Plan.Hit + plan[0].Plan.Read
	}
	small := blocks()
	// 20,000 more users, each a mutual contact and a direct peer of the next.
	exec(`INSERT INTO users (username, display_name, password_hash)
		SELECT 'v' || g, 'V', 'x' FROM generate_series(1, 20000) g`)
	exec(`INSERT INTO contacts (owner_id, user_id)
		SELECT id, id + 1 FROM users WHERE id > 8 AND id < 20008
		UNION ALL SELECT id + 1, id FROM users WHERE id > 8 AND id < 20008`)
	exec(`INSERT INTO conversations (kind, direct_key)
		SELECT 'direct', id || ':' || (id + 1) FROM users WHERE id > 8 AND id < 20008`)
	exec(`INSERT INTO members (conversation_id, user_id, has_sent)
		SELECT c.id, split_part(c.direct_key, ':', n)::bigint, true
		FROM conversations c, generate_series(1, 2) n WHERE c.id > 3`)
	large := blocks()
	if got := watchers(); !slices.Equal(got, []int64{2, 3, 5, 7}) {
		t.Fatalf("watchers on a large install: %v; want [2 3 5 7]", got)
	}
	// Index lookups cost a few blocks each; visiting every user would cost
	// at least the users table's pages.
	var userPages int
	if err := db.Pool.QueryRow(ctx, `SELECT (pg_relation_size('users') / current_setting('block_size')::int)::int`).Scan(&userPages); err != nil {
		t.Fatal(err)
	}
	if large*4 > userPages {
		t.Fatalf("ListPresenceWatchers touched %d buffers with 20,008 users (%d with 8); the users table has %d pages; want a few index lookups", large, small, userPages)
	}
	t.Logf("buffers: %d with 8 users, %d with 20,008 (users: %d pages)", small, large, userPages)
}
