-- Roles inside the support team (chatapp.team). role = 'admin' still means "support staff";
-- staff_role says which: 'owner' (cannot be changed or deactivated by others), 'admin'
-- (also manages the team, settings and the team's canned replies) or 'agent' (answers
-- chats). NULL for visitors. The oldest active staff account becomes the owner, the other
-- staff admins. last_active_at: the last authenticated request, written at most once a
-- minute per account (chatapp.sessions).
-- staff_invites: one-time links; the token itself is never stored, only its SHA-256.

ALTER TABLE users ADD COLUMN staff_role TEXT CHECK (staff_role IN ('owner', 'admin', 'agent'));
ALTER TABLE users ADD COLUMN last_active_at {{timestamp}};
UPDATE users SET staff_role = 'admin' WHERE role = 'admin';
UPDATE users SET staff_role = 'owner' WHERE id = (
    SELECT MIN(id) FROM users WHERE role = 'admin' AND deactivated_at IS NULL
);

CREATE TABLE staff_invites (
    id {{pk}},
    token_hash TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    staff_role TEXT NOT NULL CHECK (staff_role IN ('admin', 'agent')),
    invited_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at {{timestamp}} NOT NULL,
    expires_at {{timestamp}} NOT NULL,
    accepted_at {{timestamp}},
    accepted_by BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX staff_invites_token ON staff_invites (token_hash);
