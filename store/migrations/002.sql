-- Version 1 → 2: a group's member count is kept in its row; the view reads
-- it there, and finds a direct chat's peer without scanning a channel's
-- members.
ALTER TABLE groups ADD COLUMN member_count bigint NOT NULL DEFAULT 0;
UPDATE groups g SET member_count = (SELECT count(*) FROM group_members x WHERE x.group_id = g.id);
