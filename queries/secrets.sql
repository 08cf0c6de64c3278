-- name: GetOrCreateSecret :one
-- The install's secret of this name, made from @fresh by the first node to ask.
-- DO UPDATE (a no-op) rather than DO NOTHING: a node that races another's
-- insert waits for it and gets the row it wrote, where a SELECT would still
-- see the snapshot from before that insert and find nothing.
INSERT INTO secrets (name, value) VALUES (@name, @fresh)
ON CONFLICT (name) DO UPDATE SET name = excluded.name
RETURNING value;
