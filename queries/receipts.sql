-- name: ApplyReceipts :many
-- Moves a batch of watermarks forward in one statement: never backwards,
-- clamped to last_seq, reading implies delivery. Only rows that move are
-- written and returned.
UPDATE members m SET
    delivered_seq = GREATEST(m.delivered_seq, LEAST(GREATEST(v.delivered, v.read), c.last_seq)),
    read_seq      = GREATEST(m.read_seq, LEAST(v.read, c.last_seq)),
    change_xid    = parley_xid()
FROM (SELECT unnest(@conversation_ids::bigint[]) AS conversation_id,
             unnest(@user_ids::bigint[])         AS user_id,
             unnest(@delivered::bigint[])        AS delivered,
             unnest(@read::bigint[])             AS read) v
JOIN conversations c ON c.id = v.conversation_id
WHERE m.conversation_id = v.conversation_id AND m.user_id = v.user_id
  AND (m.delivered_seq < LEAST(GREATEST(v.delivered, v.read), c.last_seq)
       OR m.read_seq < LEAST(v.read, c.last_seq))
RETURNING m.conversation_id, m.user_id, m.delivered_seq, m.read_seq;

-- name: ListReceipts :many
SELECT user_id, delivered_seq, read_seq FROM members WHERE conversation_id = $1 ORDER BY user_id;

-- name: CountMembersOf :many
SELECT conversation_id, count(*) AS members FROM members
WHERE conversation_id = ANY(@conversation_ids::bigint[])
GROUP BY conversation_id;

-- name: ListMemberPairs :many
-- Which of the pairs (conversation_ids[i], user_ids[i]) are memberships.
SELECT m.conversation_id, m.user_id
FROM members m
JOIN (SELECT unnest(@conversation_ids::bigint[]) AS conversation_id, unnest(@user_ids::bigint[]) AS user_id) v
  ON m.conversation_id = v.conversation_id AND m.user_id = v.user_id;
