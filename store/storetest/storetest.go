// Package storetest gives each test a fresh, migrated database on the real
// test Postgres, cloned from a template and dropped when the test ends.
//
// The server is PARLEY_TEST_DATABASE_URL, by default the local Postgres
// (postgres://postgres@127.0.0.1:5432/postgres). A test fails, never skips,
// when it cannot be reached.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleychat/parley/store"
)

// AdminURL is the maintenance database used to create and drop test databases.
func AdminURL() string {
	if u := os.Getenv("PARLEY_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Schema returns the contents of the repository's schema.sql.
func Schema(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "schema.sql"))
	if err != nil {
		t.Fatalf("read schema.sql: %v", err)
	}
	return string(b)
}

// URL creates a fresh migrated database and returns its connection URL.
func URL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	schema := Schema(t)
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, schema) })
	if templateErr != nil {
		t.Fatalf("test database template on %s: %v (is PostgreSQL running?)", AdminURL(), templateErr)
	}
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("connect to test postgres %s: %v", AdminURL(), err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "parley_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return withDatabase(AdminURL(), name)
}

// New returns an open, migrated, empty database closed when the test ends.
func New(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), URL(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// ensureTemplate makes (once per schema) a migrated template database. The
// name carries a hash of the schema, so a changed schema gets a new template;
// an advisory lock serialises test binaries that start together.
func ensureTemplate(ctx context.Context, schema string) (string, error) {
	sum := sha256.Sum256([]byte(schema))
	name := "parley_tmpl_" + hex.EncodeToString(sum[:6])
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7071)"); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(7071)")
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	db, err := store.Open(ctx, withDatabase(AdminURL(), building), 2)
	if err != nil {
		return "", err
	}
	_, err = store.Migrate(ctx, db, schema)
	db.Close()
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, nil
}

// withDatabase swaps the database name in a postgres:// URL.
func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

// SeedUsers inserts n users at once, named prefix1…prefixN (no usable
// password), and returns their ids.
func SeedUsers(t testing.TB, db *store.DB, prefix string, n int) []int64 {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(),
		`INSERT INTO users (username, display_name, password_hash)
		 SELECT $1 || i, $1 || i, 'x' FROM generate_series(1, $2) i RETURNING id`, prefix, n)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
