-- The pre-chat form (chatapp.prechat holds the rules, chatapp.prechat_store reads and writes):
-- the one form of the site, at most one row (none: off). fields: JSON list of
-- {"type", "key", "label", "required", "options"} in the order the widget shows them.
CREATE TABLE prechat_form (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    fields TEXT NOT NULL,
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at {{timestamp}} NOT NULL
);

-- A contact's answers to the form's own fields (name and e-mail go to the account itself), one
-- row per field key; value as text (a number as written, a checkbox "true"/"false").
CREATE TABLE contact_attributes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at {{timestamp}} NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- When the visitor sent the form: the widget does not ask again (NULL: never).
ALTER TABLE users ADD COLUMN prechat_at {{timestamp}};
