-- SQLite's full-text indexes are merged in small steps off the request path (chatapp.search_merge).
--
-- FTS5 keeps each transaction's new terms as a small segment and, by default, merges segments
-- inside the statement that adds more ("automerge"): on a history of a million messages one such
-- merge held the database for 20-150 ms while a message was stored, and every request on the one
-- connection waited behind it (bench/sqlite_fts_merge.py). chatapp now merges a few pages at a
-- time in the background instead. "crisismerge" stays as a backstop for writers that run no
-- merger (a CLI import): a level that reaches 64 segments is still merged where it is written.

INSERT INTO support_chat_messages_search (support_chat_messages_search, rank) VALUES ('automerge', 0);
INSERT INTO support_chat_messages_search (support_chat_messages_search, rank) VALUES ('crisismerge', 64);
INSERT INTO support_chat_rooms_search (support_chat_rooms_search, rank) VALUES ('automerge', 0);
INSERT INTO support_chat_rooms_search (support_chat_rooms_search, rank) VALUES ('crisismerge', 64);
