package store_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// ReceiptCounts against counting by hand, over 300 members with random
// watermarks and 300 messages: the newest @most seqs of the span asked
// for, the caller left out.
func TestReceiptCountsCountWhatTheWatermarksSay(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	exec := execer(t, db)
	const members, last = 300, int64(300)
	exec(`INSERT INTO users (username, display_name, password_hash) SELECT 'u' || g, 'U', 'x' FROM generate_series(1, $1::int) g`, members)
	exec(`INSERT INTO groups (name) VALUES ('g')`)
	exec(`INSERT INTO conversations (kind, group_id, name, last_seq) VALUES ('channel', 1, 'general', $1)`, last)
	rng := rand.New(rand.NewPCG(1, 2))
	delivered, read := make([]int64, members+1), make([]int64, members+1)
	for u := 1; u <= members; u++ {
		delivered[u] = rng.Int64N(last + 1)
		read[u] = rng.Int64N(delivered[u] + 1)
		exec(`INSERT INTO members (conversation_id, user_id, delivered_seq, read_seq) VALUES (1, $1, $2, $3)`, u, delivered[u], read[u])
	}
	for _, span := range []struct{ from, to, most int64 }{
		{1, last, 400}, {1, last, 200}, {250, 260, 200}, {1, 1 << 62, 50}, {299, 300, 200}, {301, 400, 200},
	} {
		rows, err := db.ReceiptCounts(ctx, store.ReceiptCountsParams{ConversationID: 1, UserID: 7,
			FromSeq: span.from, ToSeq: span.to, Most: span.most})
		if err != nil {
			t.Fatal(err)
		}
		hi := min(span.to, last)
		lo := max(span.from, hi-span.most+1)
		if want := max(hi-lo+1, 0); int64(len(rows)) != want {
			t.Fatalf("%+v: %d rows; want %d", span, len(rows), want)
		}
		for i, row := range rows {
			seq := lo + int64(i)
			var d, r int64
			for u := 1; u <= members; u++ {
				if u == 7 {
					continue
				}
				if delivered[u] >= seq {
					d++
				}
				if read[u] >= seq {
					r++
				}
			}
			if row.Seq != seq || row.Delivered != d || row.Read != r {
				t.Fatalf("%+v: row %d = %+v; want seq %d delivered %d read %d", span, i, row, seq, d, r)
			}
		}
	}
}
