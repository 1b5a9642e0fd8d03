-- Languages: each agent's chosen panel language, and system messages stored as a catalogue
-- code with JSON parameters so every reader sees them in their own language (chatapp.i18n).
-- System messages written before this keep their English body and no code; clients show the body.

ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE support_chat_messages ADD COLUMN system_code TEXT;
ALTER TABLE support_chat_messages ADD COLUMN system_params TEXT;
