-- name: CreateGroup :one
INSERT INTO groups (name, description) VALUES ($1, $2) RETURNING *;

-- name: UpdateGroup :one
UPDATE groups SET
    name        = coalesce(sqlc.narg(name), name),
    description = coalesce(sqlc.narg(description), description),
    updated_at  = now(),
    change_xid  = parley_xid()
WHERE id = @id
RETURNING *;

-- name: TouchGroup :exec
-- Marks a group changed (members, roles, channels) for /sync.
UPDATE groups SET change_xid = parley_xid() WHERE id = $1;

-- name: DeleteGroup :exec
DELETE FROM groups WHERE id = $1;

-- name: ListUserGroups :many
-- The caller's groups with their role and size: all, one, or those changed
-- since a sync cursor.
SELECT g.*, gm.role AS my_role
FROM group_members gm JOIN groups g ON g.id = gm.group_id
WHERE gm.user_id = @user_id
  AND (sqlc.narg(group_id)::bigint IS NULL OR g.id = sqlc.narg(group_id))
  AND (sqlc.narg(since)::text IS NULL OR parley_changed_since(g.change_xid, sqlc.narg(since)))
ORDER BY lower(g.name), g.id;

-- name: GetGroupRole :one
SELECT role FROM group_members WHERE group_id = $1 AND user_id = $2;

-- name: AddGroupMembers :many
-- Adds users to a group, skipping those already in it; returns who was added.
WITH added AS (
    INSERT INTO group_members (group_id, user_id, role)
    SELECT @group_id::bigint, unnest(@user_ids::bigint[]), @role::text
    ON CONFLICT (group_id, user_id) DO NOTHING
    RETURNING user_id
), counted AS (
    UPDATE groups SET member_count = member_count + (SELECT count(*) FROM added)
    WHERE id = @group_id::bigint
)
SELECT user_id FROM added;

-- name: ListGroupMembers :many
SELECT sqlc.embed(users), gm.role, gm.joined_at
FROM group_members gm JOIN users ON users.id = gm.user_id
WHERE gm.group_id = $1
ORDER BY CASE gm.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, lower(users.display_name), users.id;

-- name: GetGroupMember :one
SELECT sqlc.embed(users), gm.role, gm.joined_at
FROM group_members gm JOIN users ON users.id = gm.user_id
WHERE gm.group_id = $1 AND gm.user_id = $2;

-- name: ListGroupMemberIDs :many
SELECT user_id FROM group_members WHERE group_id = $1;

-- name: SetGroupRole :execrows
UPDATE group_members SET role = $3 WHERE group_id = $1 AND user_id = $2;

-- name: RemoveGroupMember :one
WITH removed AS (
    DELETE FROM group_members WHERE group_id = @group_id AND user_id = @user_id RETURNING 1
), counted AS (
    UPDATE groups SET member_count = member_count - (SELECT count(*) FROM removed)
    WHERE id = @group_id
)
SELECT count(*) FROM removed;

-- name: JoinGroupChannels :exec
-- New group members join every channel, and are back in what they had
-- lost: their removal tombstones go. What the channels hold already is
-- history to them, not unread (joined_seq).
WITH joined AS (
    INSERT INTO members (conversation_id, user_id, joined_seq)
    SELECT c.id, u.id, c.last_seq FROM conversations c CROSS JOIN unnest(@user_ids::bigint[]) AS u(id)
    WHERE c.group_id = @group_id::bigint
    ON CONFLICT (conversation_id, user_id) DO NOTHING
    RETURNING conversation_id, user_id
), cleared AS (
    DELETE FROM removals r USING joined j
    WHERE r.user_id = j.user_id AND r.conversation_id = j.conversation_id
)
DELETE FROM group_removals gr
WHERE gr.group_id = @group_id::bigint AND gr.user_id = ANY(@user_ids::bigint[]);

-- name: LeaveGroupChannels :many
DELETE FROM members m USING conversations c
WHERE c.id = m.conversation_id AND c.group_id = @group_id::bigint AND m.user_id = @user_id
RETURNING m.conversation_id;

-- name: ListGroupChannelIDs :many
SELECT id FROM conversations WHERE group_id = @group_id::bigint ORDER BY id;

-- name: ListGroupChannels :many
SELECT id, name FROM conversations WHERE group_id = @group_id::bigint ORDER BY id;

-- name: GetSharedGroup :one
-- A group's fields that every member sees alike.
SELECT * FROM groups WHERE id = $1;

-- name: CreateChannel :one
INSERT INTO conversations (kind, group_id, name) VALUES ('channel', $1, $2) RETURNING id;

-- name: AddChannelMembers :exec
-- Every member of the group joins a new channel.
INSERT INTO members (conversation_id, user_id)
SELECT @conversation_id, user_id FROM group_members WHERE group_id = @group_id
ON CONFLICT (conversation_id, user_id) DO NOTHING;

-- name: RenameChannel :execrows
UPDATE conversations SET name = $3, change_xid = parley_xid()
WHERE id = $2 AND group_id = $1 AND kind = 'channel';

-- name: DeleteChannel :execrows
DELETE FROM conversations WHERE id = $2 AND group_id = $1 AND kind = 'channel';

-- name: AddRemovals :exec
-- Tombstones, pairwise: user_ids[i] lost conversation_ids[i].
INSERT INTO removals (user_id, conversation_id)
SELECT unnest(@user_ids::bigint[]), unnest(@conversation_ids::bigint[])
ON CONFLICT (user_id, conversation_id) DO UPDATE SET change_xid = parley_xid();

-- name: AddGroupRemovals :exec
INSERT INTO group_removals (user_id, group_id)
SELECT unnest(@user_ids::bigint[]), @group_id::bigint
ON CONFLICT (user_id, group_id) DO UPDATE SET change_xid = parley_xid();

-- name: ListGroupRemovals :many
-- As ListRemovals: the index range starts at the cursor's xmin.
SELECT group_id FROM group_removals
WHERE user_id = @user_id AND change_xid >= pg_snapshot_xmin((@since::text)::pg_snapshot)::text::bigint
  AND parley_changed_since(change_xid, @since::text);

-- name: CreateInvite :one
INSERT INTO invites (code, group_id, created_by, max_uses, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: GetInvite :one
SELECT * FROM invites WHERE code = $1;

-- name: LockInvite :one
-- Serialises concurrent accepts of one invite.
SELECT * FROM invites WHERE code = $1 FOR UPDATE;

-- name: UseInvite :exec
UPDATE invites SET uses = uses + 1 WHERE code = $1;

-- name: ListInvites :many
SELECT * FROM invites WHERE group_id = $1 ORDER BY created_at DESC, code;

-- name: RevokeInvite :execrows
UPDATE invites SET revoked_at = coalesce(revoked_at, now()) WHERE group_id = $1 AND code = $2;


-- name: GetInvitePreview :one
SELECT g.name, g.member_count,
       EXISTS (SELECT 1 FROM group_members x WHERE x.group_id = g.id AND x.user_id = @user_id) AS is_member
FROM groups g WHERE g.id = @group_id;

-- name: ListGroupRoles :many
SELECT user_id, role FROM group_members WHERE group_id = @group_id AND user_id = ANY(@user_ids::bigint[]);

-- name: ListGroupMembersByID :many
SELECT sqlc.embed(users), gm.role, gm.joined_at
FROM group_members gm JOIN users ON users.id = gm.user_id
WHERE gm.group_id = @group_id AND gm.user_id = ANY(@user_ids::bigint[])
ORDER BY users.id;

-- name: CountExistingUsers :one
SELECT count(*) FROM users WHERE id = ANY(@ids::bigint[]);
