package store_test

import (
	"context"
	"testing"

	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// A sync reads the tombstones made since its cursor from the index range
// that starts at the cursor's xmin, not every tombstone the user has.
func TestSyncTombstonesReadFromTheCursor(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	exec := execer(t, db)
	exec(`INSERT INTO users (username, display_name, password_hash) VALUES ('u1', 'U', 'x')`)
	// 20,000 old tombstones of each kind, from transactions long committed
	exec(`INSERT INTO removals (user_id, conversation_id, change_xid) SELECT 1, g, 3 FROM generate_series(1, 20000) g`)
	exec(`INSERT INTO group_removals (user_id, group_id, change_xid) SELECT 1, g, 3 FROM generate_series(1, 20000) g`)
	exec(`VACUUM ANALYZE removals`)
	exec(`VACUUM ANALYZE group_removals`)
	var cursor string
	if err := db.Pool.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&cursor); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO removals (user_id, conversation_id) VALUES (1, 30001), (1, 30002)`)
	exec(`INSERT INTO group_removals (user_id, group_id) VALUES (1, 30001)`)

	gone, err := db.ListRemovals(ctx, store.ListRemovalsParams{UserID: 1, Since: cursor})
	if err != nil || len(gone) != 2 {
		t.Fatalf("ListRemovals = %v, %v; want the 2 made since the cursor", gone, err)
	}
	groups, err := db.ListGroupRemovals(ctx, store.ListGroupRemovalsParams{UserID: 1, Since: cursor})
	if err != nil || len(groups) != 1 || groups[0] != 30001 {
		t.Fatalf("ListGroupRemovals = %v, %v; want [30001]", groups, err)
	}

	for name, sql := range map[string]string{"removals": store.ListRemovalsSQL, "group_removals": store.ListGroupRemovalsSQL} {
		b, raw := planBuffers(t, db, sql, int64(1), cursor)
		// the whole user's range is over a hundred pages
		if b > 12 {
			t.Errorf("%s: a sync touched %d buffers for 3 new tombstones among 20,000; want a handful:\n%s", name, b, raw)
		} else {
			t.Logf("%s: %d buffers", name, b)
		}
	}
}

// The upload quota's sum reads the uploader's index entries alone, not
// each of their files' rows.
func TestUploadedBytesReadsTheIndex(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	exec := execer(t, db)
	exec(`INSERT INTO users (username, display_name, password_hash) SELECT 'u' || g, 'U', 'x' FROM generate_series(1, 20) g`)
	exec(`INSERT INTO files (uploader_id, name, content_type, size, sha256, key)
		SELECT 1 + g % 20, 'f', 'text/plain', g, '\x00', 'k' || g FROM generate_series(1, 20000) g`)
	exec(`VACUUM ANALYZE files`)
	used, err := db.UploadedBytes(ctx, 1)
	// uploader 1 has g = 20, 40, …, 20000: 20 × (1 + … + 1000)
	if want := int64(20 * 1000 * 1001 / 2); err != nil || used != want {
		t.Fatalf("UploadedBytes = %d, %v; want %d", used, err, want)
	}
	b, raw := planBuffers(t, db, store.UploadedBytesSQL, int64(1))
	// 1,000 files spread over the table's pages would touch most of them
	if b > 20 {
		t.Errorf("the quota sum touched %d buffers for 1,000 files; want the index's few:\n%s", b, raw)
	} else {
		t.Logf("%d buffers", b)
	}
}
