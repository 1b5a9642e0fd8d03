-- Availability and automatic assignment (chatapp.routing).
-- availability: what the agent chose in the panel; routing counts an agent only while it is
-- 'online' AND one of their panels is on presence-admins (no panel open reads as away).
-- capacity: active chats automatic assignment gives the agent at most (a manual assignment
-- may go over it). last_assigned_at: when routing last gave them a chat, the round-robin
-- order among agents with equal load (never first).
-- app_settings: team-wide switches changed in the panel, one row per name (auto_assign:
-- 'on' or 'off'; no row: the server's default, on unless CHATAPP_AUTO_ASSIGN says otherwise).

ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'online' CHECK (availability IN ('online', 'away', 'busy'));
ALTER TABLE users ADD COLUMN capacity INTEGER NOT NULL DEFAULT 5 CHECK (capacity >= 0);
ALTER TABLE users ADD COLUMN last_assigned_at {{timestamp}};

CREATE TABLE app_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by BIGINT,
    updated_at {{timestamp}} NOT NULL
);

-- The queue: open chats nobody has, oldest first.
CREATE INDEX support_chat_rooms_queue ON support_chat_rooms (created_at, id) WHERE status = 'open' AND assigned_admin_id IS NULL;
