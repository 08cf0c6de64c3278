package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parleychat/parley/store"
)

// execer runs statements that set up a test's rows, failing the test on
// an error.
func execer(t *testing.T, db *store.DB) func(sql string, args ...any) {
	return func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
			t.Fatal(err)
		}
	}
}

// planBuffers runs sql under EXPLAIN (ANALYZE, BUFFERS) and returns the
// shared buffers its plan touched, with the plan for messages.
func planBuffers(t *testing.T, db *store.DB, sql string, args ...any) (int, string) {
	t.Helper()
	var raw []byte
	if err := db.Pool.QueryRow(context.Background(), "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var plan []struct {
		Plan struct {
			Hit  int `json:"Shared Hit Blocks"`
			Read int `json:"Shared Read Blocks"`
		}
	}
	if err := json.Unmarshal(raw, &plan); err != nil || len(plan) != 1 {
		t.Fatalf("plan %s: %v", raw, err)
	}
	return plan[0].Plan.Hit + plan[0].Plan.Read, string(raw)
}
