-- The audit log: who did what to whom and when, written in the same transaction as the action
-- (a contact's export and erasure, the retention sweep's deletions; chatapp.contact_data).
-- actor_id and target_id are plain numbers, not foreign keys: an entry outlives the accounts
-- and rooms it names (an erased contact's entry is the record of the erasure). details is a
-- JSON object of counts and ids, never the contact's personal data.
-- The API pages it newest first by id (the primary key is its index).

CREATE TABLE audit_log (
    id {{pk}},
    actor_id BIGINT,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT,
    details TEXT NOT NULL DEFAULT '{}',
    created_at {{timestamp}} NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id);

-- The retention sweep finds closed chats by when they closed.
CREATE INDEX support_chat_rooms_closed ON support_chat_rooms (status, closed_at);
