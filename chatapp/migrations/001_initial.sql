-- The support chat schema: the brief's three tables plus accounts, uploads,
-- push subscriptions and generated secrets.
-- {{pk}} and {{timestamp}} are rendered per database by chatapp.schema.

CREATE TABLE users (
    id {{pk}},
    role TEXT NOT NULL CHECK (role IN ('user', 'admin', 'guest')),
    name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT,
    external_id TEXT,
    created_at {{timestamp}} NOT NULL
);
CREATE UNIQUE INDEX users_email_unique ON users (email);
CREATE UNIQUE INDEX users_external_id_unique ON users (external_id);

CREATE TABLE support_chat_rooms (
    id {{pk}},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    assigned_admin_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'resolved', 'closed')),
    priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'urgent')),
    subject TEXT NOT NULL DEFAULT '',
    last_message_at {{timestamp}},
    last_message_preview TEXT NOT NULL DEFAULT '',
    user_unread_count INTEGER NOT NULL DEFAULT 0,
    admin_unread_count INTEGER NOT NULL DEFAULT 0,
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL,
    resolved_at {{timestamp}},
    closed_at {{timestamp}}
);
CREATE INDEX support_chat_rooms_user ON support_chat_rooms (user_id, status);
CREATE INDEX support_chat_rooms_status ON support_chat_rooms (status, last_message_at);
CREATE INDEX support_chat_rooms_admin ON support_chat_rooms (assigned_admin_id);

CREATE TABLE chat_attachments (
    id {{pk}},
    room_id BIGINT NOT NULL REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    uploader_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    stored_name TEXT NOT NULL,
    original_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at {{timestamp}} NOT NULL
);
CREATE UNIQUE INDEX chat_attachments_stored_name ON chat_attachments (stored_name);

CREATE TABLE support_chat_messages (
    id {{pk}},
    room_id BIGINT NOT NULL REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    sender_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    sender_role TEXT NOT NULL CHECK (sender_role IN ('user', 'admin', 'system')),
    body TEXT NOT NULL,
    attachment_id BIGINT REFERENCES chat_attachments (id) ON DELETE SET NULL,
    idempotency_key TEXT,
    read_at {{timestamp}},
    created_at {{timestamp}} NOT NULL
);
CREATE INDEX support_chat_messages_room ON support_chat_messages (room_id, id);
CREATE UNIQUE INDEX support_chat_messages_idempotency ON support_chat_messages (sender_id, idempotency_key);

CREATE TABLE chat_typing_indicators (
    room_id BIGINT NOT NULL REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    expires_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE push_subscriptions (
    id {{pk}},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    created_at {{timestamp}} NOT NULL,
    last_used_at {{timestamp}}
);
CREATE UNIQUE INDEX push_subscriptions_endpoint ON push_subscriptions (endpoint);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at {{timestamp}} NOT NULL
);
