-- The newest matches of a search within a range of ids, read with index scans off (PostgreSQL).
--
-- chatapp.inbox_queries reads a word in about 1-3 % of the rows as ranges of ids through the
-- GIN and primary-key bitmaps together; the planner prices a walk of the primary key that
-- tests every row's vector below that (it does not cost the test), so the read needs
-- enable_indexscan off. As a function's own setting it holds for that read only, in one round
-- trip, where a transaction of its own took four (BEGIN, the setting, the read, COMMIT).
-- EXECUTE plans the read for the values of each call.

CREATE OR REPLACE FUNCTION chat_search_range(tbl regclass, query tsquery, below bigint, low bigint, wanted integer)
RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET enable_indexscan = off
AS $$
DECLARE
    found bigint[];
BEGIN
    EXECUTE format(
        'SELECT array(SELECT t.id FROM %s t WHERE t.search_vector @@ $1 AND t.id < $2 AND t.id >= $3 '
        'ORDER BY t.id DESC LIMIT $4)', tbl)
        INTO found USING query, below, low, wanted;
    RETURN found;
END
$$;
