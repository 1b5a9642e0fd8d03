-- The offline form (chatapp.offline_form): a visitor who found nobody there leaves name, e-mail
-- and message; it becomes a normal chat, marked with when it was left so the panel shows
-- "left offline". NULL: an ordinary chat.

ALTER TABLE support_chat_rooms ADD COLUMN left_offline_at {{timestamp}};
