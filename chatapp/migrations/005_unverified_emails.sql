-- Sign-up no longer reveals which e-mail addresses have an account: a registered address
-- is unverified until proven, and only verified addresses are unique (chatapp.sign_in).
-- Support admins and host-site identities count as verified; accounts that signed up
-- with a password before this migration are unverified, like every sign-up after it.

ALTER TABLE users ADD COLUMN email_verified_at {{timestamp}};
UPDATE users SET email_verified_at = created_at
WHERE email IS NOT NULL AND (role = 'admin' OR external_id IS NOT NULL);

DROP INDEX users_email_unique;
CREATE UNIQUE INDEX users_verified_email_unique ON users (email) WHERE email_verified_at IS NOT NULL;
CREATE INDEX users_email ON users (email);
