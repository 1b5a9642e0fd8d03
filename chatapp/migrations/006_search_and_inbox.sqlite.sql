-- Search in every language, and indexes that keep the inbox, its statistics and the
-- auto-close sweep off full-table scans (SQLite; PostgreSQL has its own variant).
--
-- FTS5 with unicode61 and remove_diacritics 2 folds case and accents in every script:
-- "олена" finds "Олена", "elodie" finds "Élodie", "garcon" finds "garçon".
-- Message bodies: an external-content table over support_chat_messages, kept in step by triggers.

CREATE VIRTUAL TABLE support_chat_messages_search USING fts5(
    body,
    content = 'support_chat_messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO support_chat_messages_search (support_chat_messages_search) VALUES ('rebuild');

CREATE TRIGGER support_chat_messages_search_insert AFTER INSERT ON support_chat_messages BEGIN
    INSERT INTO support_chat_messages_search (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER support_chat_messages_search_delete AFTER DELETE ON support_chat_messages BEGIN
    INSERT INTO support_chat_messages_search (support_chat_messages_search, rowid, body)
    VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER support_chat_messages_search_update AFTER UPDATE OF body ON support_chat_messages BEGIN
    INSERT INTO support_chat_messages_search (support_chat_messages_search, rowid, body)
    VALUES ('delete', old.id, old.body);
    INSERT INTO support_chat_messages_search (rowid, body) VALUES (new.id, new.body);
END;

-- One row per room (rowid = room id): its subject and its visitor's name and e-mail.
CREATE VIRTUAL TABLE support_chat_rooms_search USING fts5(
    subject,
    visitor_name,
    visitor_email,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO support_chat_rooms_search (rowid, subject, visitor_name, visitor_email)
SELECT r.id, r.subject, u.name, COALESCE(u.email, '') FROM support_chat_rooms r JOIN users u ON u.id = r.user_id;

CREATE TRIGGER support_chat_rooms_search_insert AFTER INSERT ON support_chat_rooms BEGIN
    INSERT INTO support_chat_rooms_search (rowid, subject, visitor_name, visitor_email)
    SELECT new.id, new.subject, u.name, COALESCE(u.email, '') FROM users u WHERE u.id = new.user_id;
END;
CREATE TRIGGER support_chat_rooms_search_update AFTER UPDATE OF subject, user_id ON support_chat_rooms BEGIN
    DELETE FROM support_chat_rooms_search WHERE rowid = old.id;
    INSERT INTO support_chat_rooms_search (rowid, subject, visitor_name, visitor_email)
    SELECT new.id, new.subject, u.name, COALESCE(u.email, '') FROM users u WHERE u.id = new.user_id;
END;
CREATE TRIGGER support_chat_rooms_search_delete AFTER DELETE ON support_chat_rooms BEGIN
    DELETE FROM support_chat_rooms_search WHERE rowid = old.id;
END;
CREATE TRIGGER users_rooms_search_update AFTER UPDATE OF name, email ON users BEGIN
    DELETE FROM support_chat_rooms_search WHERE rowid IN (SELECT id FROM support_chat_rooms WHERE user_id = new.id);
    INSERT INTO support_chat_rooms_search (rowid, subject, visitor_name, visitor_email)
    SELECT r.id, r.subject, new.name, COALESCE(new.email, '') FROM support_chat_rooms r WHERE r.user_id = new.id;
END;

-- The inbox: statistics and the active filters read this covering index only; the newest-first
-- list walks the recency index; unread chats have a partial index, the auto-close sweep its own.
CREATE INDEX support_chat_rooms_inbox ON support_chat_rooms (status, priority, assigned_admin_id);
CREATE INDEX support_chat_rooms_recent ON support_chat_rooms (COALESCE(last_message_at, created_at), id);
CREATE INDEX support_chat_rooms_status_recent ON support_chat_rooms (status, COALESCE(last_message_at, created_at), id);
CREATE INDEX support_chat_rooms_unread ON support_chat_rooms (admin_unread_count) WHERE admin_unread_count > 0;
CREATE INDEX support_chat_rooms_resolved ON support_chat_rooms (status, resolved_at);
