-- Version 1 → 2: a group's member count is kept in its row (the view reads
-- it there, and finds a direct chat's peer without scanning a channel's
-- members); presence is shared by the rule of Presence v1.1; messages can be
-- edited, deleted, replied to, reacted to and mention people (Messages v1.1).
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
ALTER TABLE messages ADD COLUMN edited_at timestamptz,
    ADD COLUMN deleted boolean NOT NULL DEFAULT false,
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN reply_to_seq bigint,
    ADD COLUMN mention_all boolean NOT NULL DEFAULT false,
    ADD COLUMN updated_xid bigint,
    ADD COLUMN previews_off boolean NOT NULL DEFAULT false;
CREATE INDEX messages_updated ON messages (conversation_id, updated_xid) WHERE updated_xid IS NOT NULL;
CREATE TABLE message_revisions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    body       text        NOT NULL,
    written_at timestamptz NOT NULL
);
CREATE INDEX message_revisions_message ON message_revisions (message_id, id);
CREATE TABLE reactions (
    message_id bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji      text        NOT NULL,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id)
);
CREATE TABLE mentions (
    message_id      bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL,
    seq             bigint NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_user ON mentions (user_id, conversation_id, seq);
ALTER TABLE outbox ADD COLUMN message_id bigint;
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;

-- Files (docs/protocol.md, Files): an upload belongs to its uploader until
-- a message carries it; then to the message's conversation. The bytes are
-- in the file store under key (and thumb_key for an image's thumbnail).
CREATE TABLE files (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uploader_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text        NOT NULL,
    content_type    text        NOT NULL,
    size            bigint      NOT NULL,
    sha256          bytea       NOT NULL,
    width           integer,
    height          integer,
    key             text        NOT NULL,
    thumb_key       text,
    thumb_state     text        NOT NULL DEFAULT 'none',
    message_id      bigint      REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint,
    position        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- a node claims a thumbnail before it decodes; three tries at most
    thumb_attempts  integer     NOT NULL DEFAULT 0,
    thumb_claimed   timestamptz,
    CONSTRAINT files_thumb_state CHECK (thumb_state IN ('none', 'pending', 'ready', 'failed'))
);
CREATE INDEX files_message ON files (message_id, position) WHERE message_id IS NOT NULL;
CREATE INDEX files_unsent ON files (created_at) WHERE message_id IS NULL;
CREATE INDEX files_uploader ON files (uploader_id);
CREATE INDEX files_thumb_pending ON files (created_at) WHERE thumb_state = 'pending';
CREATE UNIQUE INDEX files_key ON files (key);
CREATE INDEX files_thumb_key ON files (thumb_key) WHERE thumb_key IS NOT NULL;

-- Keys whose bytes are to be deleted from the file store: written in the
-- transaction that drops their file, deleted once the store has.
CREATE TABLE file_deletions (
    key        text        PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A file's bytes (and its thumbnail's) are queued for deletion when its row
-- goes, whatever deleted it: its message, its channel or group, its
-- uploader, the purge of unsent uploads. A row here dated in the future is
-- a lease on bytes being written: if nothing refers to them by then (a
-- crash, a failed transaction), they go.
CREATE FUNCTION parley_files_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO file_deletions (key)
    SELECT key FROM gone UNION SELECT thumb_key FROM gone WHERE thumb_key IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET created_at = now();
    RETURN NULL;
END $$;
CREATE TRIGGER files_gone AFTER DELETE ON files REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION parley_files_gone();

-- The bytes of the postgres file store, in chunks.
CREATE TABLE file_chunks (
    key  text    NOT NULL,
    n    integer NOT NULL,
    data bytea   NOT NULL,
    PRIMARY KEY (key, n)
);

-- Link previews, fetched once a day per URL; a message shows up to three.
CREATE TABLE link_previews (
    url         text        PRIMARY KEY,
    ok          boolean     NOT NULL,
    title       text        NOT NULL DEFAULT '',
    description text,
    site_name   text,
    image_key   text,
    fetched_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_previews_image ON link_previews (image_key) WHERE image_key IS NOT NULL;
-- a preview's image goes when the preview does, or when a new fetch replaces it
CREATE FUNCTION parley_preview_image_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.image_key IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.image_key IS DISTINCT FROM NEW.image_key) THEN
        INSERT INTO file_deletions (key) VALUES (OLD.image_key) ON CONFLICT (key) DO UPDATE SET created_at = now();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER link_previews_image_gone AFTER UPDATE OR DELETE ON link_previews
    FOR EACH ROW EXECUTE FUNCTION parley_preview_image_gone();
CREATE TABLE message_previews (
    message_id bigint  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    url        text    NOT NULL,
    position   integer NOT NULL,
    PRIMARY KEY (message_id, url)
);
CREATE INDEX message_previews_url ON message_previews (url);

-- search (docs/protocol.md, Search): trigrams for scripts written without
-- spaces and for substrings; words are in message_words
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_trigrams ON messages USING gin (body gin_trgm_ops) WHERE NOT deleted;

-- The words of every message that is not deleted, for search: the simple
-- configuration (no language's stemming), written by the send (SendMessage)
-- and kept by a trigger when a message changes. A
-- table of its own so that reading messages never carries the tsvector,
-- and a word search filters by membership before it touches messages.
CREATE TABLE message_words (
    message_id      bigint   PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint   NOT NULL,
    seq             bigint   NOT NULL,
    sender_id       bigint   NOT NULL,
    words           tsvector NOT NULL
);
CREATE INDEX message_words_words ON message_words USING gin (words);
-- an edit replaces the words, a delete (a tombstone) takes them away; other
-- changes (a reaction, a thumbnail) fire nothing
CREATE FUNCTION parley_words_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted OR NEW.body = '' THEN
        DELETE FROM message_words WHERE message_id = NEW.id;
    ELSE
        INSERT INTO message_words (message_id, conversation_id, seq, sender_id, words)
        VALUES (NEW.id, NEW.conversation_id, NEW.seq, NEW.sender_id, to_tsvector('simple', NEW.body))
        ON CONFLICT (message_id) DO UPDATE SET words = EXCLUDED.words;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_words_changed AFTER UPDATE OF body, deleted ON messages
    FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.deleted IS DISTINCT FROM NEW.deleted)
    EXECUTE FUNCTION parley_words_changed();
INSERT INTO message_words (message_id, conversation_id, seq, sender_id, words)
SELECT id, conversation_id, seq, sender_id, to_tsvector('simple', body) FROM messages
WHERE NOT deleted AND body <> '';

ALTER TABLE members ADD COLUMN notify text NOT NULL DEFAULT 'all',
    ADD CONSTRAINT members_notify CHECK (notify IN ('all', 'mentions', 'none'));

-- Web Push (docs/protocol.md, Notifications): a browser's subscription,
-- and the messages whose pushes are still to be sent (one row per message,
-- written by the send; the push worker of any node expands it to the
-- members to notify, sends, and deletes it).
CREATE TABLE push_subscriptions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the session that subscribed: a logout, an expiry or a revocation
    -- (a password change) ends its pushes too
    session_id bigint      NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    endpoint   text        NOT NULL UNIQUE,
    p256dh     text        NOT NULL,
    auth       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);
CREATE INDEX push_subscriptions_session ON push_subscriptions (session_id);
CREATE TABLE push_queue (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    claimed_until   timestamptz
);
CREATE INDEX push_queue_message ON push_queue (message_id);
CREATE INDEX push_queue_conversation ON push_queue (conversation_id);

ALTER TABLE sessions ADD COLUMN name text;

ALTER TABLE users ADD COLUMN bot boolean NOT NULL DEFAULT false,
    ADD COLUMN owner_id bigint REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN deactivated_at timestamptz,
    ADD CONSTRAINT users_bot_owner CHECK (bot = (owner_id IS NOT NULL));
CREATE INDEX users_owner ON users (owner_id) WHERE owner_id IS NOT NULL;

ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'member',
    ADD CONSTRAINT users_role CHECK (role IN ('admin', 'member'));
-- an install from before roles: its first account becomes its admin
UPDATE users SET role = 'admin' WHERE id = (SELECT min(id) FROM users WHERE NOT bot AND deactivated_at IS NULL);
ALTER TABLE messages ADD COLUMN sender_name text;

-- Incoming webhooks (docs/protocol.md, Integrations): a secret URL that
-- posts to one channel as the webhook's own bot (a member of that channel
-- alone). The secret is kept as it is, not hashed, so that the channel's
-- admins can copy the URL again later, as Slack's does.
CREATE TABLE webhooks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    bot_id          bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text        NOT NULL,
    secret          text        NOT NULL,
    created_by      bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhooks_secret ON webhooks (secret);
CREATE INDEX webhooks_conversation ON webhooks (conversation_id);
CREATE UNIQUE INDEX webhooks_bot ON webhooks (bot_id);
-- a webhook gone (deleted, or with its channel or group) takes its bot
-- with it: deactivated, out of every list; its messages stay
CREATE FUNCTION parley_webhook_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET deactivated_at = now() WHERE id IN (SELECT bot_id FROM gone) AND deactivated_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER webhooks_gone AFTER DELETE ON webhooks REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION parley_webhook_gone();

-- Moderation (docs/protocol.md, Administration): a member's report of a
-- message, once per reporter and message, open until an admin resolves it.
CREATE TABLE reports (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint      NOT NULL,
    seq             bigint      NOT NULL,
    reporter_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     bigint      REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX reports_once ON reports (message_id, reporter_id);
CREATE INDEX reports_open ON reports (id) WHERE resolved_at IS NULL;

-- The audit log of security-relevant actions (docs/protocol.md,
-- Administration), kept for PARLEY_AUDIT_DAYS.
CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor_id bigint      REFERENCES users (id) ON DELETE SET NULL,
    action   text        NOT NULL,
    target   text        NOT NULL DEFAULT '',
    address  text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
