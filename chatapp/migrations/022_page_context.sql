-- Where the visitor is (chatapp.page_context): what the widget reports at a chat's start and on
-- every page view while the chat is open. One row of context per room: the first page, the
-- referrer, language and time zone the browser gave, and the browser and OS the server read from
-- the request's User-Agent (never a name the client sent).
CREATE TABLE chat_room_context (
    room_id BIGINT PRIMARY KEY REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    first_url TEXT NOT NULL,
    first_title TEXT NOT NULL,
    referrer TEXT,
    language TEXT,
    time_zone TEXT,
    browser TEXT,
    browser_version TEXT,
    os TEXT,
    os_version TEXT,
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL
);

-- The page trail of a room: its last views (chatapp.page_context.TRAIL_LENGTH; older ones are
-- deleted as new ones come), a reload of the same page bumping the newest row instead of adding one.
CREATE TABLE chat_page_views (
    id {{pk}},
    room_id BIGINT NOT NULL REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    viewed_at {{timestamp}} NOT NULL
);
CREATE INDEX chat_page_views_room ON chat_page_views (room_id, id);

-- The host site's custom attributes of a signed-in contact (plan, order count...): a flat JSON
-- object from the identity token's 'attributes' claim, replaced at each sign-in that carries one.
ALTER TABLE users ADD COLUMN site_attributes TEXT;
