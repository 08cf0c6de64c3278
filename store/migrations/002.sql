-- Version 1 → 2: a group's member count is kept in its row (the view reads
-- it there, and finds a direct chat's peer without scanning a channel's
-- members); presence is shared by the rule of Presence v1.1.
ALTER TABLE groups ADD COLUMN member_count bigint NOT NULL DEFAULT 0;
UPDATE groups g SET member_count = (SELECT count(*) FROM group_members x WHERE x.group_id = g.id);
ALTER TABLE users ADD COLUMN presence_visibility text NOT NULL DEFAULT 'shared',
    ADD CONSTRAINT users_presence_visibility CHECK (presence_visibility IN ('shared', 'contacts', 'nobody'));
ALTER TABLE members ADD COLUMN has_sent boolean NOT NULL DEFAULT false;
UPDATE members m SET has_sent = true
WHERE EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = m.conversation_id AND x.sender_id = m.user_id);
CREATE TABLE secrets (
    name       text        PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
