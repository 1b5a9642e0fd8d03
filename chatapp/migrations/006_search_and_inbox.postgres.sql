-- Search in every language, and indexes that keep the inbox, its statistics and the
-- auto-close sweep off full-table scans (PostgreSQL; SQLite has its own variant).
--
-- Search folds accents with the unaccent extension and case with the 'simple' text search
-- configuration, through GIN expression indexes: "олена" finds "Олена", "elodie" finds
-- "Élodie". unaccent ships with PostgreSQL (contrib) and is a trusted extension, so the
-- database owner may create it; the database needs a UTF-8 ctype (C.UTF-8, en_US.UTF-8, ...)
-- for case folding beyond ASCII.

CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- unaccent() is only STABLE (its dictionary could change); naming the dictionary makes this
-- wrapper safe to declare IMMUTABLE, which an index expression requires. E-mail addresses,
-- host names and paths are cut into words, as the search box cuts what is typed.
CREATE OR REPLACE FUNCTION chat_search_vector(value TEXT) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_tsvector('simple'::regconfig,
        public.unaccent('public.unaccent'::regdictionary, translate(COALESCE(value, ''), '@./:_+', '      '))) $$;

CREATE OR REPLACE FUNCTION chat_search_query(value TEXT) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_tsquery('simple'::regconfig, public.unaccent('public.unaccent'::regdictionary, COALESCE(value, ''))) $$;

CREATE INDEX support_chat_messages_search ON support_chat_messages USING gin (chat_search_vector(body));
CREATE INDEX support_chat_rooms_search ON support_chat_rooms USING gin (chat_search_vector(subject));
CREATE INDEX users_search ON users USING gin (chat_search_vector(name || ' ' || COALESCE(email, '')));

-- The inbox: statistics and the active filters read this covering index only; the newest-first
-- list walks the recency index; unread chats have a partial index, the auto-close sweep its own.
CREATE INDEX support_chat_rooms_inbox ON support_chat_rooms (status, priority, assigned_admin_id);
CREATE INDEX support_chat_rooms_recent ON support_chat_rooms ((COALESCE(last_message_at, created_at)), id);
CREATE INDEX support_chat_rooms_status_recent ON support_chat_rooms (status, (COALESCE(last_message_at, created_at)), id);
CREATE INDEX support_chat_rooms_unread ON support_chat_rooms (admin_unread_count) WHERE admin_unread_count > 0;
CREATE INDEX support_chat_rooms_resolved ON support_chat_rooms (status, resolved_at);
