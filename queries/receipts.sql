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
-- The size of each conversation: 2 for a direct chat, the group's member
-- count for a channel (kept by the statements that add and remove group
-- members, so this reads one row however large the group is).
SELECT c.id AS conversation_id,
       (CASE WHEN c.kind = 'direct' THEN 2 ELSE coalesce(g.member_count, 0) END)::bigint AS members
FROM conversations c LEFT JOIN groups g ON g.id = c.group_id
WHERE c.id = ANY(@conversation_ids::bigint[]);

-- name: ListMemberPairs :many
-- Which of the pairs (conversation_ids[i], user_ids[i]) are memberships.
SELECT m.conversation_id, m.user_id
FROM members m
JOIN (SELECT unnest(@conversation_ids::bigint[]) AS conversation_id, unnest(@user_ids::bigint[]) AS user_id) v
  ON m.conversation_id = v.conversation_id AND m.user_id = v.user_id;

-- name: ReceiptCounts :many
-- For each seq from @from_seq to @to_seq (at most last_seq, and at most
-- @most of them, the newest): how many members other than @user_id have
-- it delivered and read. One pass over the members who have delivered the
-- first of them, grouped by watermark, then sums from the newest seq down:
-- one row per seq, however large the channel is.
WITH top AS (
    SELECT LEAST(@to_seq::bigint, c.last_seq) AS hi, @most::bigint AS most
    FROM conversations c WHERE c.id = @conversation_id
), span AS (
    SELECT GREATEST(@from_seq::bigint, top.hi - top.most + 1) AS lo, top.hi FROM top
), base AS MATERIALIZED (
    SELECT LEAST(m.delivered_seq, span.hi) AS d, LEAST(m.read_seq, span.hi) AS r, span.lo
    FROM members m, span
    WHERE m.conversation_id = @conversation_id AND m.user_id <> @user_id AND m.delivered_seq >= span.lo
), d AS (
    SELECT base.d AS seq, count(*) AS n FROM base GROUP BY base.d
), r AS (
    SELECT base.r AS seq, count(*) AS n FROM base WHERE base.r >= base.lo GROUP BY base.r
)
SELECT s.seq::bigint AS seq,
       (sum(coalesce(d.n, 0)) OVER w)::bigint AS delivered,
       (sum(coalesce(r.n, 0)) OVER w)::bigint AS read
FROM span CROSS JOIN generate_series(span.lo, span.hi) AS s(seq)
LEFT JOIN d ON d.seq = s.seq
LEFT JOIN r ON r.seq = s.seq
WINDOW w AS (ORDER BY s.seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY s.seq;
