-- The inbox statistics' resolved and closed counts from a ledger, not from every room (PostgreSQL).
--
-- Closed chats are the history: counting them read an index entry per chat ever closed (85,000
-- on the benchmark's history: 6-8 of the statistics' 25 ms, published once a second while the
-- inbox moves), a cost that only grows. The rooms' triggers write each change of those counts as
-- a row (+1 or -1) in the same transaction as the change; the statistics sum the few rows, and
-- chatapp.status_totals folds them into one row per status now and then. Rows are only ever
-- added or deleted, never updated in place, so concurrent changes never wait on one another.

CREATE TABLE room_status_totals (
    id BIGSERIAL PRIMARY KEY,
    status TEXT NOT NULL,
    rooms BIGINT NOT NULL
);

INSERT INTO room_status_totals (status, rooms)
    SELECT status, COUNT(*) FROM support_chat_rooms WHERE status IN ('resolved', 'closed') GROUP BY status;

CREATE FUNCTION room_status_totals_follow() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status IN ('resolved', 'closed') THEN
        INSERT INTO room_status_totals (status, rooms) VALUES (OLD.status, -1);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status IN ('resolved', 'closed') THEN
        INSERT INTO room_status_totals (status, rooms) VALUES (NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$;

-- The conditions run inline: a message's update of its room (no change of status) calls nothing.
CREATE TRIGGER support_chat_rooms_totals_insert AFTER INSERT ON support_chat_rooms
    FOR EACH ROW WHEN (NEW.status IN ('resolved', 'closed'))
    EXECUTE FUNCTION room_status_totals_follow();
CREATE TRIGGER support_chat_rooms_totals_update AFTER UPDATE OF status ON support_chat_rooms
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       AND (OLD.status IN ('resolved', 'closed') OR NEW.status IN ('resolved', 'closed')))
    EXECUTE FUNCTION room_status_totals_follow();
CREATE TRIGGER support_chat_rooms_totals_delete AFTER DELETE ON support_chat_rooms
    FOR EACH ROW WHEN (OLD.status IN ('resolved', 'closed'))
    EXECUTE FUNCTION room_status_totals_follow();
