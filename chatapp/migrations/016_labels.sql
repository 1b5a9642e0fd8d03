-- Labels (chatapp.labels): coloured tags the team's owner and admins define and any agent puts
-- on a chat. name_key is the name folded for case, so "Billing" and "billing" are one label.
-- color: '#rrggbb'. room_labels: which chats carry which labels; the inbox's label filter reads
-- room_labels_label (a label's chats), a room's labels come by primary key.

CREATE TABLE labels (
    id {{pk}},
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    color TEXT NOT NULL CHECK (length(color) = 7),
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL
);
CREATE UNIQUE INDEX labels_name_key ON labels (name_key);

CREATE TABLE room_labels (
    room_id BIGINT NOT NULL REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    label_id BIGINT NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    added_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    added_at {{timestamp}} NOT NULL,
    PRIMARY KEY (room_id, label_id)
);
CREATE INDEX room_labels_label ON room_labels (label_id, room_id);
