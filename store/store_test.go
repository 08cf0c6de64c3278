package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

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
