-- The inbox statistics' resolved and closed counts from a ledger, not from every room (SQLite).
--
-- Closed chats are the history: counting them read an index entry per chat ever closed, a cost
-- that only grows. The rooms' triggers write each change of those counts as a row (+1 or -1) in
-- the same transaction as the change; the statistics sum the few rows, and
-- chatapp.status_totals folds them into one row per status now and then.

CREATE TABLE room_status_totals (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    rooms INTEGER NOT NULL
);

INSERT INTO room_status_totals (status, rooms)
    SELECT status, COUNT(*) FROM support_chat_rooms WHERE status IN ('resolved', 'closed') GROUP BY status;

CREATE TRIGGER support_chat_rooms_totals_insert AFTER INSERT ON support_chat_rooms
    WHEN NEW.status IN ('resolved', 'closed')
BEGIN
    INSERT INTO room_status_totals (status, rooms) VALUES (NEW.status, 1);
END;

CREATE TRIGGER support_chat_rooms_totals_update AFTER UPDATE OF status ON support_chat_rooms
    WHEN OLD.status IS NOT NEW.status
        AND (OLD.status IN ('resolved', 'closed') OR NEW.status IN ('resolved', 'closed'))
BEGIN
    INSERT INTO room_status_totals (status, rooms) SELECT OLD.status, -1 WHERE OLD.status IN ('resolved', 'closed');
    INSERT INTO room_status_totals (status, rooms) SELECT NEW.status, 1 WHERE NEW.status IN ('resolved', 'closed');
END;

CREATE TRIGGER support_chat_rooms_totals_delete AFTER DELETE ON support_chat_rooms
    WHEN OLD.status IN ('resolved', 'closed')
BEGIN
    INSERT INTO room_status_totals (status, rooms) VALUES (OLD.status, -1);
END;
