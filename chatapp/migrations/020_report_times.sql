-- Report times: when support first answered a chat (its first agent message, never a note
-- or a system line) and when it was first assigned, kept on the room so the reports read one
-- indexed range of rooms instead of every message (the index is 021's, with the rating).
-- Chats from before this migration get their first response from their messages; when they
-- were first assigned was not kept, so they count in no queue-wait figure.
ALTER TABLE support_chat_rooms ADD COLUMN first_response_at {{timestamp}};
ALTER TABLE support_chat_rooms ADD COLUMN first_assigned_at {{timestamp}};
UPDATE support_chat_rooms SET first_response_at = (
    SELECT MIN(m.created_at) FROM support_chat_messages m
    WHERE m.room_id = support_chat_rooms.id AND m.sender_role = 'admin' AND m.kind = 'message'
);
