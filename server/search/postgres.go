package search

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres searches in the database: words through the GIN index of
// message_words (a stored tsvector per message, the simple configuration:
// no language's stemming), substrings through a pg_trgm GIN index on
// messages.body. The statement is put together here, not by
// sqlc, because its conditions depend on the query; every value is a
// parameter.
type Postgres struct{ pool *pgxpool.Pool }

// NewPostgres searches through pool.
func NewPostgres(pool *pgxpool.Pool) *Postgres { return &Postgres{pool: pool} }

func (p *Postgres) Search(ctx context.Context, q Query) ([]int64, bool, error) {
	sql, args := statement(q)
	rows, err := p.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, false, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(ids) > q.Limit
	return ids[:min(len(ids), q.Limit)], more, nil
}

// Explain is the search's plan as run (EXPLAIN ANALYZE), for benchmarks.
func Explain(ctx context.Context, pool *pgxpool.Pool, q Query) ([]string, error) {
	sql, args := statement(q)
	rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// statement is the search as SQL. With words, it starts from their index
// in message_words and filters by membership there (no message is read
// but the hits); with only substrings, from the trigram index on messages.
func statement(q Query) (string, []any) {
	args := []any{q.UserID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var from, id string
	var where []string
	if ts := q.Terms.TSQuery(); ts != "" {
		from, id = "message_words m", "m.message_id"
		where = append(where, "m.words @@ to_tsquery('simple', "+arg(ts)+")")
		var text []string
		for _, s := range q.Terms.Substrings {
			text = append(text, "b.body ILIKE "+arg(Like(s)))
		}
		for _, s := range q.Terms.NotSubstr {
			text = append(text, "b.body NOT ILIKE "+arg(Like(s)))
		}
		if len(text) > 0 {
			where = append(where, "EXISTS (SELECT 1 FROM messages b WHERE b.id = m.message_id AND NOT b.deleted AND "+strings.Join(text, " AND ")+")")
		}
	} else {
		from, id = "messages m", "m.id"
		where = append(where, "NOT m.deleted")
		for _, s := range q.Terms.Substrings {
			where = append(where, "m.body ILIKE "+arg(Like(s)))
		}
		for _, s := range q.Terms.NotSubstr {
			where = append(where, "m.body NOT ILIKE "+arg(Like(s)))
		}
		for _, w := range q.Terms.NotWords {
			where = append(where, "NOT EXISTS (SELECT 1 FROM message_words x WHERE x.message_id = m.id AND x.words @@ to_tsquery('simple', "+arg("'"+w+"':*")+"))")
		}
	}
	if q.ConversationID != 0 {
		where = append(where, "m.conversation_id = "+arg(q.ConversationID))
	}
	if q.GroupID != 0 {
		where = append(where, "m.conversation_id IN (SELECT id FROM conversations WHERE group_id = "+arg(q.GroupID)+")")
	}
	if q.From != 0 {
		where = append(where, "m.sender_id = "+arg(q.From))
	}
	if q.Before != 0 {
		where = append(where, id+" < "+arg(q.Before))
	}
	sql := "SELECT " + id + " FROM " + from + `
JOIN members me ON me.conversation_id = m.conversation_id AND me.user_id = $1
WHERE m.seq > me.cleared_seq AND ` + strings.Join(where, " AND ") + `
ORDER BY ` + id + " DESC LIMIT " + arg(q.Limit+1)
	return sql, args
}
