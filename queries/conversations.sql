-- name: ListConversations :many
-- The caller's conversations as the protocol's Conversation, in one query:
-- the list (hidden ones left out), one conversation, the channels of some
-- groups, or what changed since a sync cursor (hidden ones included, so a
-- client can drop them).
SELECT * FROM member_conversations mc
WHERE mc.member_id = @user_id
  AND (sqlc.narg(conversation_id)::bigint IS NULL OR mc.id = sqlc.narg(conversation_id))
  AND (sqlc.narg(group_ids)::bigint[] IS NULL OR mc.group_id = ANY(sqlc.narg(group_ids)::bigint[]))
  AND (@include_hidden::boolean OR NOT mc.hidden)
  AND (sqlc.narg(since)::text IS NULL
       OR parley_changed_since(mc.member_change_xid, sqlc.narg(since))
       OR parley_changed_since(mc.conversation_change_xid, sqlc.narg(since))
       OR parley_changed_since(mc.peer_change_xid, sqlc.narg(since)))
ORDER BY mc.pinned DESC, mc.updated_at DESC, mc.id DESC;

-- name: ListGroupConversations :many
-- Some members' views of a group's channels, in one query: for the events
-- of the members whose own view changed.
SELECT * FROM member_conversations mc
WHERE mc.group_id = @group_id::bigint AND mc.member_id = ANY(@member_ids::bigint[])
ORDER BY mc.member_id, mc.id;

-- name: ListMemberViews :many
-- Members' views of conversations, one per (@member_ids[i],
-- @conversation_ids[i]) pair that is still a membership, in one query: for
-- the members a catch-up replays messages to.
SELECT * FROM member_conversations mc
WHERE (mc.member_id, mc.id) IN (SELECT unnest(@member_ids::bigint[]), unnest(@conversation_ids::bigint[]))
ORDER BY mc.member_id, mc.id;

-- name: GetMember :one
SELECT * FROM members WHERE conversation_id = $1 AND user_id = $2;

-- name: GetMemberAudience :one
-- Whether user_id is in the conversation, with its group (0 for a direct
-- chat) and its size, as CountMembersOf counts it: what typing and viewing
-- need to know.
SELECT coalesce(c.group_id, 0)::bigint AS group_id,
       (CASE WHEN c.kind = 'direct' THEN 2 ELSE coalesce(g.member_count, 0) END)::bigint AS members
FROM members m JOIN conversations c ON c.id = m.conversation_id
LEFT JOIN groups g ON g.id = c.group_id
WHERE m.conversation_id = @conversation_id AND m.user_id = @user_id;

-- name: ListUserRoutes :many
-- A user's conversations, with the group of each channel: what a new
-- connection of theirs routes.
SELECT m.conversation_id, c.group_id FROM members m JOIN conversations c ON c.id = m.conversation_id
WHERE m.user_id = $1;

-- name: CreateDirect :one
INSERT INTO conversations (kind, direct_key) VALUES ('direct', $1)
ON CONFLICT (direct_key) WHERE direct_key IS NOT NULL DO NOTHING
RETURNING id;

-- name: GetDirectByKey :one
SELECT id FROM conversations WHERE direct_key = $1;

-- name: AddMember :exec
INSERT INTO members (conversation_id, user_id, hidden) VALUES ($1, $2, $3)
ON CONFLICT (conversation_id, user_id) DO NOTHING;

-- name: ShowConversation :execrows
UPDATE members SET hidden = false, change_xid = parley_xid()
WHERE conversation_id = $1 AND user_id = $2 AND hidden;

-- name: UpdateMemberFlags :execrows
UPDATE members SET
    pinned   = coalesce(sqlc.narg(pinned), pinned),
    archived = coalesce(sqlc.narg(archived), archived),
    muted    = coalesce(sqlc.narg(muted), muted),
    notify   = coalesce(sqlc.narg(notify), notify),
    change_xid = parley_xid()
WHERE conversation_id = @conversation_id AND user_id = @user_id;

-- name: ClearConversation :execrows
-- Hides every current message from the caller; with hide, also removes the
-- conversation from the caller's list until a new message arrives.
UPDATE members m SET
    cleared_seq = c.last_seq,
    hidden = m.hidden OR @hide::boolean,
    change_xid = parley_xid()
FROM conversations c
WHERE c.id = m.conversation_id AND m.conversation_id = @conversation_id AND m.user_id = @user_id;

-- name: ListRemovals :many
-- A change older than the cursor's xmin was seen by it (or rolled back),
-- so the index range starts there: a sync reads the recent tombstones,
-- however many older ones the user has.
SELECT conversation_id FROM removals
WHERE user_id = @user_id AND change_xid >= pg_snapshot_xmin((@since::text)::pg_snapshot)::text::bigint
  AND parley_changed_since(change_xid, @since::text);

-- name: SyncCursor :one
-- The snapshot the next sync compares against.
SELECT pg_current_snapshot()::text AS cursor;

-- name: MarkDirectChanged :exec
-- The owner's view of one direct chat changed (an alias): /sync reports it.
UPDATE members SET change_xid = parley_xid()
WHERE user_id = @owner_id
  AND conversation_id IN (SELECT id FROM conversations WHERE direct_key = @direct_key::text);

-- name: MarkUserDirectsChanged :many
-- A user's name changed: their direct chats change for their peers, and
-- /sync reports them. Returns (conversation, peer) pairs to notify.
WITH mine AS (
    UPDATE members m SET change_xid = parley_xid()
    FROM conversations c
    WHERE c.id = m.conversation_id AND c.kind = 'direct' AND m.user_id = @user_id
    RETURNING m.conversation_id
)
SELECT p.conversation_id, p.user_id FROM members p JOIN mine ON mine.conversation_id = p.conversation_id
WHERE p.user_id <> @user_id AND NOT p.hidden;
