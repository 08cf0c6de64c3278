-- name: GetMessageByClientID :one
SELECT * FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3;

-- name: NextSeq :one
-- Takes the conversation's row lock: sends to one conversation serialise
-- here, so seqs have no gaps and no duplicates.
UPDATE conversations SET last_seq = last_seq + 1, updated_at = now(), change_xid = parley_xid()
WHERE id = $1
RETURNING last_seq;

-- name: InsertMessage :one
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING
RETURNING *;

-- name: MarkOwnMessage :exec
-- One's own message is delivered and read for oneself.
UPDATE members SET
    delivered_seq = GREATEST(delivered_seq, @seq::bigint),
    read_seq = GREATEST(read_seq, @seq::bigint),
    change_xid = parley_xid()
WHERE conversation_id = @conversation_id AND user_id = @user_id;

-- name: ReviveMembers :many
-- A new message brings the conversation back for members who deleted or
-- archived it.
UPDATE members SET hidden = false, archived = false, change_xid = parley_xid()
WHERE conversation_id = $1 AND (hidden OR archived)
RETURNING user_id;

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
