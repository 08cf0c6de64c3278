-- name: ListConversations :many
-- The caller's conversations as the protocol's Conversation, in one query:
-- the list (hidden ones left out), one conversation, or what changed since a
-- sync cursor (hidden ones included, so a client can drop them).
SELECT
    c.id, c.kind, c.group_id, c.name, c.last_seq, c.updated_at,
    m.delivered_seq, m.read_seq, m.cleared_seq, m.pinned, m.archived, m.muted, m.hidden,
    -- a channel has no peer: zero values
    coalesce(peer.user_id, 0)::bigint         AS peer_id,
    coalesce(peer.username, '')::text         AS peer_username,
    coalesce(peer.display_name, '')::text     AS peer_display_name,
    coalesce(peer.created_at, c.created_at)   AS peer_created_at,
    coalesce(peer.delivered_seq, 0)::bigint   AS peer_delivered_seq,
    coalesce(peer.read_seq, 0)::bigint        AS peer_read_seq,
    ct.alias           AS peer_alias,
    lm.id              AS last_id,
    lm.sender_id       AS last_sender_id,
    lm.client_id       AS last_client_id,
    lm.body            AS last_body,
    lm.created_at      AS last_created_at,
    (SELECT count(*) FROM messages x
     WHERE x.conversation_id = c.id AND x.seq > GREATEST(m.read_seq, m.cleared_seq)
       AND x.sender_id <> m.user_id)::bigint AS unread_count,
    (CASE WHEN c.kind = 'direct' THEN 2
          ELSE (SELECT count(*) FROM group_members gm WHERE gm.group_id = c.group_id) END)::bigint AS member_count
FROM members m
JOIN conversations c ON c.id = m.conversation_id
LEFT JOIN LATERAL (
    SELECT pm.user_id, pm.delivered_seq, pm.read_seq, pm.change_xid, pu.username, pu.display_name, pu.created_at
    FROM members pm JOIN users pu ON pu.id = pm.user_id
    WHERE c.kind = 'direct' AND pm.conversation_id = c.id AND pm.user_id <> m.user_id
) peer ON true
LEFT JOIN contacts ct ON ct.owner_id = m.user_id AND ct.user_id = peer.user_id
LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq AND c.last_seq > m.cleared_seq
WHERE m.user_id = @user_id
  AND (sqlc.narg(conversation_id)::bigint IS NULL OR c.id = sqlc.narg(conversation_id))
  AND (@include_hidden::boolean OR NOT m.hidden)
  AND (sqlc.narg(since)::bigint IS NULL
       OR m.change_xid >= sqlc.narg(since) OR c.change_xid >= sqlc.narg(since) OR peer.change_xid >= sqlc.narg(since))
ORDER BY m.pinned DESC, c.updated_at DESC, c.id DESC;

-- name: GetMember :one
SELECT * FROM members WHERE conversation_id = $1 AND user_id = $2;

-- name: ListUserConversationIDs :many
SELECT conversation_id FROM members WHERE user_id = $1;

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
SELECT conversation_id FROM removals WHERE user_id = $1 AND change_xid >= $2;

-- name: SyncCursor :one
-- Every transaction below this id had finished when it was read.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS cursor;
