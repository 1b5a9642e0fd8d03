-- Snooze (chatapp.snooze): an agent puts an active chat aside until a time, or until the visitor's
-- next message. snoozed_at: when it was snoozed (NULL: not snoozed); snoozed_until: when it wakes
-- by itself (NULL while snoozed: only the visitor's next message, or an agent, wakes it).
-- A snoozed chat keeps its status (open or assigned) and leaves the active inbox views.
ALTER TABLE support_chat_rooms ADD COLUMN snoozed_at {{timestamp}};
ALTER TABLE support_chat_rooms ADD COLUMN snoozed_until {{timestamp}};
-- The snoozed chats, soonest wake first: the wake sweep and the "Snoozed" filter read this alone.
CREATE INDEX support_chat_rooms_snoozed ON support_chat_rooms (snoozed_until, id) WHERE snoozed_at IS NOT NULL;
