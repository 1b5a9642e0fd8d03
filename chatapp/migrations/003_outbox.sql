-- The transactional outbox: every durable realtime event is a row written in the
-- same transaction as the change it announces. chatapp.outbox relays the rows to
-- pyreverb in id order and deletes each one once delivered (or too old to matter).
-- The relay reads the head of the queue (ORDER BY id LIMIT n): the primary key is
-- its index, and it finds the oldest pending row for the status endpoint too.

CREATE TABLE outbox (
    id {{pk}},
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    socket_id TEXT,
    created_at {{timestamp}} NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {{timestamp}} NOT NULL,
    last_error TEXT
);

-- The last sequence number given to an event on a feed channel (the admin feed),
-- so a client that sees a number skipped knows it missed something and resyncs.
CREATE TABLE outbox_sequences (
    channel TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
