-- One current conversation per visitor, kept by the database: two first messages sent at
-- once can no longer each create a room. "Current" is what repository.current_room_for_user
-- returns: any room that is not closed (a resolved one reopens when the visitor writes).
-- Rooms already doubled by that race are settled first: the newest stays, older ones close.

UPDATE support_chat_rooms SET status = 'closed', closed_at = COALESCE(closed_at, updated_at)
WHERE status <> 'closed' AND EXISTS (
    SELECT 1 FROM support_chat_rooms newer
    WHERE newer.user_id = support_chat_rooms.user_id AND newer.status <> 'closed' AND newer.id > support_chat_rooms.id
);

CREATE UNIQUE INDEX support_chat_rooms_one_current ON support_chat_rooms (user_id) WHERE status <> 'closed';
