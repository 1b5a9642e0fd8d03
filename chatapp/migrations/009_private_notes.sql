-- Private notes: messages support writes for support only, in the conversation's timeline.
-- kind 'note' rows are never shown to the visitor: every visitor query (history, catch-up,
-- read receipts, previous_id of message.sent) keeps kind = 'message' only (chatapp.repository).
-- mentions: the JSON list of the admin ids a note mentions (null for messages).

ALTER TABLE support_chat_messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'note'));
ALTER TABLE support_chat_messages ADD COLUMN mentions TEXT;
