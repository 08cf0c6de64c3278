package store

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Query counting, for tests that prove a use case's cost does not grow
// with the wrong thing: every statement run with a context from
// WithQueryCount adds one to its counter (a batch counts each of its
// statements).

type countKey struct{}

// WithQueryCount returns a context that counts the statements run with it.
func WithQueryCount(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, countKey{}, n), n
}

type roundTripKey struct{}

// WithRoundTrips returns a context that counts the round trips made with
// it: a statement on its own, or a batch of them.
func WithRoundTrips(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, roundTripKey{}, n), n
}

func roundTrip(ctx context.Context) {
	if n, ok := ctx.Value(roundTripKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

type counter struct{}

func count(ctx context.Context) {
	if n, ok := ctx.Value(countKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

func (counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	count(ctx)
	roundTrip(ctx)
	return ctx
}

func (counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	roundTrip(ctx)
	return ctx
}

func (counter) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchQueryData) {
	count(ctx)
}

func (counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
