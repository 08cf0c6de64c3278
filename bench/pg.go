package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/parleychat/parley/store"
)

const pgScript = `\set c random(1, 1000)
BEGIN;
UPDATE bench_conversations SET last_seq = last_seq + 1, updated_at = now() WHERE id = :c RETURNING last_seq AS seq \gset
INSERT INTO bench_messages (conversation_id, seq, sender_id, client_id, body) VALUES (:c, :seq, 1, md5(random()::text), 'benchmark message');
COMMIT;
`

// benchPG measures the ceiling: pgbench running the send transaction's
// shape (bump the conversation's seq, insert the message) on the same
// PostgreSQL, in tables shaped like Parley's.
func benchPG(ctx context.Context, c benchConfig, stderr io.Writer) (*benchResult, error) {
	url := c.dbURL
	if url == "" {
		url = store.EmbeddedURL(c.dataDir)
	}
	setup := `
DROP TABLE IF EXISTS bench_messages, bench_conversations;
CREATE TABLE bench_conversations (id bigint PRIMARY KEY, last_seq bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO bench_conversations (id) SELECT generate_series(1, 1000);
CREATE TABLE bench_messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, conversation_id bigint NOT NULL,
  seq bigint NOT NULL, sender_id bigint NOT NULL, client_id text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE UNIQUE INDEX ON bench_messages (conversation_id, seq);
CREATE UNIQUE INDEX ON bench_messages (conversation_id, sender_id, client_id);`
	if err := store.ExecScript(ctx, url, setup); err != nil {
		return nil, fmt.Errorf("%s (a running parley's embedded database, or --database-url): %w", url, err)
	}
	defer store.ExecScript(context.Background(), url, "DROP TABLE IF EXISTS bench_messages, bench_conversations")
	dir, err := os.MkdirTemp("", "parley-pgbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "send.sql")
	if err := os.WriteFile(script, []byte(pgScript), 0o644); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		if dir, derr := store.FindPostgresBin(""); derr == nil {
			bin = filepath.Join(dir, "pgbench")
		} else {
			return nil, errors.New("pgbench not found: install the PostgreSQL client tools")
		}
	}
	secs := int(math.Max(1, c.duration.Seconds()))
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-c", strconv.Itoa(c.pgClients), "-j", "2",
		"-T", strconv.Itoa(secs), "-f", script, url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	fmt.Fprintf(stderr, "%s", out)
	return &benchResult{Workload: "pg", TPS: tps, DurationS: float64(secs),
		Note: fmt.Sprintf("pgbench -M prepared, %d clients, %ds, seq bump + insert per transaction", c.pgClients, secs)}, nil
}
