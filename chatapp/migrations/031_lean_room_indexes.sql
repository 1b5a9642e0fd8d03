-- Fewer index entries per message. A message moves its room (last_message_at, the unread
-- counts), and that update is not HOT, so every index of the room table takes an entry for
-- the new row version, except a partial index whose condition the row does not meet.
-- (status, last_message_at) served no query (the inbox walks the COALESCE indexes of
-- migration 006); the auto-close and retention sweeps read resolved and closed rooms only,
-- so their indexes hold those rooms alone and the open and assigned rooms, which take the
-- messages, are in neither.
DROP INDEX support_chat_rooms_status;
DROP INDEX support_chat_rooms_resolved;
DROP INDEX support_chat_rooms_closed;
CREATE INDEX support_chat_rooms_resolved ON support_chat_rooms (resolved_at, id) WHERE status = 'resolved';
CREATE INDEX support_chat_rooms_closed ON support_chat_rooms (closed_at, id) WHERE status = 'closed';
