-- Search reads stored tsvectors instead of computing them again (PostgreSQL).
--
-- With the expression indexes of migration 006 every candidate the GIN index returned was
-- checked, and ranked, by computing chat_search_vector() (unaccent and to_tsvector) once
-- more: for a word in 40 % of a million messages that took seconds. Message bodies and room
-- subjects now keep their vector in a generated column, which PostgreSQL computes on every
-- insert and update with the same function, so what a word finds does not change. The GIN
-- indexes, the recheck, ts_rank and chatapp.inbox_queries' newest-first walk read it.
-- (Visitors keep their expression index: few of them match any one word.)

ALTER TABLE support_chat_messages
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (chat_search_vector(body)) STORED;
DROP INDEX IF EXISTS support_chat_messages_search;
CREATE INDEX support_chat_messages_search ON support_chat_messages USING gin (search_vector);

ALTER TABLE support_chat_rooms
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (chat_search_vector(subject)) STORED;
DROP INDEX IF EXISTS support_chat_rooms_search;
CREATE INDEX support_chat_rooms_search ON support_chat_rooms USING gin (search_vector);

-- Each agent's active chats ("mine" on the statistics feed): read from the few active rooms
-- only, never through every room ever assigned.
CREATE INDEX support_chat_rooms_active_assignee ON support_chat_rooms (assigned_admin_id)
    WHERE status IN ('open', 'assigned') AND assigned_admin_id IS NOT NULL;

-- The support admins (Web Push for a visitor's message in an unassigned chat goes to all of
-- them): a few rows, not a scan of every visitor ever seen.
CREATE INDEX users_admins ON users (id) WHERE role = 'admin';
