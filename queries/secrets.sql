-- name: GetOrCreateSecret :one
-- The install's secret of this name, made from @fresh by the first node to ask.
WITH made AS (
    INSERT INTO secrets (name, value) VALUES (@name, @fresh) ON CONFLICT (name) DO NOTHING RETURNING value
)
SELECT value FROM made
UNION ALL
SELECT value FROM secrets WHERE name = @name AND NOT EXISTS (SELECT 1 FROM made);
