-- Each agent's active chats ("mine" on the statistics feed), read from the few active rooms
-- only (SQLite). Through the assignee index it walked every room ever assigned, closed ones
-- included: 224 ms at 100,000 rooms, once a second, on the one serialised connection.
-- (Message search already reads a stored index here: the FTS5 table of migration 006;
-- PostgreSQL's variant stores its search vectors.)

CREATE INDEX support_chat_rooms_active_assignee ON support_chat_rooms (assigned_admin_id)
    WHERE status IN ('open', 'assigned') AND assigned_admin_id IS NOT NULL;

-- The support admins (Web Push for a visitor's message in an unassigned chat goes to all of
-- them): a few rows, not a scan of every visitor ever seen.
CREATE INDEX users_admins ON users (id) WHERE role = 'admin';
