-- E-mail verification (chatapp.verification): a link mailed to an account's address proves it.
-- Only the SHA-256 of the link's token is kept. A token is for one address of one account:
-- verifying compares it with the account's address now, so changing the address voids every
-- earlier token. used_at is set once (compare-and-set), so a link works once.

CREATE TABLE email_verifications (
    id {{pk}},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    locale TEXT NOT NULL,
    created_at {{timestamp}} NOT NULL,
    expires_at {{timestamp}} NOT NULL,
    used_at {{timestamp}}
);
CREATE UNIQUE INDEX email_verifications_token ON email_verifications (token_hash);
CREATE INDEX email_verifications_user ON email_verifications (user_id);
