package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A piped transaction sends its BEGIN in the same round trip as its first
// statement (pgx's Batch.BeginTx), and can send its COMMIT with its last
// one (InsertOutboxCommit). A send is then two round trips instead of four
// (BEGIN, the send, the outbox insert, COMMIT): on a small machine each
// round trip is a wake-up of the PostgreSQL backend and of the node, and
// they cost more CPU than the send statement itself.

// InPipedTx runs fn in a transaction as InTx does (committing when fn
// returns nil, and running it again after a deadlock or a serialization
// failure), with BEGIN pipelined with fn's first statement. fn may end the
// transaction itself with InsertOutboxCommit. A fn that runs no statement
// opens no transaction.
func (db *DB) InPipedTx(ctx context.Context, fn func(q *Queries) error) error {
	var err error
	for try := 0; try < 3; try++ {
		err = db.pipedTx(ctx, fn)
		if !IsDeadlock(err) && pgCode(err) != "40001" {
			return err
		}
	}
	return err
}

func (db *DB) pipedTx(ctx context.Context, fn func(q *Queries) error) (err error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// a connection left inside a transaction is closed, not reused
	defer conn.Release()
	p := &pipeTx{conn: conn}
	defer func() {
		if err != nil && p.tx != nil && conn.Conn().PgConn().TxStatus() != 'I' {
			_ = p.tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(&Queries{db: p}); err != nil {
		return err
	}
	if p.tx == nil || p.committed {
		return nil
	}
	return p.tx.Commit(ctx)
}

// pipeTx is the DBTX of a piped transaction: until its first statement no
// transaction is open, and that statement travels with the BEGIN.
type pipeTx struct {
	conn      *pgxpool.Conn
	tx        pgx.Tx // nil until the first statement
	committed bool   // by InsertOutboxCommit
}

var errPipeDone = errors.New("store: statement after the piped transaction committed")

func (p *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if p.committed {
		return pgx.FailedBatchResults(b, errPipeDone)
	}
	if p.tx != nil {
		return p.tx.SendBatch(ctx, b)
	}
	nb := &pgx.Batch{}
	nb.BeginTx(pgx.TxOptions{})
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	br := p.conn.SendBatch(ctx, nb)
	p.tx = br.Tx()
	// the BEGIN's result; when it fails, so do the results after it
	_, _ = br.Exec()
	return br
}

// open reports whether the transaction has begun and not committed:
// statements then go to it directly.
func (p *pipeTx) open() bool { return p.tx != nil && !p.committed }

// lone sends one statement as a batch, so that the BEGIN travels with it.
func (p *pipeTx) lone(ctx context.Context, sql string, args []any) pgx.BatchResults {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return p.SendBatch(ctx, b)
}

func (p *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if p.open() {
		return p.tx.Exec(ctx, sql, args...)
	}
	br := p.lone(ctx, sql, args)
	ct, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return ct, err
}

func (p *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if p.open() {
		return p.tx.Query(ctx, sql, args...)
	}
	br := p.lone(ctx, sql, args)
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return rows, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (p *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	return &batchRow{rows: rows, err: err}
}

// batchRows are the rows of a batch's only query: closing them closes the
// batch, which frees the connection.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

// batchRow is pgx's QueryRow over batchRows: ErrNoRows when there is none.
type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r *batchRow) Scan(dest ...any) error {
	if r.err != nil {
		if r.rows != nil {
			r.rows.Close()
		}
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// InsertOutboxCommit is InsertOutbox as the last statement of a piped
// transaction: the COMMIT goes in the same round trip. In any other
// transaction it is InsertOutbox, and the caller commits.
func (q *Queries) InsertOutboxCommit(ctx context.Context, arg InsertOutboxParams) ([]int64, error) {
	p, ok := q.db.(*pipeTx)
	if !ok || p.tx == nil || p.committed {
		return q.InsertOutbox(ctx, arg)
	}
	b := &pgx.Batch{}
	b.Queue(insertOutbox, arg.Topics, arg.Payloads, arg.MessageIds)
	b.Queue("commit")
	br := p.tx.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(arg.Topics))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ct, err := br.Exec()
	if err != nil {
		return nil, err
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	if ct.String() == "ROLLBACK" {
		return nil, pgx.ErrTxCommitRollback
	}
	p.committed = true
	return ids, nil
}
