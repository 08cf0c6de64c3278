-- name: AdminListUsers :many
-- Every account, bots and the deactivated too, by id after @after,
-- matching @prefix (empty: all) on username or display name.
SELECT * FROM users
WHERE id > @after::bigint
  AND (@prefix::text = ''
       OR (username ~>=~ @prefix::text AND username ~<~ (@prefix::text || chr(1114111)))
       OR lower(display_name) LIKE @pattern::text)
ORDER BY id
LIMIT @lim;

-- name: LockActiveAdmins :many
-- The active admins, locked: two admins demoting each other at once
-- cannot leave none.
SELECT id FROM users WHERE role = 'admin' AND deactivated_at IS NULL ORDER BY id FOR UPDATE;

-- name: SetUserRole :one
UPDATE users SET role = @role WHERE id = @id AND NOT bot RETURNING *;

-- name: SetUserRoleByName :one
UPDATE users SET role = @role WHERE username = @username AND NOT bot RETURNING *;

-- name: DeactivateUser :many
-- The user and the bots they own, deactivated; returns who was. The bots
-- of webhooks belong to their channels and stay, but a webhook's own bot
-- deactivated goes with its webhook.
WITH hook AS (
    DELETE FROM webhooks WHERE bot_id = @id
)
UPDATE users u SET deactivated_at = now()
WHERE (u.id = @id OR (u.owner_id = @id AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.bot_id = u.id)))
  AND u.deactivated_at IS NULL
RETURNING u.id;

-- name: ReactivateUser :one
UPDATE users SET deactivated_at = NULL WHERE id = @id AND NOT bot RETURNING *;

-- name: DeleteSessionsOf :many
-- Every session of these users, for sockets to close.
DELETE FROM sessions WHERE user_id = ANY(@user_ids::bigint[]) RETURNING id, user_id;

-- name: CreateReport :one
INSERT INTO reports (message_id, conversation_id, seq, reporter_id, reason)
VALUES (@message_id, @conversation_id, @seq, @reporter_id, @reason)
ON CONFLICT (message_id, reporter_id) DO UPDATE SET reason = excluded.reason, resolved_at = NULL, resolved_by = NULL
RETURNING *;

-- name: ListReports :many
-- Open reports (or all, newest first), with the message reported.
SELECT sqlc.embed(reports), sqlc.embed(messages)
FROM reports JOIN messages ON messages.id = reports.message_id
WHERE (@include_resolved::boolean OR reports.resolved_at IS NULL) AND reports.id < @before::bigint
ORDER BY reports.id DESC
LIMIT 101;

-- name: ResolveReport :one
UPDATE reports SET resolved_at = CASE WHEN @resolved::boolean THEN now() END,
    resolved_by = CASE WHEN @resolved::boolean THEN @by::bigint END
WHERE id = @id RETURNING *;

-- name: GetUsersByID :many
SELECT * FROM users WHERE id = ANY(@ids::bigint[]);

-- name: AddAudit :exec
INSERT INTO audit_log (actor_id, action, target, address) VALUES (@actor_id, @action, @target, @address);

-- name: ListAudit :many
-- Newest first, before @before, with the actor's username.
SELECT a.id, a.at, a.actor_id, a.action, a.target, a.address, u.username AS actor_username
FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
WHERE a.id < @before::bigint ORDER BY a.id DESC LIMIT @lim;

-- name: ListAuditAfter :many
-- Oldest first, after @after (to follow the log).
SELECT a.id, a.at, a.actor_id, a.action, a.target, a.address, u.username AS actor_username
FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
WHERE a.id > @after::bigint ORDER BY a.id LIMIT @lim;

-- name: PurgeAudit :execrows
DELETE FROM audit_log WHERE at < @before;

-- name: ServerFacts :one
SELECT pg_database_size(current_database())::bigint AS database_bytes,
       (SELECT count(*) FROM users WHERE NOT bot AND deactivated_at IS NULL)::bigint AS users,
       (SELECT count(*) FROM users WHERE bot AND deactivated_at IS NULL)::bigint AS bots,
       (SELECT count(*) FROM groups)::bigint AS groups,
       (SELECT coalesce(sum(last_seq), 0) FROM conversations)::bigint AS messages,
       (SELECT count(*) FROM reports WHERE resolved_at IS NULL)::bigint AS open_reports;

-- name: ListReportContext :many
-- The messages around reported ones: two before and two after each.
WITH r AS (
    SELECT unnest(@conversation_ids::bigint[]) AS conversation_id, unnest(@seqs::bigint[]) AS seq
)
SELECT DISTINCT ON (m.id) m.* FROM messages m
JOIN r ON m.conversation_id = r.conversation_id AND m.seq BETWEEN r.seq - 2 AND r.seq + 2
ORDER BY m.id;
