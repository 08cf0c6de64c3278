-- name: InsertOutbox :many
INSERT INTO outbox (topic, payload, message_id)
SELECT unnest(@topics::text[]), unnest(@payloads::bytea[]), nullif(unnest(@message_ids::bigint[]), 0)
RETURNING id;

-- name: DeleteOutbox :exec
DELETE FROM outbox WHERE id = ANY(@ids::bigint[]);

-- name: LockStaleOutbox :many
-- Events whose publisher did not finish (a crash, a broker outage), oldest
-- first; locked, so two nodes' sweepers never publish the same rows at once;
-- skip is what this node's publisher still has queued.
SELECT id, payload FROM outbox
WHERE created_at < now() - make_interval(secs => @older_than_s::float8)
  AND NOT (id = ANY(@skip::bigint[]))
ORDER BY id
LIMIT @lim
FOR UPDATE SKIP LOCKED;

-- name: CountOutbox :one
SELECT count(*) FROM outbox;
