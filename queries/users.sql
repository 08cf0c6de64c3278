-- name: CreateUser :one
INSERT INTO users (username, display_name, password_hash)
VALUES ($1, $2, $3)
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserByUsername :one
SELECT * FROM users WHERE username = $1;

-- name: UpdateDisplayName :one
UPDATE users SET display_name = $2 WHERE id = $1
RETURNING *;

-- name: UpdatePasswordHash :exec
UPDATE users SET password_hash = $2 WHERE id = $1;

-- name: SearchUsers :many
-- Username or display-name prefix; each side is an index range scan.
SELECT * FROM users
WHERE (username ~>=~ @prefix::text AND username ~<~ (@prefix::text || chr(1114111)))
   OR (lower(display_name) ~>=~ lower(@prefix::text) AND lower(display_name) ~<~ (lower(@prefix::text) || chr(1114111)))
ORDER BY username
LIMIT 20;

-- name: SetLastSeen :exec
UPDATE users SET last_seen_at = $2 WHERE id = $1;

-- name: ListVisiblePresence :many
-- Which of @ids the caller may see the presence of: contacts, and people who
-- share a conversation with the caller that they have not deleted.
SELECT u.id, u.last_seen_at FROM users u
WHERE u.id = ANY(@ids::bigint[])
  AND (u.id = @caller_id
    OR EXISTS (SELECT 1 FROM contacts c WHERE c.owner_id = @caller_id AND c.user_id = u.id)
    OR EXISTS (SELECT 1 FROM members a JOIN members b ON b.conversation_id = a.conversation_id
               WHERE a.user_id = @caller_id AND b.user_id = u.id AND NOT b.hidden));

-- name: ListPresenceWatchers :many
-- Everyone who may see @user_id's presence (the inverse of ListVisiblePresence).
SELECT c.owner_id AS user_id FROM contacts c WHERE c.user_id = @user_id
UNION
SELECT a.user_id FROM members a JOIN members b ON b.conversation_id = a.conversation_id
WHERE b.user_id = @user_id AND a.user_id <> @user_id AND NOT b.hidden;
