-- name: CreateSession :one
INSERT INTO sessions (user_id, token_hash, expires_at, user_agent)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: GetSessionUser :one
-- The live session for a token hash, with its user.
SELECT sqlc.embed(sessions), sqlc.embed(users)
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.token_hash = $1 AND sessions.expires_at > now() AND users.deactivated_at IS NULL;

-- name: TouchSession :exec
-- Slides the expiry (a token's never slides); callers do it at most once in
-- a while per session.
UPDATE sessions SET last_used_at = now(), expires_at = CASE WHEN name IS NULL THEN $2 ELSE expires_at END WHERE id = $1;

-- name: CreateToken :one
-- A named session; none past the user's limit of live tokens.
INSERT INTO sessions (user_id, token_hash, expires_at, name)
SELECT @owner::bigint, @token_hash::bytea, @expires_at::timestamptz, @name::text
WHERE (SELECT count(*) FROM sessions x WHERE x.user_id = @owner::bigint AND x.name IS NOT NULL AND x.expires_at > now()) < @max_tokens::bigint
RETURNING *;

-- name: ListTokens :many
SELECT * FROM sessions WHERE user_id = $1 AND name IS NOT NULL AND expires_at > now() ORDER BY id DESC;

-- name: DeleteToken :execrows
DELETE FROM sessions WHERE id = $1 AND user_id = $2 AND name IS NOT NULL;

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
