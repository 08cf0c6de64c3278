-- name: UpsertPushSubscription :one
-- A browser's subscription; the same endpoint again takes the new keys
-- (and the new user, should another account log in on that browser).
INSERT INTO push_subscriptions (user_id, session_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, session_id = EXCLUDED.session_id,
    p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
RETURNING id, (xmax = 0)::boolean AS inserted;

-- name: TrimPushSubscriptions :exec
-- A user keeps their newest few subscriptions (browsers, devices).
DELETE FROM push_subscriptions d
WHERE d.user_id = @owner AND d.id NOT IN (
    SELECT k.id FROM push_subscriptions k WHERE k.user_id = @owner ORDER BY k.id DESC LIMIT @keep);

-- name: DiscardPushes :exec
-- With push off, what the sends queued goes.
DELETE FROM push_queue WHERE created_at < now() - interval '1 minute';

-- name: DeletePushSubscription :execrows
DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2;

-- name: DropPushSubscription :exec
-- The push service said the subscription is gone.
DELETE FROM push_subscriptions WHERE id = $1;

-- name: ListPushSubscriptions :many
SELECT * FROM push_subscriptions WHERE user_id = ANY(@user_ids::bigint[]) ORDER BY id;

-- name: ClaimPushes :many
-- The queued messages of conversations whose pushes are due, for this node
-- for ten minutes (a node that dies with them leaves them to another). A
-- conversation is due once it has been quiet for a moment (no
-- newer message for @quiet_s seconds), or its oldest waiting message is
-- older than @longest_s:
-- a busy channel pushes every so often, never once per message.
WITH due AS (
    SELECT q.conversation_id FROM push_queue q
    WHERE q.claimed_until IS NULL OR q.claimed_until < now()
    GROUP BY q.conversation_id
    HAVING max(q.created_at) <= now() - make_interval(secs => @quiet_s::float8)
        OR min(q.created_at) <= now() - make_interval(secs => @longest_s::float8)
)
UPDATE push_queue SET claimed_until = now() + interval '10 minutes'
WHERE id IN (
    SELECT q.id FROM push_queue q
    WHERE q.conversation_id IN (SELECT conversation_id FROM due)
      AND (q.claimed_until IS NULL OR q.claimed_until < now())
    ORDER BY q.id LIMIT @lim FOR UPDATE SKIP LOCKED)
RETURNING id, message_id, conversation_id;

-- name: DonePushes :exec
DELETE FROM push_queue WHERE id = ANY(@ids::bigint[]);

-- name: ListPushRecipients :many
-- The members of a conversation who may be pushed: a subscription, and a
-- notify level that is not none (muted is none).
SELECT mb.user_id, mb.notify FROM members mb
WHERE mb.conversation_id = $1 AND NOT mb.muted AND mb.notify <> 'none'
  AND EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = mb.user_id);

-- name: ListMentionsOf :many
SELECT message_id, user_id FROM mentions WHERE message_id = ANY(@message_ids::bigint[]);
