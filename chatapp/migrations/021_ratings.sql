-- Satisfaction (CSAT, chatapp.ratings): the visitor's 1-5 rating of a resolved or closed chat
-- and an optional comment, once per chat (the UPDATE that stores it requires rating IS NULL).
-- Kept on the room, so the reports read them with the same indexed range of rooms.
ALTER TABLE support_chat_rooms ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE support_chat_rooms ADD COLUMN rating_comment TEXT;
ALTER TABLE support_chat_rooms ADD COLUMN rated_at {{timestamp}};
