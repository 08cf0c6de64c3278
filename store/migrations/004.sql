-- Version 3 → 4: where a member joined a conversation (members.joined_seq),
-- so that history from before is not unread for them, and a partial index
-- for the @all part of mention_count (schema.sql, member_conversations);
-- files_uploader carries the size, for the upload quota's sum.
ALTER TABLE members ADD COLUMN joined_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX messages_mention_all ON messages (conversation_id, seq) WHERE mention_all;
DROP INDEX files_uploader;
CREATE INDEX files_uploader ON files (uploader_id) INCLUDE (size);
