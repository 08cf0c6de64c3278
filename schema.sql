-- Parley schema. Applied by `parley migrate` and at every start, in one
-- transaction under an advisory lock (store.Migrate): a new database gets
-- this whole file; an older one gets the upgrade steps in store/migrations/
-- up to store.SchemaVersion. Change this file and add a step together.

-- The current transaction's id as a bigint: the change marker /sync reads.
CREATE FUNCTION parley_xid() RETURNS bigint
    LANGUAGE sql VOLATILE
    AS $$ SELECT pg_current_xact_id()::text::bigint $$;

-- Whether a change (a change_xid) is one that a /sync snapshot did not see:
-- its transaction had not committed when the snapshot was taken.
CREATE FUNCTION parley_changed_since(change_xid bigint, snapshot text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT NOT pg_visible_in_snapshot(change_xid::text::xid8, snapshot::pg_snapshot) $$;

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text        NOT NULL,
    display_name  text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz,
    -- who may see this user's presence (docs/protocol.md, Presence v1.1)
    presence_visibility text  NOT NULL DEFAULT 'shared',
    -- a bot (docs/protocol.md, Integrations) has an owner and no password;
    -- a deactivated account cannot sign in, its messages stay
    bot            boolean     NOT NULL DEFAULT false,
    owner_id       bigint      REFERENCES users (id) ON DELETE CASCADE,
    deactivated_at timestamptz,
    -- the site role (docs/protocol.md, Administration): the first account
    -- of an install is an admin
    role           text        NOT NULL DEFAULT 'member',
    CONSTRAINT users_role CHECK (role IN ('admin', 'member')),
    CONSTRAINT users_bot_owner CHECK (bot = (owner_id IS NOT NULL)),
    CONSTRAINT users_username_lower CHECK (username = lower(username)),
    CONSTRAINT users_presence_visibility CHECK (presence_visibility IN ('shared', 'contacts', 'nobody'))
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_owner ON users (owner_id) WHERE owner_id IS NOT NULL;
-- user search: prefix match on username and display name
CREATE INDEX users_username_prefix ON users (username text_pattern_ops);
CREATE INDEX users_display_name_prefix ON users (lower(display_name) text_pattern_ops);

-- Sessions hold only the SHA-256 of the bearer token.
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    user_agent   text        NOT NULL DEFAULT '',
    -- a personal access token (docs/protocol.md, Integrations) is a session
    -- with a name: its expiry never slides, and it is revoked like one
    name         text
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Contacts are one-directional: a private address book with aliases.
CREATE TABLE contacts (
    owner_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    alias      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, user_id),
    CONSTRAINT contacts_not_self CHECK (owner_id <> user_id)
);
-- presence fan-out: who has this user as a contact
CREATE INDEX contacts_user_id ON contacts (user_id);

CREATE TABLE groups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    change_xid  bigint      NOT NULL DEFAULT parley_xid(),
    -- kept by the statements that add and remove members, so a group's
    -- size costs one row to read, however large it is
    member_count bigint     NOT NULL DEFAULT 0
);

CREATE TABLE group_members (
    group_id  bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      text        NOT NULL DEFAULT 'member',
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id),
    CONSTRAINT group_members_role CHECK (role IN ('owner', 'admin', 'member'))
);
CREATE INDEX group_members_user_id ON group_members (user_id);
-- exactly one owner per group
CREATE UNIQUE INDEX group_members_one_owner ON group_members (group_id) WHERE role = 'owner';

CREATE TABLE invites (
    code       text        PRIMARY KEY,
    group_id   bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    created_by bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    max_uses   integer,
    uses       integer     NOT NULL DEFAULT 0,
    expires_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invites_group_id ON invites (group_id);

-- A conversation is a direct chat (two members, direct_key = "low:high")
-- or a channel of a group.
CREATE TABLE conversations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text        NOT NULL,
    group_id   bigint      REFERENCES groups (id) ON DELETE CASCADE,
    name       text        NOT NULL DEFAULT '',
    direct_key text,
    last_seq   bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    change_xid bigint      NOT NULL DEFAULT parley_xid(),
    CONSTRAINT conversations_kind CHECK (kind IN ('direct', 'channel')),
    CONSTRAINT conversations_shape CHECK (
        (kind = 'direct' AND direct_key IS NOT NULL AND group_id IS NULL) OR
        (kind = 'channel' AND direct_key IS NULL AND group_id IS NOT NULL))
);
CREATE UNIQUE INDEX conversations_direct_key ON conversations (direct_key) WHERE direct_key IS NOT NULL;
CREATE UNIQUE INDEX conversations_channel_name ON conversations (group_id, name) WHERE group_id IS NOT NULL;

-- Per-member state: receipts as watermarks, and the member's own flags.
--
-- change_xid (here, on conversations, groups and removals) is the id of the
-- transaction that last changed the row, as parley_xid() (the 64-bit,
-- never-wrapping xid8, stored as bigint). A /sync cursor is a snapshot
-- (pg_current_snapshot) taken before the sync query: the rows whose change
-- that snapshot could not see are exactly what a client can have missed,
-- whatever else runs on the server. A sync reads the caller's memberships,
-- never the messages.

CREATE TABLE members (
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delivered_seq   bigint      NOT NULL DEFAULT 0,
    read_seq        bigint      NOT NULL DEFAULT 0,
    cleared_seq     bigint      NOT NULL DEFAULT 0,
    -- the conversation's last_seq when the member joined it: what was sent
    -- before is history they may read, never unread for them
    joined_seq      bigint      NOT NULL DEFAULT 0,
    pinned          boolean     NOT NULL DEFAULT false,
    archived        boolean     NOT NULL DEFAULT false,
    muted           boolean     NOT NULL DEFAULT false,
    hidden          boolean     NOT NULL DEFAULT false,
    -- the member has sent a message here: a direct chat in which both have
    -- shares their presence
    has_sent        boolean     NOT NULL DEFAULT false,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    change_xid      bigint      NOT NULL DEFAULT parley_xid(),
    -- which messages push a notification to the member's devices
    notify          text        NOT NULL DEFAULT 'all',
    PRIMARY KEY (conversation_id, user_id),
    CONSTRAINT members_read_le_delivered CHECK (read_seq <= delivered_seq),
    CONSTRAINT members_notify CHECK (notify IN ('all', 'mentions', 'none'))
);
CREATE INDEX members_user_id ON members (user_id, conversation_id);
-- a new message brings back hidden (deleted) and archived conversations
CREATE INDEX members_hidden_or_archived ON members (conversation_id) WHERE hidden OR archived;

-- Tombstones for /sync: conversations a user left or lost.
CREATE TABLE removals (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL,
    change_xid      bigint NOT NULL DEFAULT parley_xid(),
    PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX removals_user_change ON removals (user_id, change_xid);

CREATE TABLE messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             bigint      NOT NULL,
    sender_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id       text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- the message's life after it was sent (docs/protocol.md, Messages v1.1):
    -- a tombstone keeps its seq with an empty body; version counts every
    -- change; updated_xid is the transaction of the last change, for /sync
    edited_at       timestamptz,
    deleted         boolean     NOT NULL DEFAULT false,
    version         integer     NOT NULL DEFAULT 1,
    reply_to_seq    bigint,
    mention_all     boolean     NOT NULL DEFAULT false,
    updated_xid     bigint,
    -- its sender took its link previews off: none come back
    previews_off    boolean     NOT NULL DEFAULT false,
    -- the name a webhook post asked to be shown as (its sender is the
    -- webhook's bot); null for everything else
    sender_name     text
);
-- history paging and the last message of a conversation
CREATE UNIQUE INDEX messages_conversation_seq ON messages (conversation_id, seq);
-- idempotent sends
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, sender_id, client_id);
-- /sync: what changed after it was sent, per conversation
CREATE INDEX messages_updated ON messages (conversation_id, updated_xid) WHERE updated_xid IS NOT NULL;
-- mention_count's @all part (member_conversations): the few such messages
CREATE INDEX messages_mention_all ON messages (conversation_id, seq) WHERE mention_all;
-- search (docs/protocol.md, Search): trigrams for scripts written without
-- spaces and for substrings; words are in message_words.
--
-- A send adds its entries to the GIN indexes' pending lists (fast update),
-- and a node's upkeep (CleanSearchPending, every second) moves them into
-- the indexes proper. The limit is the backstop: when a list outgrows it,
-- the send that did merges it, holding up every send queued behind it
-- (with the default 4 MB, stalls of up to 160 ms at 3,000 messages a
-- second, docs/benchmarks.md); 16 MB is five seconds of that rate.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_trigrams ON messages USING gin (body gin_trgm_ops)
    WITH (gin_pending_list_limit = 16384) WHERE NOT deleted;

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
CREATE INDEX message_words_words ON message_words USING gin (words)
    WITH (gin_pending_list_limit = 16384); -- as messages_trigrams
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

-- Earlier bodies of edited messages, erased with the message.
CREATE TABLE message_revisions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    body       text        NOT NULL,
    written_at timestamptz NOT NULL
);
CREATE INDEX message_revisions_message ON message_revisions (message_id, id);

-- One reaction per user and emoji: the key says so.
CREATE TABLE reactions (
    message_id bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji      text        NOT NULL,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id)
);

-- Who a message mentions by name (@all is messages.mention_all); a
-- member's mention_count counts these above their read watermark.
CREATE TABLE mentions (
    message_id      bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL,
    seq             bigint NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_user ON mentions (user_id, conversation_id, seq);

-- Tombstones for /sync: groups a user left or lost.
CREATE TABLE group_removals (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id   bigint NOT NULL,
    change_xid bigint NOT NULL DEFAULT parley_xid(),
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_removals_user_change ON group_removals (user_id, change_xid);

-- Transactional outbox: events written with the change that caused them,
-- published after commit, deleted once the broker confirms.
CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text        NOT NULL,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- the message an event carries, so that deleting the message erases
    -- its events that are still waiting
    message_id bigint
);
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;

-- Keys made once per install and shared by every node (the login device
-- cookies' signing key; later the Web Push key pair).
CREATE TABLE secrets (
    name       text        PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

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
-- with size, so an uploader's quota check reads the index alone
CREATE INDEX files_uploader ON files (uploader_id) INCLUDE (size);
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

-- @views: everything below is re-created after every upgrade (store.Migrate),
-- so an upgrade step never repeats a view.

-- One row per (member, conversation): the protocol's Conversation as that
-- member sees it. Queries filter it by member or by group; PostgreSQL inlines
-- the view, so each filter reaches the indexes underneath.
DROP VIEW IF EXISTS member_conversations;
CREATE VIEW member_conversations AS
SELECT
    m.user_id AS member_id,
    c.id, c.kind, c.group_id, c.name, c.last_seq, c.updated_at,
    m.delivered_seq, m.read_seq, m.cleared_seq, m.joined_seq, m.pinned, m.archived, m.muted, m.hidden,
    -- a channel has no peer: zero values
    coalesce(peer.user_id, 0)::bigint       AS peer_id,
    coalesce(peer.username, '')::text       AS peer_username,
    coalesce(peer.display_name, '')::text   AS peer_display_name,
    coalesce(peer.created_at, c.created_at) AS peer_created_at,
    coalesce(peer.delivered_seq, 0)::bigint AS peer_delivered_seq,
    coalesce(peer.read_seq, 0)::bigint      AS peer_read_seq,
    ct.alias          AS peer_alias,
    lm.id             AS last_id,
    lm.sender_id      AS last_sender_id,
    lm.client_id      AS last_client_id,
    lm.body           AS last_body,
    lm.created_at     AS last_created_at,
    lm.edited_at      AS last_edited_at,
    lm.deleted        AS last_deleted,
    lm.version        AS last_version,
    lm.reply_to_seq   AS last_reply_to_seq,
    -- what is unread and what mentions the member: messages from others
    -- above the read watermark and above where the member joined, counted
    -- up to 1000 (docs/protocol.md, unread_count), so that a member who has
    -- not looked for a year costs what one who looked yesterday does
    (SELECT count(*) FROM (SELECT 1 FROM messages x
     WHERE x.conversation_id = c.id AND x.seq > GREATEST(m.read_seq, m.cleared_seq, m.joined_seq)
       AND x.sender_id <> m.user_id AND NOT x.deleted LIMIT 1000) u)::bigint AS unread_count,
    LEAST(1000,
      (SELECT count(*) FROM (SELECT 1 FROM mentions mn JOIN messages x ON x.id = mn.message_id
       WHERE mn.user_id = m.user_id AND mn.conversation_id = c.id AND mn.seq > GREATEST(m.read_seq, m.cleared_seq, m.joined_seq)
         AND x.sender_id <> m.user_id AND NOT x.mention_all AND NOT x.deleted LIMIT 1000) u)
      + (SELECT count(*) FROM (SELECT 1 FROM messages x
         WHERE x.conversation_id = c.id AND x.seq > GREATEST(m.read_seq, m.cleared_seq, m.joined_seq)
           AND x.mention_all AND x.sender_id <> m.user_id AND NOT x.deleted LIMIT 1000) u))::bigint AS mention_count,
    (CASE WHEN c.kind = 'direct' THEN 2
          ELSE (SELECT g.member_count FROM groups g WHERE g.id = c.group_id) END)::bigint AS member_count,
    m.change_xid AS member_change_xid,
    c.change_xid AS conversation_change_xid,
    coalesce(peer.change_xid, 0)::bigint AS peer_change_xid,
    m.notify,
    coalesce(peer.bot, false)::boolean AS peer_bot,
    coalesce(peer.role, 'member')::text AS peer_role,
    (peer.deactivated_at IS NOT NULL)::boolean AS peer_deactivated
FROM members m
JOIN conversations c ON c.id = m.conversation_id
LEFT JOIN LATERAL (
    SELECT pm.user_id, pm.delivered_seq, pm.read_seq, pm.change_xid, pu.username, pu.display_name, pu.created_at, pu.bot,
           pu.role, pu.deactivated_at
    FROM members pm JOIN users pu ON pu.id = pm.user_id
    WHERE c.kind = 'direct' AND pm.conversation_id = c.id AND pm.user_id <> m.user_id
    LIMIT 1 -- one peer; it also keeps the planner from scanning a channel's members for one
) peer ON true
LEFT JOIN contacts ct ON ct.owner_id = m.user_id AND ct.user_id = peer.user_id
LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq AND c.last_seq > m.cleared_seq;
