-- Unread per agent (chatapp.repository.mark_read): each agent's own count of the visitor's
-- messages in a chat since they last read it, so a supervisor opening a chat does not clear
-- its assignee's unread. An agent with no row in a chat sees the team's count
-- (support_chat_rooms.admin_unread_count: messages no agent has read), as Chatwoot's
-- agent_last_seen_at does; the visitor's "Seen" still means that some agent read them.
-- unread_count moves with the room's: +1 per visitor message for every agent with a row,
-- 0 when that agent reads. read_at: when they last read; null on the row an assignee gets,
-- with the team's count as it stood, when another agent reads the chat before they do.
-- The partial index serves each agent's Unread filter and totals.

CREATE TABLE agent_reads (
    room_id BIGINT NOT NULL REFERENCES support_chat_rooms (id) ON DELETE CASCADE,
    admin_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    unread_count INTEGER NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
    read_at {{timestamp}},
    PRIMARY KEY (room_id, admin_id)
);
CREATE INDEX agent_reads_admin ON agent_reads (admin_id);
CREATE INDEX agent_reads_unread ON agent_reads (admin_id, room_id) WHERE unread_count > 0;
