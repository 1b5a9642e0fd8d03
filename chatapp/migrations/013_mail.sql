-- E-mail (chatapp.mail): a transactional outbox of its own. A row is written in the same
-- transaction as the change that causes it (a transcript asked for) or by the scheduler that
-- finds due notifications; the relay claims due rows with a lease, sends them over SMTP and
-- marks them sent, or failed with the reason. message_id is fixed when the row is written, so
-- a resend after a crash carries the same Message-ID. The rendered message is stored whole.
-- status: pending (to send), sent, failed (given up: a permanent refusal or too old).

CREATE TABLE mail_outbox (
    id {{pk}},
    kind TEXT NOT NULL,
    room_id BIGINT REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    recipient_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    locale TEXT NOT NULL,
    message_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    reply_to TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at {{timestamp}} NOT NULL,
    next_attempt_at {{timestamp}} NOT NULL,
    lease_until {{timestamp}},
    lease_owner TEXT,
    sent_at {{timestamp}},
    last_error TEXT
);
-- The relay's look for due rows, and the inbound threading by In-Reply-To.
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE UNIQUE INDEX mail_outbox_message_id ON mail_outbox (message_id);
CREATE INDEX mail_outbox_room ON mail_outbox (room_id);

-- Per room, the newest message already mailed: support's replies to the visitor, the
-- visitor's messages to support, and when the room's closing transcript went out. A burst
-- is mailed once: the scheduler moves these marks forward with a compare-and-set, in the
-- transaction that writes the mail rows.
CREATE TABLE mail_rooms (
    room_id BIGINT PRIMARY KEY REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    visitor_mailed_upto BIGINT NOT NULL DEFAULT 0,
    agents_mailed_upto BIGINT NOT NULL DEFAULT 0,
    closed_mailed_at {{timestamp}}
);
