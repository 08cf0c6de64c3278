-- name: CheckSend :one
-- Before a send: is the sender a member, and is this client_id already
-- stored (a retry)? One round trip.
SELECT EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = @conversation_id AND mb.user_id = @sender_id) AS member,
       coalesce((SELECT m.id FROM messages m WHERE m.conversation_id = @conversation_id AND m.sender_id = @sender_id AND m.client_id = @client_id), 0)::bigint AS existing_id;

-- name: SendMessages :many
-- Many sends without uploads, of one or more conversations, in one
-- statement: what SendMessage does for one, with each statement's fixed
-- cost (plan start, triggers' setup, the members and conversations rows
-- touched once per batch instead of once per message) paid once. Seqs are
-- handed out per conversation in input order. Fewer rows than inputs means
-- a sender is not a member or a client_id is taken (by a retry, a
-- concurrent send, or twice in the input): the caller rolls back, so no
-- seq is used, and sends them one by one. A member who sends in the batch
-- is brought back by their own send, not reported as revived.
WITH input AS (
    SELECT t.conv, (@senders::bigint[])[t.ord] AS sender, (@client_ids::text[])[t.ord] AS client_id,
           (@bodies::text[])[t.ord] AS body,
           CASE WHEN (@has_replies::boolean[])[t.ord] THEN (@reply_tos::bigint[])[t.ord] END AS reply_to,
           (@mention_alls::boolean[])[t.ord] AS mention_all,
           CASE WHEN (@has_names::boolean[])[t.ord] THEN (@sender_names::text[])[t.ord] END AS sender_name, t.ord
    FROM unnest(@convs::bigint[]) WITH ORDINALITY AS t(conv, ord)
    WHERE EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = t.conv AND mb.user_id = (@senders::bigint[])[t.ord])
), counts AS (
    SELECT conv, count(*) AS cnt FROM input GROUP BY conv
), seq AS (
    UPDATE conversations c SET last_seq = c.last_seq + counts.cnt, updated_at = now(), change_xid = parley_xid()
    FROM counts WHERE c.id = counts.conv
    RETURNING c.id, c.last_seq - counts.cnt AS base
), numbered AS (
    SELECT input.*, seq.base + row_number() OVER (PARTITION BY input.conv ORDER BY input.ord) AS seq
    FROM input JOIN seq ON seq.id = input.conv
), ins AS (
    INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, reply_to_seq, mention_all, sender_name)
    SELECT n.conv, n.seq, n.sender, n.client_id, n.body, n.reply_to, n.mention_all, n.sender_name FROM numbered n
    ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING
    RETURNING id, conversation_id, seq, sender_id, client_id, body, created_at, reply_to_seq, mention_all, sender_name
), mentioned AS (
    INSERT INTO mentions (message_id, user_id, conversation_id, seq)
    SELECT ins.id, (@mention_users::bigint[])[m.i], ins.conversation_id, ins.seq
    FROM unnest(@mention_ords::bigint[]) WITH ORDINALITY AS m(ord, i)
    JOIN numbered n ON n.ord = m.ord
    JOIN ins ON ins.conversation_id = n.conv AND ins.seq = n.seq
), words AS (
    -- its words, for search (edits and deletes keep them by a trigger)
    INSERT INTO message_words (message_id, conversation_id, seq, sender_id, words)
    SELECT ins.id, ins.conversation_id, ins.seq, ins.sender_id, to_tsvector('simple', ins.body) FROM ins WHERE ins.body <> ''
), pushed AS (
    INSERT INTO push_queue (message_id, conversation_id)
    SELECT ins.id, ins.conversation_id FROM ins WHERE EXISTS (SELECT 1 FROM push_subscriptions)
), own AS (
    UPDATE members SET delivered_seq = GREATEST(members.delivered_seq, o.seq), read_seq = GREATEST(members.read_seq, o.seq),
        hidden = false, archived = false, has_sent = true, change_xid = parley_xid()
    FROM (SELECT ins.conversation_id, ins.sender_id, max(ins.seq) AS seq FROM ins GROUP BY 1, 2) o
    WHERE members.conversation_id = o.conversation_id AND members.user_id = o.sender_id
    RETURNING members.user_id
), revived AS (
    UPDATE members SET hidden = false, archived = false, change_xid = parley_xid()
    FROM (SELECT DISTINCT ins.conversation_id FROM ins) r
    WHERE members.conversation_id = r.conversation_id AND (members.hidden OR members.archived)
      AND NOT EXISTS (SELECT 1 FROM ins i WHERE i.conversation_id = members.conversation_id AND i.sender_id = members.user_id)
    RETURNING members.conversation_id, members.user_id
)
SELECT ins.id, ins.conversation_id, ins.seq, ins.sender_id, ins.client_id, ins.body, ins.created_at, ins.reply_to_seq, ins.mention_all,
       ins.sender_name, n.ord::bigint AS ord,
       coalesce((SELECT array_agg(r.user_id) FROM revived r WHERE r.conversation_id = ins.conversation_id), '{}')::bigint[] AS revived
FROM ins JOIN numbered n ON n.conv = ins.conversation_id AND n.seq = ins.seq
ORDER BY n.ord;

-- name: SendMessage :batchone
-- The send, in one statement: take the next seq (the conversation's row
-- lock serialises sends, so seqs have no gaps), insert the message and
-- whom it mentions, move the sender's own watermarks to it, and bring the
-- conversation back for members who deleted or archived it. No row means
-- the sender is not a member, or the client_id is taken (a retry, or a
-- concurrent send won): the caller rolls back, so no seq is used, and
-- looks which it was. The uploads it names become its attachments; fewer
-- than named (sent meanwhile by another send, or purged) rolls back too.
WITH seq AS (
    UPDATE conversations c SET last_seq = c.last_seq + 1, updated_at = now(), change_xid = parley_xid()
    WHERE c.id = @conversation_id
      AND EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = @conversation_id AND mb.user_id = @sender_id)
    RETURNING c.last_seq
), ins AS (
    INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, reply_to_seq, mention_all, sender_name)
    SELECT @conversation_id, seq.last_seq, @sender_id, @client_id, @body, sqlc.narg(reply_to_seq)::bigint, @mention_all::boolean,
           sqlc.narg(sender_name)::text FROM seq
    ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING
    RETURNING *
), mentioned AS (
    INSERT INTO mentions (message_id, user_id, conversation_id, seq)
    SELECT ins.id, u, ins.conversation_id, ins.seq FROM ins CROSS JOIN unnest(@mention_ids::bigint[]) AS u
), attached AS (
    UPDATE files f SET message_id = ins.id, conversation_id = ins.conversation_id,
        position = array_position(@upload_ids::bigint[], f.id)
    FROM ins WHERE f.id = ANY(@upload_ids::bigint[]) AND f.uploader_id = @sender_id AND f.message_id IS NULL
    RETURNING f.id, f.thumb_state
), words AS (
    -- its words, for search (edits and deletes keep them by a trigger)
    INSERT INTO message_words (message_id, conversation_id, seq, sender_id, words)
    SELECT ins.id, ins.conversation_id, ins.seq, ins.sender_id, to_tsvector('simple', ins.body) FROM ins WHERE ins.body <> ''
), pushed AS (
    -- its pushes, sent by the push worker (nothing when no one subscribed)
    INSERT INTO push_queue (message_id, conversation_id)
    SELECT ins.id, ins.conversation_id FROM ins WHERE EXISTS (SELECT 1 FROM push_subscriptions)
), own AS (
    UPDATE members SET delivered_seq = GREATEST(members.delivered_seq, ins.seq), read_seq = GREATEST(members.read_seq, ins.seq),
        hidden = false, archived = false, has_sent = true, change_xid = parley_xid()
    FROM ins WHERE members.conversation_id = @conversation_id AND members.user_id = @sender_id
    RETURNING members.user_id
), revived AS (
    UPDATE members SET hidden = false, archived = false, change_xid = parley_xid()
    WHERE members.conversation_id = @conversation_id AND (members.hidden OR members.archived) AND members.user_id <> @sender_id
      AND EXISTS (SELECT 1 FROM ins)
    RETURNING members.user_id
)
SELECT ins.id, ins.conversation_id, ins.seq, ins.sender_id, ins.client_id, ins.body, ins.created_at, ins.reply_to_seq, ins.mention_all,
       ins.sender_name,
       coalesce((SELECT array_agg(revived.user_id) FROM revived), '{}')::bigint[] AS revived,
       (SELECT count(*) FROM own)::bigint AS own_rows,
       (SELECT count(*) FROM attached)::bigint AS attached_rows,
       -- thumbnails made since the uploads were checked (a thumbnail made
       -- after this commits bumps the message itself)
       coalesce((SELECT array_agg(attached.id) FROM attached WHERE attached.thumb_state = 'ready'), '{}')::bigint[] AS thumbs_ready
FROM ins;

-- name: GetSendContext :one
-- What a send checks beyond the statement: the conversation's last seq
-- (a reply names an earlier message), its size and the sender's role in
-- its group (who may mention everyone).
SELECT c.kind, c.last_seq,
       (CASE WHEN c.kind = 'direct' THEN 2 ELSE (SELECT g.member_count FROM groups g WHERE g.id = c.group_id) END)::bigint AS member_count,
       coalesce((SELECT gm.role FROM group_members gm WHERE gm.group_id = c.group_id AND gm.user_id = @user_id), '')::text AS role
FROM conversations c WHERE c.id = @conversation_id;

-- name: ListMentionable :many
-- The members of a conversation among these usernames.
SELECT u.id, u.username FROM users u JOIN members m ON m.user_id = u.id
WHERE m.conversation_id = @conversation_id AND u.username = ANY(@usernames::text[]);

-- name: GetMessage :one
SELECT * FROM messages WHERE conversation_id = $1 AND seq = $2;

-- name: LockMessage :one
-- A message about to change: its row lock orders concurrent edits,
-- deletes and reactions, each of which bumps its version.
SELECT * FROM messages WHERE conversation_id = $1 AND seq = $2 FOR UPDATE;

-- name: EditMessage :one
UPDATE messages SET body = @body, edited_at = now(), mention_all = @mention_all,
    version = version + 1, updated_xid = parley_xid()
WHERE id = @id
RETURNING *;

-- name: TombstoneMessage :one
-- A deleted message keeps its seq, and nothing of what it said.
UPDATE messages SET body = '', deleted = true, mention_all = false, sender_name = NULL,
    version = version + 1, updated_xid = parley_xid()
WHERE id = @id
RETURNING *;

-- name: BumpMessage :one
-- A change beside the message (a reaction): a new version.
UPDATE messages SET version = version + 1, updated_xid = parley_xid() WHERE id = $1
RETURNING *;

-- name: EraseMessage :exec
-- Everything a deleted message had: its earlier bodies, reactions,
-- mentions, previews, and its events still waiting in the outbox (its
-- files go by DropMessageFiles).
WITH r AS (DELETE FROM message_revisions WHERE message_revisions.message_id = @id::bigint),
     x AS (DELETE FROM reactions WHERE reactions.message_id = @id::bigint),
     n AS (DELETE FROM mentions WHERE mentions.message_id = @id::bigint),
     p AS (DELETE FROM message_previews WHERE message_previews.message_id = @id::bigint)
DELETE FROM outbox WHERE outbox.message_id = @id::bigint;

-- name: AddRevision :exec
INSERT INTO message_revisions (message_id, body, written_at) VALUES ($1, $2, $3);

-- name: ListRevisions :many
SELECT body, written_at FROM message_revisions WHERE message_id = $1 ORDER BY id;

-- name: DeleteMentions :exec
DELETE FROM mentions WHERE message_id = $1;

-- name: AddMentions :exec
INSERT INTO mentions (message_id, user_id, conversation_id, seq)
SELECT @message_id, u, @conversation_id, @seq FROM unnest(@user_ids::bigint[]) AS u;

-- name: AddReaction :execrows
INSERT INTO reactions (message_id, emoji, user_id) VALUES ($1, $2, $3)
ON CONFLICT (message_id, emoji, user_id) DO NOTHING;

-- name: RemoveReaction :execrows
DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3;

-- name: ListMessageEmoji :many
SELECT DISTINCT emoji FROM reactions WHERE message_id = $1;

-- name: ListReactions :many
-- The reactions of some messages, each emoji in the order of its first use.
SELECT message_id, emoji, array_agg(user_id ORDER BY created_at, user_id)::bigint[] AS user_ids
FROM reactions WHERE message_id = ANY(@ids::bigint[])
GROUP BY message_id, emoji
ORDER BY message_id, min(created_at), emoji;

-- name: ListMentions :many
SELECT message_id, user_id FROM mentions WHERE message_id = ANY(@ids::bigint[]) ORDER BY message_id, user_id;

-- name: ListUpdatedMessages :many
-- The caller's messages changed after a sync cursor (above their
-- cleared_seq): a range of the index on changed messages per conversation,
-- from the cursor's xmin on (anything older was seen).
SELECT m.* FROM messages m
JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = @user_id
WHERE m.updated_xid IS NOT NULL AND m.updated_xid >= @xmin::bigint AND m.seq > mb.cleared_seq
  AND parley_changed_since(m.updated_xid, @since::text)
ORDER BY m.conversation_id, m.seq
LIMIT @lim;

-- name: GetMessageByClientID :one
SELECT * FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3;

-- name: ListMessagesBefore :many
SELECT * FROM messages
WHERE conversation_id = @conversation_id AND seq < @before::bigint AND seq > @cleared::bigint
ORDER BY seq DESC
LIMIT @lim;

-- name: ListMessagesAfter :many
SELECT * FROM messages
WHERE conversation_id = @conversation_id AND seq > @after::bigint
ORDER BY seq
LIMIT @lim;

-- name: ListMemberIDs :many
SELECT user_id FROM members WHERE conversation_id = $1;

-- name: ListMessagesByIDs :many
SELECT * FROM messages WHERE id = ANY(@ids::bigint[]) ORDER BY id DESC;

-- name: ListCatchUp :many
-- What members who just joined conversations (a new direct chat, a group
-- they were added to, a channel made in their group) may have missed while
-- their node bound the conversations' topics: the live messages above each
-- conversation's seq when they joined (@since) and above the member's
-- watermarks, at most @lim per member and conversation. One row per member
-- and message, for every member an event added at once: one query however
-- many of them this node serves.
SELECT j.user_id::bigint AS user_id, x.id AS message_id, x.conversation_id, x.seq
FROM (
    SELECT unnest(@user_ids::bigint[]) AS user_id, unnest(@conversation_ids::bigint[]) AS conversation_id,
           unnest(@since::bigint[]) AS since
) j
JOIN members mb ON mb.conversation_id = j.conversation_id AND mb.user_id = j.user_id AND NOT mb.hidden
CROSS JOIN LATERAL (
    SELECT m.id, m.conversation_id, m.seq FROM messages m
    WHERE m.conversation_id = j.conversation_id
      AND m.seq > greatest(j.since, mb.delivered_seq, mb.cleared_seq)
      AND NOT m.deleted
    ORDER BY m.seq
    LIMIT @lim::int
) x
ORDER BY j.user_id, x.conversation_id, x.seq;

-- name: CleanSearchPending :one
-- Moves the entries that sends put in the search indexes' pending lists
-- (GIN's fast update) into the indexes proper, off the send path (see
-- schema.sql, messages_trigrams). One node at a time: -1 is another node
-- at it, else the pages cleaned.
SELECT CASE WHEN pg_try_advisory_xact_lock(@lock_id::bigint)
    THEN gin_clean_pending_list('messages_trigrams'::regclass) + gin_clean_pending_list('message_words_words'::regclass)
    ELSE -1 END::bigint AS pages;
