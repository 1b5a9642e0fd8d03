-- Server-side sign-in sessions: every bearer token names one row, so a token can be
-- revoked (sign out, sign out everywhere, password or role change, deactivation).
-- The row's id is the SHA-256 of the token: the token itself is never stored.

CREATE TABLE auth_sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at {{timestamp}} NOT NULL,
    last_seen_at {{timestamp}} NOT NULL,
    expires_at {{timestamp}} NOT NULL,
    revoked_at {{timestamp}},
    user_agent TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

-- A deactivated account keeps its conversations but can no longer sign in.
ALTER TABLE users ADD COLUMN deactivated_at {{timestamp}};
