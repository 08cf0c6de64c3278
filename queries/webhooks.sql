-- name: CreateWebhookBot :one
-- The bot a webhook posts as: no password, no token, a member of the
-- webhook's channel alone.
WITH bot AS (
    INSERT INTO users (username, display_name, password_hash, bot, owner_id)
    VALUES (@username::text, @display_name::text, '', true, @owner::bigint)
    RETURNING *
), joined AS (
    INSERT INTO members (conversation_id, user_id, delivered_seq, read_seq)
    SELECT @conversation_id::bigint, bot.id, c.last_seq, c.last_seq FROM bot, conversations c WHERE c.id = @conversation_id::bigint
)
SELECT * FROM bot;

-- name: CreateWebhook :one
INSERT INTO webhooks (conversation_id, bot_id, name, secret, created_by)
SELECT @conversation_id, @bot_id, @name, @secret, @created_by
WHERE (SELECT count(*) FROM webhooks WHERE conversation_id = @conversation_id) < @max_webhooks::bigint
RETURNING *;

-- name: ListWebhooks :many
SELECT * FROM webhooks WHERE conversation_id = $1 ORDER BY id;

-- name: DeleteWebhook :one
-- Its bot leaves the channel (and a trigger deactivates it); its messages
-- stay.
WITH gone AS (
    DELETE FROM webhooks w WHERE w.id = @id AND w.conversation_id = @conversation_id RETURNING w.bot_id, w.conversation_id
), left_channel AS (
    DELETE FROM members USING gone WHERE members.conversation_id = gone.conversation_id AND members.user_id = gone.bot_id
)
SELECT bot_id FROM gone;

-- name: GetWebhookBySecret :one
-- A live webhook and its bot.
SELECT sqlc.embed(webhooks), sqlc.embed(users)
FROM webhooks JOIN users ON users.id = webhooks.bot_id
WHERE webhooks.secret = $1 AND users.deactivated_at IS NULL;
