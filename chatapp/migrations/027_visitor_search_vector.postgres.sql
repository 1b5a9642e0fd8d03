-- Visitors keep their search vector too (PostgreSQL), as messages and rooms do since 010.
--
-- A common first name is in thousands of visitors (one in 25 of a 100,000-visitor history):
-- the GIN index's recheck and ts_rank computed chat_search_vector() (unaccent and
-- to_tsvector) again for each of them, 10 ms of a 30 ms search. The generated column is
-- computed on insert and update with the same function, so what a name finds does not change;
-- erasing a visitor removes it with the row.

ALTER TABLE users
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (chat_search_vector(name || ' ' || COALESCE(email, ''))) STORED;
DROP INDEX IF EXISTS users_search;
CREATE INDEX users_search ON users USING gin (search_vector);
