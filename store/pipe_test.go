package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

func outboxRows(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func outboxParams(topics ...string) store.InsertOutboxParams {
	p := store.InsertOutboxParams{Topics: topics}
	for range topics {
		p.Payloads, p.MessageIds = append(p.Payloads, []byte("{}")), append(p.MessageIds, 0)
	}
	return p
}

// TestPipedTx: a piped transaction commits with its last statement, in
// two round trips; it rolls back whatever fails, at its first statement or
// later, and leaves its connection fit for the next one.
func TestPipedTx(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	user, err := db.CreateUser(ctx, store.CreateUserParams{Username: "ann", DisplayName: "Ann", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("commits with the outbox insert", func(t *testing.T) {
		cctx, n := store.WithQueryCount(ctx)
		cctx, trips := store.WithRoundTrips(cctx)
		var ids []int64
		err := db.InPipedTx(cctx, func(q *store.Queries) error {
			if _, err := q.GetUser(cctx, user.ID); err != nil { // the first statement, with BEGIN
				return err
			}
			var err error
			ids, err = q.InsertOutboxCommit(cctx, outboxParams("a", "b"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 2 || outboxRows(t, db) != 2 {
			t.Fatalf("ids %v, %d rows; want 2 and 2", ids, outboxRows(t, db))
		}
		// BEGIN, the read, the insert and COMMIT: four statements, as in
		// InTx, in two round trips instead of four
		if n.Load() != 4 || trips.Load() != 2 {
			t.Fatalf("%d statements in %d round trips, want 4 in 2", n.Load(), trips.Load())
		}
		cctx, trips = store.WithRoundTrips(ctx)
		err = db.InTx(cctx, func(q *store.Queries) error {
			_, err := q.GetUser(cctx, user.ID)
			return err
		})
		if err != nil || trips.Load() != 3 {
			t.Fatalf("InTx: %v, %d round trips; want 3", err, trips.Load())
		}
	})

	t.Run("commits without it", func(t *testing.T) {
		before := outboxRows(t, db)
		err := db.InPipedTx(ctx, func(q *store.Queries) error {
			_, err := q.InsertOutbox(ctx, outboxParams("c"))
			return err
		})
		if err != nil || outboxRows(t, db) != before+1 {
			t.Fatalf("err %v, %d rows; want %d", err, outboxRows(t, db), before+1)
		}
	})

	t.Run("rolls back an error after statements", func(t *testing.T) {
		before := outboxRows(t, db)
		boom := errors.New("boom")
		err := db.InPipedTx(ctx, func(q *store.Queries) error {
			if _, err := q.InsertOutbox(ctx, outboxParams("d")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || outboxRows(t, db) != before {
			t.Fatalf("err %v, %d rows; want boom and %d", err, outboxRows(t, db), before)
		}
	})

	t.Run("a first statement that fails", func(t *testing.T) {
		before := outboxRows(t, db)
		err := db.InPipedTx(ctx, func(q *store.Queries) error {
			// a duplicate username fails in the batch that carries BEGIN
			_, err := q.CreateUser(ctx, store.CreateUserParams{Username: "ann", DisplayName: "Ann", PasswordHash: "x"})
			return err
		})
		if !store.IsConflict(err) {
			t.Fatalf("duplicate in the first statement: %v", err)
		}
		err = db.InPipedTx(ctx, func(q *store.Queries) error {
			_, err := q.GetUser(ctx, 999_999)
			return err
		})
		if !store.IsNotFound(err) {
			t.Fatalf("a missing row in the first statement: %v, want not found", err)
		}
		if outboxRows(t, db) != before {
			t.Fatal("rows changed")
		}
	})

	t.Run("the commit's batch fails", func(t *testing.T) {
		before := outboxRows(t, db)
		err := db.InPipedTx(ctx, func(q *store.Queries) error {
			if _, err := q.InsertOutbox(ctx, outboxParams("e")); err != nil {
				return err
			}
			// mismatched arrays: payload NULL for the second row breaks NOT NULL
			p := outboxParams("f", "g")
			p.Payloads = p.Payloads[:1]
			_, err := q.InsertOutboxCommit(ctx, p)
			return err
		})
		if err == nil || outboxRows(t, db) != before {
			t.Fatalf("err %v, %d rows; want an error and %d", err, outboxRows(t, db), before)
		}
	})

	t.Run("nothing after the commit", func(t *testing.T) {
		err := db.InPipedTx(ctx, func(q *store.Queries) error {
			if _, err := q.GetUser(ctx, user.ID); err != nil {
				return err
			}
			if _, err := q.InsertOutboxCommit(ctx, outboxParams("h")); err != nil {
				return err
			}
			_, err := q.GetUser(ctx, user.ID)
			return err
		})
		if err == nil {
			t.Fatal("a statement ran after the commit")
		}
	})

	t.Run("no statement, no transaction", func(t *testing.T) {
		cctx, n := store.WithQueryCount(ctx)
		if err := db.InPipedTx(cctx, func(*store.Queries) error { return nil }); err != nil || n.Load() != 0 {
			t.Fatalf("err %v, %d statements", err, n.Load())
		}
	})

	// every connection the subtests used went back to the pool clean
	for range 12 {
		if _, err := db.GetUser(ctx, user.ID); err != nil {
			t.Fatal(err)
		}
	}
	var idle int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'").Scan(&idle); err != nil || idle != 0 {
		t.Fatalf("%d connections idle in a transaction (%v)", idle, err)
	}
}
