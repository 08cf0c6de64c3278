package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// An export (`parley export`) is every table that holds what people wrote
// and how the install is organised, one JSON object per row, in the order
// an import loads them (each table's references come before it). Left out:
// sessions but tokens (with --passwords; everyone else signs in again),
// push subscriptions (browsers subscribe again), the outbox,
// the sync tombstones, the install's secrets, the search index (rebuilt on
// import) and the file store's own chunks (the bytes travel as blobs).
var ExportTables = []ExportTable{
	{Name: "users", Order: "id"}, {Name: "contacts", Order: "owner_id, user_id"}, {Name: "groups", Order: "id"},
	{Name: "group_members", Order: "group_id, user_id"}, {Name: "invites", Order: "code"},
	{Name: "conversations", Order: "id"}, {Name: "members", Order: "conversation_id, user_id"},
	{Name: "messages", Order: "id"}, {Name: "message_revisions", Order: "id"},
	{Name: "reactions", Order: "message_id, emoji, user_id"}, {Name: "mentions", Order: "message_id, user_id"},
	{Name: "files", Order: "id"}, {Name: "link_previews", Order: "url"},
	{Name: "message_previews", Order: "message_id, url"}, {Name: "webhooks", Order: "id"},
	{Name: "reports", Order: "id"}, {Name: "audit_log", Order: "id"},
	{Name: "sessions", Order: "id", Where: "name IS NOT NULL", Secret: true},
}

// ExportTable is one table of an export and the order of its rows; Where
// keeps some rows only; a Secret table's rows are exported only with the
// password hashes (the tokens, bots' secrets among them, as hashes too).
type ExportTable struct {
	Name, Order, Where string
	Secret             bool
}

func (t ExportTable) from(passwords bool) string {
	w := "true"
	if t.Where != "" {
		w = t.Where
	}
	if t.Secret && !passwords {
		w = "false"
	}
	return pgx.Identifier{t.Name}.Sanitize() + " x WHERE " + w
}

// CountRows counts a table's rows of an export (for its progress).
func (db *DB) CountRows(ctx context.Context, t ExportTable, passwords bool) (int64, error) {
	var n int64
	err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM "+t.from(passwords)).Scan(&n)
	return n, err
}

// ExportRows hands each row of t to fn as JSON, in a repeatable order. A
// user's password hash is left out (empty) unless passwords is set.
func (db *DB) ExportRows(ctx context.Context, t ExportTable, passwords bool, fn func(row []byte) error) error {
	// transaction ids are the old install's own: an import stamps its own
	expr := "to_jsonb(x) - 'change_xid' - 'updated_xid'"
	if t.Name == "users" && !passwords {
		expr += ` || '{"password_hash": ""}'`
	}
	rows, err := db.Pool.Query(ctx, fmt.Sprintf("SELECT (%s)::text FROM %s ORDER BY %s", expr, t.from(passwords), t.Order))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ErrNotEmpty means an import was asked into an install that has accounts.
var ErrNotEmpty = errors.New("the install is not empty: import into a new one")

// Importer loads an export in one transaction: all of it, or nothing.
type Importer struct {
	tx pgx.Tx
}

// BeginImport starts an import into an install that has no accounts.
func (db *DB) BeginImport(ctx context.Context) (*Importer, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	// one import at a time, and nothing else making accounts meanwhile
	if _, err := tx.Exec(ctx, "LOCK TABLE users IN EXCLUSIVE MODE"); err != nil {
		_ = tx.Rollback(ctx)
		return nil, err
	}
	var empty bool
	if err := tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM users)").Scan(&empty); err != nil {
		_ = tx.Rollback(ctx)
		return nil, err
	}
	if !empty {
		_ = tx.Rollback(ctx)
		return nil, ErrNotEmpty
	}
	return &Importer{tx: tx}, nil
}

// Load inserts rows (JSON objects of an export) into table t, ids as they
// were.
func (im *Importer) Load(ctx context.Context, t ExportTable, rows [][]byte) error {
	if len(rows) == 0 {
		return nil
	}
	arr := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		arr[i] = r
	}
	b, err := json.Marshal(arr)
	if err != nil {
		return err
	}
	name := pgx.Identifier{t.Name}.Sanitize()
	// each row over a base that stamps this transaction as its change
	_, err = im.tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s OVERRIDING SYSTEM VALUE
		SELECT (jsonb_populate_record(NULL::%s, jsonb_build_object('change_xid', parley_xid()) || r)).*
		FROM jsonb_array_elements($1::jsonb) r`, name, name), b)
	return err
}

// Finish makes the loaded rows the install's: identity counters move past
// the loaded ids, the search index is built, and the transaction commits.
func (im *Importer) Finish(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	steps := []string{
		`DO $$ DECLARE r record; BEGIN
		   FOR r IN SELECT table_name, column_name FROM information_schema.columns
		            WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP
		     EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), coalesce((SELECT max(%I) FROM %I), 0) + 1, false)',
		                    r.table_name, r.column_name, r.column_name, r.table_name);
		   END LOOP;
		 END $$`,
		`INSERT INTO message_words (message_id, conversation_id, seq, sender_id, words)
		 SELECT id, conversation_id, seq, sender_id, to_tsvector('simple', body) FROM messages WHERE NOT deleted AND body <> ''`,
	}
	for _, s := range steps {
		if _, err := im.tx.Exec(ctx, s); err != nil {
			_ = im.tx.Rollback(ctx)
			return err
		}
	}
	return im.tx.Commit(ctx)
}

// Abort rolls the import back.
func (im *Importer) Abort(ctx context.Context) { _ = im.tx.Rollback(context.WithoutCancel(ctx)) }
