-- name: CreateUser :one
-- The first account of an install (bots aside) is its admin.
INSERT INTO users (username, display_name, password_hash, role)
VALUES (@username, @display_name, @password_hash,
        CASE WHEN @admin::boolean OR NOT EXISTS (SELECT 1 FROM users WHERE NOT bot) THEN 'admin' ELSE 'member' END)
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
WHERE ((username ~>=~ @prefix::text AND username ~<~ (@prefix::text || chr(1114111)))
   OR (lower(display_name) ~>=~ lower(@prefix::text) AND lower(display_name) ~<~ (lower(@prefix::text) || chr(1114111))))
  AND deactivated_at IS NULL
  -- a webhook's bot posts through its webhook only
  AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.bot_id = users.id)
ORDER BY username
LIMIT 20;

-- name: SetLastSeen :exec
UPDATE users SET last_seen_at = $2 WHERE id = $1;

-- name: ListVisiblePresence :many
-- Which of @ids the caller may see the presence of (Presence v1.1): the
-- caller, and anyone whose setting allows it who is a mutual contact or,
-- with the setting "shared", in a group with the caller or their peer in a
-- direct chat where both have written.
SELECT u.id, u.last_seen_at FROM users u
WHERE u.id = ANY(@ids::bigint[])
  AND (u.id = @caller_id OR (u.presence_visibility <> 'nobody' AND (
        (EXISTS (SELECT 1 FROM contacts c WHERE c.owner_id = @caller_id AND c.user_id = u.id)
         AND EXISTS (SELECT 1 FROM contacts c WHERE c.owner_id = u.id AND c.user_id = @caller_id))
     OR (u.presence_visibility = 'shared' AND (
            EXISTS (SELECT 1 FROM group_members a JOIN group_members b ON b.group_id = a.group_id
                    WHERE a.user_id = @caller_id AND b.user_id = u.id)
         OR EXISTS (SELECT 1 FROM members a JOIN members b ON b.conversation_id = a.conversation_id
                    JOIN conversations c ON c.id = a.conversation_id AND c.kind = 'direct'
                    WHERE a.user_id = @caller_id AND b.user_id = u.id AND a.has_sent AND b.has_sent))))));

-- name: ListPresenceWatchers :many
-- Who may see @user_id's presence one by one (the groups they share are
-- told at once, on the group's topic): mutual contacts and, with the
-- setting "shared", direct-chat peers where both have written. With each,
-- their own setting (a "nobody" sees no last_seen). The watcher ids are
-- found from @user_id's own rows first and the users joined by key, so the
-- cost follows the watchers, not the number of users on the install.
WITH subject AS (
    SELECT s.id, s.presence_visibility FROM users s WHERE s.id = @user_id AND s.presence_visibility <> 'nobody'
), ids AS (
    SELECT c.owner_id AS id FROM subject u
    JOIN contacts c ON c.user_id = u.id
    JOIN contacts back ON back.owner_id = u.id AND back.user_id = c.owner_id
    UNION
    SELECT a.user_id FROM subject u
    JOIN members b ON b.user_id = u.id AND b.has_sent
    JOIN conversations cv ON cv.id = b.conversation_id AND cv.kind = 'direct'
    JOIN members a ON a.conversation_id = b.conversation_id AND a.user_id <> u.id AND a.has_sent
    WHERE u.presence_visibility = 'shared'
)
SELECT w.id AS user_id, w.presence_visibility FROM ids JOIN users w ON w.id = ids.id;

-- name: ListUserGroupSizes :many
SELECT gm.group_id, g.member_count FROM group_members gm JOIN groups g ON g.id = gm.group_id
WHERE gm.user_id = $1;

-- name: SetPresenceVisibility :one
UPDATE users SET presence_visibility = $2 WHERE id = $1
RETURNING *;

-- name: CreateBot :one
-- A bot: no password (it signs in with its secret only).
INSERT INTO users (username, display_name, password_hash, bot, owner_id)
SELECT @username::text, @display_name::text, '', true, @owner::bigint
WHERE (SELECT count(*) FROM users b WHERE b.owner_id = @owner::bigint AND b.deactivated_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.bot_id = b.id)) < @max_bots::bigint
RETURNING *;

-- name: ListBots :many
-- An owner's bots, but not those of webhooks (listed with their webhook).
SELECT * FROM users u WHERE u.owner_id = $1 AND u.deactivated_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.bot_id = u.id)
ORDER BY u.id;

-- name: DeactivateBot :one
UPDATE users u SET deactivated_at = now() WHERE u.id = $1 AND u.owner_id = $2 AND u.deactivated_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.bot_id = u.id)
RETURNING u.id;
