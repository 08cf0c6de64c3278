-- name: CreateSession :one
INSERT INTO sessions (user_id, token_hash, expires_at, user_agent)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: GetSessionUser :one
-- The live session for a token hash, with its user.
SELECT sqlc.embed(sessions), sqlc.embed(users)
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.token_hash = $1 AND sessions.expires_at > now();

-- name: TouchSession :exec
-- Slides the expiry; callers do it at most once in a while per session.
UPDATE sessions SET last_used_at = now(), expires_at = $2 WHERE id = $1;

-- name: DeleteSession :exec
DELETE FROM sessions WHERE id = $1;

-- name: DeleteOtherSessions :many
DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id;

-- name: DeleteUserSessions :many
DELETE FROM sessions WHERE user_id = $1 RETURNING id;

-- name: DeleteExpiredSessions :execrows
DELETE FROM sessions WHERE expires_at <= now();

-- name: ListLiveSessions :many
SELECT id FROM sessions WHERE id = ANY(@ids::bigint[]) AND expires_at > now();
