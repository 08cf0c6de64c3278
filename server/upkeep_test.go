package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A node merges the search indexes' pending lists by itself, so that no
// send has to (schema.sql, messages_trigrams): a few sends are far below
// the lists' limit and autovacuum's threshold, and still their entries
// leave the lists within seconds.
func TestNodeMergesSearchPendingLists(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	for i := range 20 {
		alice.say(conv.ID, fmt.Sprint("words to be found later, number ", i))
	}
	ctx := context.Background()
	db := e.srv.Accounts().DB
	if _, err := db.Pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pageinspect"); err != nil {
		t.Fatal(err)
	}
	pending := func() (n int64) {
		t.Helper()
		err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT n_pending_tuples FROM gin_metapage_info(get_raw_page('messages_trigrams', 0))) +
			(SELECT n_pending_tuples FROM gin_metapage_info(get_raw_page('message_words_words', 0)))`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for n := pending(); n != 0; n = pending() {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still pending in the search indexes", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// and what was merged is found
	var hits int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM message_words WHERE words @@ to_tsquery('simple', 'found')`).Scan(&hits); err != nil || hits != 20 {
		t.Fatalf("word search after the merge: %d hits, %v", hits, err)
	}
}
