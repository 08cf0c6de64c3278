-- name: CheckSend :one
-- Before a send: is the sender a member, and is this client_id already
-- stored (a retry)? One round trip.
SELECT EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = @conversation_id AND mb.user_id = @sender_id) AS member,
       coalesce((SELECT m.id FROM messages m WHERE m.conversation_id = @conversation_id AND m.sender_id = @sender_id AND m.client_id = @client_id), 0)::bigint AS existing_id;

-- name: SendMessage :batchone
-- The send, in one statement: take the next seq (the conversation's row
-- lock serialises sends, so seqs have no gaps), insert the message, move
-- the sender's own watermarks to it, and bring the conversation back for
-- members who deleted or archived it. No row means the sender is not a
-- member, or the client_id is taken (a retry, or a concurrent send won):
-- the caller rolls back, so no seq is used, and looks which it was.
WITH seq AS (
    UPDATE conversations c SET last_seq = c.last_seq + 1, updated_at = now(), change_xid = parley_xid()
    WHERE c.id = @conversation_id
      AND EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = @conversation_id AND mb.user_id = @sender_id)
    RETURNING c.last_seq
), ins AS (
    INSERT INTO messages (conversation_id, seq, sender_id, client_id, body)
    SELECT @conversation_id, seq.last_seq, @sender_id, @client_id, @body FROM seq
    ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING
    RETURNING *
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
SELECT ins.id, ins.conversation_id, ins.seq, ins.sender_id, ins.client_id, ins.body, ins.created_at,
       coalesce((SELECT array_agg(revived.user_id) FROM revived), '{}')::bigint[] AS revived,
       (SELECT count(*) FROM own)::bigint AS own_rows
FROM ins;

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
