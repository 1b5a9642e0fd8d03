-- An outbox row may name a stored message instead of carrying it (chatapp.outbox, "Stored
-- messages"): a message stored by one PostgreSQL statement queues its events in that same
-- statement, and the relay renders them when it sends. No foreign key: a message erased
-- before its events went out leaves rows the relay drops.

ALTER TABLE outbox ADD COLUMN message_id BIGINT;
