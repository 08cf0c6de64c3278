-- name: InsertOutbox :many
INSERT INTO outbox (topic, payload)
SELECT unnest(@topics::text[]), unnest(@payloads::bytea[])
RETURNING id;

-- name: DeleteOutbox :exec
DELETE FROM outbox WHERE id = ANY(@ids::bigint[]);

-- name: LockStaleOutbox :many
-- Events whose publisher did not finish (a crash, a broker outage), oldest
-- first; locked, so two nodes' sweepers never publish the same rows at once.
SELECT id, payload FROM outbox
WHERE created_at < now() - make_interval(secs => @older_than_s::float8)
ORDER BY id
LIMIT @lim
FOR UPDATE SKIP LOCKED;

-- name: CountOutbox :one
SELECT count(*) FROM outbox;
