package store_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

func TestMigrateIsIdempotentAndConcurrentSafe(t *testing.T) {
	ctx := context.Background()
	// a fresh, empty database: migrate it from several "nodes" at once
	db := storetest.New(t)
	if _, err := db.Pool.Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	schema := storetest.Schema(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	appliedCount := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied, err := store.Migrate(ctx, db, schema)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if applied {
				appliedCount++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if appliedCount != 1 {
		t.Fatalf("schema applied %d times, want exactly 1", appliedCount)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM parley_schema").Scan(&n); err != nil || n != 1 {
		t.Fatalf("parley_schema rows = %d, %v", n, err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	if _, err := db.Pool.Exec(ctx, "INSERT INTO parley_schema (version) VALUES ($1)", store.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err := store.Migrate(ctx, db, storetest.Schema(t))
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Migrate on a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestErrorsClassify(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	if _, err := db.CreateUser(ctx, store.CreateUserParams{Username: "ann", DisplayName: "Ann", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err := db.CreateUser(ctx, store.CreateUserParams{Username: "ann", DisplayName: "Ann", PasswordHash: "x"})
	if !store.IsConflict(err) || store.ConstraintName(err) != "users_username_key" {
		t.Fatalf("duplicate username: %v", err)
	}
	if _, err := db.GetUser(ctx, 999); !store.IsNotFound(err) {
		t.Fatalf("missing user: %v", err)
	}
}

// TestUpgradeFromVersion1 upgrades a database made by the first schema,
// holding data, and finds the same tables, columns and indexes as a new
// install's, with the data carried over.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	old := storetest.New(t)
	v1, err := os.ReadFile("testdata/schema-v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	setup := "DROP SCHEMA public CASCADE; CREATE SCHEMA public; " + string(v1) + `
		CREATE TABLE parley_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
		INSERT INTO parley_schema (version) VALUES (1);
		INSERT INTO users (username, display_name, password_hash) VALUES ('a', 'A', 'x'), ('b', 'B', 'x');
		INSERT INTO groups (name) VALUES ('g');
		INSERT INTO group_members (group_id, user_id, role) SELECT 1, id, 'member' FROM users;`
	if _, err := old.Pool.Exec(ctx, setup); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx, old, storetest.Schema(t)); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := old.Pool.QueryRow(ctx, "SELECT member_count FROM groups WHERE id = 1").Scan(&n); err != nil || n != 2 {
		t.Fatalf("member_count after upgrade = %d, %v", n, err)
	}
	catalog := func(db *store.DB) string {
		var out string
		err := db.Pool.QueryRow(ctx, `SELECT string_agg(x, E'\n' ORDER BY x) FROM (
			SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '') || ' ' || is_nullable AS x
			FROM information_schema.columns WHERE table_schema = 'public'
			UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
			UNION ALL SELECT 'view ' || pg_get_viewdef('member_conversations'::regclass)
			UNION ALL SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
			UNION ALL SELECT 'function ' || p.proname || ' ' || p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
			UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE connamespace = 'public'::regnamespace) c`).Scan(&out)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := catalog(old), catalog(storetest.New(t)); got != want {
		t.Fatalf("upgraded catalog differs from a new install's:\n%s\n---\n%s", got, want)
	}
}

// Two nodes starting at once both make the install's secret: the one whose
// insert waits for the other's must get the other's value, not nothing.
func TestGetOrCreateSecretRacingInsert(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO secrets (name, value) VALUES ('race', 'first')"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		v   []byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		v, err := db.GetOrCreateSecret(ctx, store.GetOrCreateSecretParams{Name: "race", Fresh: []byte("second")})
		got <- result{v, err}
	}()
	// let the second insert reach the conflict and wait on the first
	for {
		var waiting bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO secrets%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || string(r.v) != "first" {
		t.Fatalf("got %q, %v; want the first node's secret", r.v, r.err)
	}
}

// CleanSearchPending merges what sends left in the search indexes' pending
// lists, and stands aside (-1) while another node holds its lock.
func TestCleanSearchPending(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	const lock = 424242
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO users (username, display_name, password_hash) VALUES ('a', 'A', 'x');
		INSERT INTO conversations (kind, direct_key, last_seq) VALUES ('direct', '1:1', 40);
		INSERT INTO messages (conversation_id, seq, sender_id, client_id, body)
		SELECT 1, g, 1, 'c' || g, 'a message of some words, number ' || g FROM generate_series(1, 40) g;
		INSERT INTO message_words (message_id, conversation_id, seq, sender_id, words)
		SELECT id, conversation_id, seq, sender_id, to_tsvector('simple', body) FROM messages`); err != nil {
		t.Fatal(err)
	}
	if pages, err := db.CleanSearchPending(ctx, lock); err != nil || pages < 2 {
		t.Fatalf("first clean: %d pages, %v; want both indexes' pending pages", pages, err)
	}
	if pages, err := db.CleanSearchPending(ctx, lock); err != nil || pages != 0 {
		t.Fatalf("second clean: %d pages, %v; want 0", pages, err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(lock)); err != nil {
		t.Fatal(err)
	}
	if pages, err := db.CleanSearchPending(ctx, lock); err != nil || pages != -1 {
		t.Fatalf("clean while another holds the lock: %d, %v; want -1", pages, err)
	}
}
