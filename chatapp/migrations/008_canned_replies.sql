-- Canned replies: saved answers an agent inserts by typing "/code" in the composer.
-- owner_id NULL: a team reply every agent may use; otherwise a personal one only its owner sees.
-- A code is unique within its scope: once among the team's replies, once among each agent's own.

CREATE TABLE canned_replies (
    id {{pk}},
    owner_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    body TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL
);
CREATE UNIQUE INDEX canned_replies_team_code ON canned_replies (code) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX canned_replies_personal_code ON canned_replies (owner_id, code) WHERE owner_id IS NOT NULL;
