-- name: CreateFile :one
INSERT INTO files (uploader_id, name, content_type, size, sha256, width, height, key, thumb_state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: GetReadableFile :one
-- A file the user may read: their own upload, or one a message carries in
-- a conversation they are in now (above their cleared_seq).
SELECT f.* FROM files f
WHERE f.id = @id AND (f.uploader_id = @user_id OR EXISTS (
    SELECT 1 FROM members m JOIN messages x ON x.id = f.message_id
    WHERE m.conversation_id = f.conversation_id AND m.user_id = @user_id AND x.seq > m.cleared_seq AND NOT x.deleted));

-- name: ListUnsentUploads :many
-- The caller's uploads among ids that no message carries yet.
SELECT * FROM files WHERE id = ANY(@ids::bigint[]) AND uploader_id = @user_id AND message_id IS NULL;

-- name: ListMessageFiles :many
SELECT * FROM files WHERE message_id = ANY(@ids::bigint[]) ORDER BY message_id, position;

-- name: UploadedBytes :one
SELECT coalesce(sum(size), 0)::bigint FROM files WHERE uploader_id = $1;

-- name: SetThumbnail :one
-- Only a pending thumbnail is set: two nodes may have made the same one.
UPDATE files SET thumb_key = $2, thumb_state = $3 WHERE id = $1 AND thumb_state = 'pending' RETURNING *;

-- name: ClaimThumbnail :one
-- One node at a time makes a thumbnail, three tries at most (a decode that
-- brought its node down is not tried forever); a claim lapses after 5 min.
UPDATE files SET thumb_attempts = thumb_attempts + 1, thumb_claimed = now()
WHERE id = $1 AND thumb_state = 'pending' AND thumb_attempts < 3
  AND (thumb_claimed IS NULL OR thumb_claimed < now() - interval '5 minutes')
RETURNING *;

-- name: GiveUpThumbnails :exec
UPDATE files SET thumb_state = 'failed' WHERE thumb_state = 'pending' AND thumb_attempts >= 3
  AND thumb_claimed < now() - interval '5 minutes';

-- name: ListPendingThumbnails :many
SELECT id FROM files WHERE thumb_state = 'pending' AND created_at < now() - interval '1 minute'
  AND thumb_attempts < 3 AND (thumb_claimed IS NULL OR thumb_claimed < now() - interval '5 minutes')
ORDER BY id LIMIT 20;

-- name: DropMessageFiles :exec
-- A deleted message's files; the files_gone trigger queues their bytes.
DELETE FROM files WHERE message_id = $1;

-- name: DropStaleUploads :execrows
-- Uploads no message carried within a day.
DELETE FROM files WHERE message_id IS NULL AND created_at < now() - make_interval(secs => @older_than_s::float8);

-- name: DropStalePreviews :execrows
-- Previews older than a day that no message shows any more (their images
-- are queued by a trigger).
DELETE FROM link_previews lp WHERE fetched_at < now() - interval '1 day'
    AND NOT EXISTS (SELECT 1 FROM message_previews mp WHERE mp.url = lp.url);

-- name: LeaseKey :exec
-- Bytes about to be written under key: deleted in a day unless a row
-- refers to them by then.
INSERT INTO file_deletions (key, created_at) VALUES ($1, now() + interval '1 day')
ON CONFLICT (key) DO NOTHING;

-- name: ReleaseKey :exec
-- A row refers to the key now: its lease goes (a queued deletion stays).
DELETE FROM file_deletions WHERE key = $1 AND created_at > now();

-- name: ListFileDeletions :many
-- Keys due for deletion, and whether a row still refers to one (a lease
-- whose bytes were kept after all): those are only struck off.
SELECT d.key,
       (EXISTS (SELECT 1 FROM files f WHERE f.key = d.key)
        OR EXISTS (SELECT 1 FROM files f WHERE f.thumb_key = d.key)
        OR EXISTS (SELECT 1 FROM link_previews lp WHERE lp.image_key = d.key))::boolean AS referenced
FROM file_deletions d WHERE d.created_at <= now() ORDER BY d.created_at LIMIT $1;

-- name: DoneFileDeletions :exec
DELETE FROM file_deletions WHERE key = ANY(@keys::text[]);

-- name: PutChunk :exec
INSERT INTO file_chunks (key, n, data) VALUES ($1, $2, $3);

-- name: GetChunk :one
SELECT data FROM file_chunks WHERE key = $1 AND n = $2;

-- name: ChunkedSize :one
SELECT count(*)::bigint AS chunks, coalesce(sum(octet_length(data)), 0)::bigint AS size FROM file_chunks WHERE key = $1;

-- name: DeleteChunks :exec
DELETE FROM file_chunks WHERE key = $1;

-- name: GetLinkPreview :one
SELECT * FROM link_previews WHERE url = $1 AND fetched_at > now() - interval '1 day';

-- name: PutLinkPreview :one
INSERT INTO link_previews (url, ok, title, description, site_name, image_key, fetched_at)
VALUES ($1, $2, $3, $4, $5, $6, now())
ON CONFLICT (url) DO UPDATE SET ok = EXCLUDED.ok, title = EXCLUDED.title, description = EXCLUDED.description,
    site_name = EXCLUDED.site_name, image_key = EXCLUDED.image_key, fetched_at = now()
RETURNING *;

-- name: SetMessagePreviews :execrows
INSERT INTO message_previews (message_id, url, position)
SELECT @message_id, unnest(@urls::text[]), generate_subscripts(@urls::text[], 1)
ON CONFLICT DO NOTHING;

-- name: KeepMessagePreviews :execrows
-- An edited message keeps the previews of the links it still has.
DELETE FROM message_previews WHERE message_id = @message_id AND NOT (url = ANY(@urls::text[]));

-- name: ClearMessagePreviews :execrows
-- Its sender takes a message's previews off, for good.
WITH off AS (UPDATE messages SET previews_off = true WHERE id = $1)
DELETE FROM message_previews WHERE message_id = $1;

-- name: LockMessageByID :one
SELECT * FROM messages WHERE id = $1 FOR UPDATE;

-- name: ListMessagePreviews :many
SELECT mp.message_id, lp.* FROM message_previews mp JOIN link_previews lp ON lp.url = mp.url
WHERE mp.message_id = ANY(@ids::bigint[]) AND lp.ok
ORDER BY mp.message_id, mp.position, mp.url;
