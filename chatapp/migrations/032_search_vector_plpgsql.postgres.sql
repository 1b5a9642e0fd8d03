-- The search vector of every new message computed without parsing SQL (PostgreSQL).
--
-- A stored generated column's expression is planned again by every statement that inserts a
-- row, and planning inlines a LANGUAGE sql function, parsing its body from text each time:
-- about 90 µs of the server's CPU per stored message, on a path that runs once per message.
-- PL/pgSQL is never inlined; it compiles the body once per connection and caches the plan of
-- its expression, so the same vector costs about 35 µs (10,000 inserts, measured on one
-- connection). The body and the result are those of migration 006; stored vectors stay valid.
-- chat_search_query stays LANGUAGE sql: inlined into a search's plan it runs once per query.

CREATE OR REPLACE FUNCTION chat_search_vector(value TEXT) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig,
        public.unaccent('public.unaccent'::regdictionary, translate(COALESCE(value, ''), '@./:_+', '      ')));
END
$$;
