-- Satisfaction (CSAT, chatapp.ratings): the visitor's 1-5 rating of a resolved or closed chat
-- and an optional comment, once per chat (the UPDATE that stores it requires rating IS NULL).
-- Kept on the room, so the reports read them with the same indexed range of rooms.
ALTER TABLE support_chat_rooms ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE support_chat_rooms ADD COLUMN rating_comment TEXT;
ALTER TABLE support_chat_rooms ADD COLUMN rated_at {{timestamp}};
-- The reports' range of rooms by creation, covering every column they read: SQLite and
-- PostgreSQL answer a year of 100,000 rooms from the index alone (no row looked up).
CREATE INDEX support_chat_rooms_report ON support_chat_rooms
    (created_at, status, assigned_admin_id, rating, first_response_at, first_assigned_at, resolved_at);
