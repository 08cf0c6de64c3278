// Package store is Parley's only door to Postgres: the sqlc-generated
// queries, the schema migration, transactions, and the private cluster that
// runs when no external database is configured.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersion is the schema this binary brings in schema.sql; the steps
// in migrations/ (NNN.sql brings version NNN) upgrade an older database.
const SchemaVersion = 4

// viewsMarker starts the part of schema.sql that an upgrade re-creates.
const viewsMarker = "-- @views"

//go:embed migrations/*.sql
var migrations embed.FS

// schemaLockID is the advisory lock taken while migrating, so several nodes
// starting at once apply the schema exactly once.
const schemaLockID = 0x7061726c6579 // "parley"

// DB is a connection pool with the generated queries on it.
type DB struct {
	*Queries
	Pool *pgxpool.Pool
}

// DefaultPoolSize is the connection pool of a node: enough for concurrent
// sends to keep PostgreSQL busy on a small machine.
const DefaultPoolSize = 32

// Open connects to url and checks the connection; maxConns 0 means
// DefaultPoolSize.
func Open(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns <= 0 {
		maxConns = DefaultPoolSize
	}
	cfg.MaxConns = maxConns
	cfg.ConnConfig.Tracer = counter{}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second // an unreachable server fails in time
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &DB{Queries: New(pool), Pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// InTx runs fn in a transaction, committing when it returns nil. A
// transaction that PostgreSQL aborted to break a deadlock (or a
// serialization failure) is run again, up to three times in all, so fn must
// only assign what it computes.
func (db *DB) InTx(ctx context.Context, fn func(q *Queries) error) error {
	var err error
	for try := 0; try < 3; try++ {
		err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			return fn(db.Queries.WithTx(tx))
		})
		if !IsDeadlock(err) && pgCode(err) != "40001" {
			return err
		}
	}
	return err
}

// ErrSchemaTooNew means the database was migrated by a newer Parley.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// Migrate applies schema (the contents of schema.sql) when the database has
// none yet, or the upgrade steps from its version on, in one transaction
// holding an advisory lock, and records SchemaVersion. It refuses a
// database whose recorded version is newer.
func Migrate(ctx context.Context, db *DB, schema string) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLockID)); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS parley_schema (
			version    integer     NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create parley_schema: %w", err)
		}
		var current int
		err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM parley_schema").Scan(&current)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		switch {
		case current > SchemaVersion:
			return fmt.Errorf("%w: the database is at version %d, this binary knows up to %d; run a newer parley",
				ErrSchemaTooNew, current, SchemaVersion)
		case current == SchemaVersion:
			return nil
		case current != 0:
			for v := current + 1; v <= SchemaVersion; v++ {
				step, err := migrations.ReadFile(fmt.Sprintf("migrations/%03d.sql", v))
				if err != nil {
					return fmt.Errorf("database schema version %d has no upgrade path to %d", current, SchemaVersion)
				}
				if _, err := tx.Exec(ctx, string(step)); err != nil {
					return fmt.Errorf("upgrade schema to version %d: %w", v, err)
				}
			}
			if _, views, ok := strings.Cut(schema, "\n"+viewsMarker); ok {
				if _, err := tx.Exec(ctx, viewsMarker+views); err != nil {
					return fmt.Errorf("re-create views: %w", err)
				}
			}
		default:
			if _, err := tx.Exec(ctx, schema); err != nil {
				return fmt.Errorf("apply schema: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO parley_schema (version) VALUES ($1)", SchemaVersion); err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
		applied = true
		return nil
	})
	return applied, err
}

// ExecScript runs a script of SQL statements on its own connection to url
// (for tools such as `parley bench pg`).
func ExecScript(ctx context.Context, url, script string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, script)
	return err
}
