"""The admin inbox's SQL: filtered newest-first pages, ranked search, statistics.

Every query here is served by an index (migration 006), so its cost follows the
rooms on screen or the active rooms, not the whole history:

* pages are keyset pages (a cursor after the last room shown), urgent active
  chats first, then everything else newest first along the recency index;
* search goes through SQLite FTS5 or PostgreSQL GIN indexes that fold case and
  accents in every script, ranked by relevance, then recency;
* statistics count the active rooms and the unread ones through covering and
  partial indexes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chatapp.db import Connection, Database
from chatapp.label_queries import LABEL_ROOMS, labels_of_rooms
from chatapp.models import Room
from chatapp.repository import (
    ADMIN_NAME_COLUMN,
    AWAKE,
    LAST_SYSTEM_COLUMNS,
    LAST_SYSTEM_JOIN,
    OWN_UNREAD_COLUMN,
    ROOM_FILTERS,
)
from chatapp.status_totals import total_sql

__all__ = [
    "InboxCursor",
    "search_terms",
    "list_rooms",
    "count_rooms",
    "search_rooms",
    "stats",
    "mine_by_admin",
    "unread_by_admin",
    "InboxPage",
    "inbox_page",
    "with_labels",
    "MAX_SEARCH_TERMS",
]

# Its one placeholder is the reading agent's id (their own unread count, see migration 015).
_ROOM_SELECT = (
    "SELECT r.*, u.name AS user_name, u.email AS user_email, u.email_verified_at AS user_email_verified_at, "
    f"u.role AS user_role, {ADMIN_NAME_COLUMN}, {LAST_SYSTEM_COLUMNS}, {OWN_UNREAD_COLUMN} "
    f"FROM support_chat_rooms r JOIN users u ON u.id = r.user_id {LAST_SYSTEM_JOIN}"
)
_ACTIVE = "('open', 'assigned')"
_URGENT = f"r.status IN {_ACTIVE} AND r.priority = 'urgent'"
# The same expression as the recency indexes of migration 006, so the planner can walk them.
_AT = "COALESCE(r.last_message_at, r.created_at)"
_NEWEST_FIRST = f"ORDER BY {_AT} DESC, r.id DESC"
MAX_SEARCH_TERMS = 8
_ID_HIT_SCORE = 1e9  # "#123" or "123" names a room outright: above any text match
SEARCH_CANDIDATES = 1000  # newest matching messages (and rooms, and visitors) that are ranked


@dataclass(frozen=True)
class InboxCursor:
    """Where a page of the inbox ended: (urgent first, newest first, then id)."""

    rank: int  # 0: an urgent active chat, 1: any other
    at: datetime
    id: int

    @classmethod
    def after(cls, room: Room) -> InboxCursor:
        rank = 0 if room.is_active and room.priority == "urgent" else 1
        return cls(rank, room.last_message_at or room.created_at, room.id)

    def encode(self) -> str:
        raw = f"{self.rank}|{self.at.astimezone(UTC).isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> InboxCursor:
        """Raises ValueError for anything :meth:`encode` did not make."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            rank, at, room_id = raw.split("|")
            cursor = cls(int(rank), datetime.fromisoformat(at), int(room_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ValueError("not an inbox cursor") from None
        if cursor.rank not in (0, 1) or cursor.at.tzinfo is None or cursor.id < 1:
            raise ValueError("not an inbox cursor")
        return cursor


def _filter(filter_name: str, admin_id: int, label_id: int | None = None) -> tuple[str, list[Any]]:
    """The filter's condition and arguments; with ``label_id``, only the chats carrying that label."""
    condition, uses = ROOM_FILTERS[filter_name]
    if label_id is None:
        return f"({condition})", [admin_id] * uses
    return f"({condition}) AND r.id IN ({LABEL_ROOMS})", [admin_id] * uses + [label_id]


async def list_rooms(
    conn: Connection,
    *,
    filter_name: str,
    admin_id: int,
    limit: int,
    before: InboxCursor | None,
    label_id: int | None = None,
) -> list[Room]:
    """One page after ``before`` (the first page when None).

    Urgent active chats come first; they are few, so a small sort serves them. The
    rest is read newest first along the recency index and stops at ``limit`` rows.
    """
    condition, args = _filter(filter_name, admin_id, label_id)
    rows: list[dict[str, Any]] = []
    if before is None or before.rank == 0:
        keyset, keyset_args = (f"AND ({_AT}, r.id) < (?, ?)", [before.at, before.id]) if before else ("", [])
        rows += await conn.fetch_all(
            f"{_ROOM_SELECT} WHERE {condition} AND {_URGENT} {keyset} {_NEWEST_FIRST} LIMIT ?",
            admin_id,
            *args,
            *keyset_args,
            limit,
        )
    if len(rows) < limit:
        rest = before is not None and before.rank == 1
        keyset, keyset_args = (f"AND ({_AT}, r.id) < (?, ?)", [before.at, before.id]) if rest and before else ("", [])
        rows += await conn.fetch_all(
            f"{_ROOM_SELECT} WHERE {condition} AND NOT ({_URGENT}) {keyset} {_NEWEST_FIRST} LIMIT ?",
            admin_id,
            *args,
            *keyset_args,
            limit - len(rows),
        )
    return [Room.from_row(r) for r in rows]


async def count_rooms(conn: Connection, *, filter_name: str, admin_id: int, label_id: int | None = None) -> int:
    if filter_name == "unread" and label_id is None:  # from the two unread indexes, not a count over every room
        row = await conn.fetch_one(_UNREAD_CHATS_SQL, admin_id, admin_id)
        return int(row["n"]) if row else 0
    condition, args = _filter(filter_name, admin_id, label_id)
    return int(await conn.fetch_val(f"SELECT COUNT(*) FROM support_chat_rooms r WHERE {condition}", *args) or 0)


# ------------------------------------------------------------------------ search


def search_terms(text: str) -> list[str]:
    """The words of a search box, letters and digits only, at most :data:`MAX_SEARCH_TERMS`.

    Everything else (quotes, ``*``, ``-``, ``%``, ``_``, ``NEAR``'s parentheses) only
    separates words, so no input can inject FTS5 or tsquery syntax.
    """
    return re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text))[:MAX_SEARCH_TERMS]


# The newest-first walk (PostgreSQL): how many of the newest rows the first look reads, what
# fetching one match found through the GIN index costs in rows read in order (measured on
# 1,000,000 messages: about 6 us against 0.45 us), and the most rows one search reads in order.
WALK_FIRST = 4_000
GIN_MATCH_COST = 10
WALK_MAX_ROWS = 150_000
# A range of ids read through the GIN and primary-key bitmaps together, in rows read in order:
# the GIN index yields every match of the table (about 1 each), each match in the range is
# then read (about 5), each id of the range is a bit of the primary-key bitmap (about 0.15).
# Measured on 1,000,000 messages: a word in 1.5 % of them, its newest 1,000 matches 13-18 ms
# this way against 37-50 ms walked; a word in 3.4 %, 43 ms this way against 20 ms walked.
RANGE_ENTRY_COST = 1.0
RANGE_HIT_COST = 5.0
RANGE_ROW_COST = 0.15
_RANGE_MARGIN = 1.3  # a range is sized for this many times the matches its share predicts


async def newest_matches(conn: Connection, table: str, query: str, limit: int) -> list[int]:
    """The ids of the newest ``limit`` rows of ``table`` whose ``search_vector`` matches
    ``query`` (PostgreSQL), newest first.

    A common word is in the newest rows: reading them newest first along the primary key,
    testing the stored vector, finds ``limit`` matches after ``limit / share`` rows (a word
    in 40 % of the messages: 2,500 rows). A rare one is found through the GIN index, which
    returns every match: cheap when they are few, and for a common word seconds. A first
    look at the newest :data:`WALK_FIRST` rows gives the share of matches, and with it what
    each way on costs: walking on; a range of ids read through the GIN and primary-key
    indexes together, which visits only the range's matching rows but pays for every match of
    the table in the GIN index (``RANGE_*``, cheaper for a word in about 1-3 % of the rows);
    or every older match through the GIN index alone (:data:`GIN_MATCH_COST`, for rare
    words).
    """
    found: list[int] = []
    below: int | None = None  # rows below this id are still to be looked at
    scanned = 0
    window = WALK_FIRST
    while True:
        bound = "WHERE id < ? " if below is not None else ""
        row = await conn.fetch_one(
            "WITH q (query) AS (SELECT chat_search_query(?)) "
            "SELECT array_agg(s.id ORDER BY s.id DESC) FILTER (WHERE s.search_vector @@ q.query) AS hits, "
            f"MIN(s.id) AS lowest, COUNT(*) AS n FROM (SELECT id, search_vector FROM {table} {bound}"
            "ORDER BY id DESC LIMIT ?) s, q",
            query, *([below] if below is not None else []), window,
        )
        assert row is not None
        n = int(row["n"])
        found += list(row["hits"] or [])[: limit - len(found)]
        scanned += n
        if len(found) >= limit or n < window:  # enough, or the oldest row was read
            return found
        below = int(row["lowest"])
        share = len(found) / scanned
        wanted = limit - len(found)
        walk = wanted / share if share else math.inf  # rows still to read in order
        older_matches = share * below  # ids are dense enough to count the rows below one
        if walk > older_matches * GIN_MATCH_COST or scanned >= WALK_MAX_ROWS:
            break
        if walk * (1 - RANGE_ROW_COST * _RANGE_MARGIN) > older_matches * RANGE_ENTRY_COST + wanted * RANGE_HIT_COST:
            return found + await _ranged_matches(conn, table, query, below, wanted, share)
        window = min(WALK_MAX_ROWS - scanned, math.ceil(walk * 1.15))
    # MATERIALIZED, and bounded outside: every match through the GIN index, never a walk of the
    # primary key (from ``below`` down) hoping to meet the limit early.
    rest = await conn.fetch_val(
        "WITH q (query) AS (SELECT chat_search_query(?)), "
        f"every AS MATERIALIZED (SELECT t.id FROM {table} t, q WHERE t.search_vector @@ q.query) "
        "SELECT array(SELECT id FROM every WHERE id < ? ORDER BY id DESC LIMIT ?)",
        query, below, limit - len(found),
    )
    return found + [int(i) for i in rest or []]


async def _ranged_matches(conn: Connection, table: str, query: str, below: int, wanted: int, share: float) -> list[int]:
    """The ids of the newest ``wanted`` matches below id ``below``, read a range of ids at a
    time through the GIN index and the primary key ANDed as bitmaps, each range sized from
    ``share``.

    The planner prices a walk of the primary key that tests every row's vector below these
    two bitmap reads (it does not cost the test), so each read runs in ``chat_search_range``
    (migration 028), whose own setting turns index scans off for it alone.
    """
    found: list[int] = []
    scanned = 0
    while below > 1 and len(found) < wanted:
        span = math.ceil((wanted - len(found)) / max(share, 1e-6) * _RANGE_MARGIN)
        low = max(1, below - span)
        ids = await conn.fetch_val(
            "SELECT chat_search_range(?::regclass, chat_search_query(?), ?, ?, ?)",
            table, query, below, low, wanted - len(found),
        )
        found += [int(i) for i in ids or []]
        scanned += below - low
        share = max(len(found), 1) / scanned
        below = low
    return found


async def _hits(conn: Connection, terms: list[str], room_id: int | None) -> tuple[str, list[Any]]:
    """A CTE ``best(room_id, score)``: each matching room with its best relevance (higher is better).

    Relevance is computed for the newest :data:`SEARCH_CANDIDATES` matching messages and
    rooms only: a word in half of a million messages costs a bounded ranking, and the
    conversations an agent looks for are the recent ones.
    """
    if conn.dialect == "sqlite":
        match = " ".join(f'"{t}"*' for t in terms)  # every word, each as a prefix
        parts = [
            "SELECT m.room_id AS room_id, -s.score AS score FROM (SELECT rowid, rank AS score "
            "FROM support_chat_messages_search WHERE support_chat_messages_search MATCH ? "
            "ORDER BY rowid DESC LIMIT ?) s JOIN support_chat_messages m ON m.id = s.rowid",
            "SELECT s.rowid AS room_id, -s.score AS score FROM (SELECT rowid, rank AS score "
            "FROM support_chat_rooms_search WHERE support_chat_rooms_search MATCH ? ORDER BY rowid DESC LIMIT ?) s",
        ]
        args: list[Any] = [match, SEARCH_CANDIDATES, match, SEARCH_CANDIDATES]
        sources = ""
    else:
        query = " & ".join(f"'{t}':*" for t in terms)
        if isinstance(conn, Database):  # messages and rooms at once on two of the pool's connections
            messages, rooms = await asyncio.gather(
                newest_matches(conn, "support_chat_messages", query, SEARCH_CANDIDATES),
                newest_matches(conn, "support_chat_rooms", query, SEARCH_CANDIDATES),
            )
        else:  # one connection (a caller's transaction) reads one statement at a time
            messages = await newest_matches(conn, "support_chat_messages", query, SEARCH_CANDIDATES)
            rooms = await newest_matches(conn, "support_chat_rooms", query, SEARCH_CANDIDATES)
        # Visitors are found through their GIN index (MATERIALIZED keeps the planner from walking
        # the primary key instead, row by row, hoping to meet the limit early) and ranked on their
        # stored vector (migration 027) once each, not once per room of theirs; messages and
        # rooms are the ids newest_matches() found, ranked on their stored vectors.
        sources = (
            "found_visitors AS MATERIALIZED (SELECT u.id FROM users u, q WHERE u.search_vector @@ q.query), "
            "ranked_visitors AS MATERIALIZED (SELECT u.id, ts_rank(u.search_vector, q.query) AS score FROM "
            "(SELECT id FROM found_visitors ORDER BY id DESC LIMIT ?) f JOIN users u ON u.id = f.id, q), "
        )
        parts = [
            "SELECT m.room_id AS room_id, ts_rank(m.search_vector, q.query) AS score FROM "
            "support_chat_messages m, q WHERE m.id = ANY(?::bigint[])",
            "SELECT r.id AS room_id, ts_rank(r.search_vector, q.query) AS score FROM "
            "support_chat_rooms r, q WHERE r.id = ANY(?::bigint[])",
            "SELECT r.id AS room_id, v.score FROM ranked_visitors v JOIN support_chat_rooms r ON r.user_id = v.id",
        ]
        args = [query, SEARCH_CANDIDATES, messages, rooms]
    if room_id is not None:
        parts.append(f"SELECT id AS room_id, {_ID_HIT_SCORE} AS score FROM support_chat_rooms WHERE id = ?")
        args.append(room_id)
    prefix = f"q (query) AS (SELECT chat_search_query(?)), {sources}" if conn.dialect == "postgres" else ""
    cte = (
        f"WITH {prefix}hits (room_id, score) AS ({' UNION ALL '.join(parts)}), "
        "best (room_id, score) AS (SELECT room_id, MAX(score) FROM hits GROUP BY room_id) "
    )
    return cte, args


async def search_rooms(
    conn: Connection,
    *,
    filter_name: str,
    admin_id: int,
    search: str,
    limit: int,
    offset: int,
    label_id: int | None = None,
) -> tuple[list[Room], int]:
    """Rooms whose messages, subject or visitor name or e-mail hold every word of ``search``
    (each as a word prefix, case and accents ignored), most relevant first, then newest."""
    terms = search_terms(search)
    digits = search.strip().lstrip("#")
    room_id = int(digits) if digits.isdigit() and len(digits) < 18 else None
    if not terms and room_id is None:
        return [], 0
    if not terms:
        terms = [digits]
    cte, args = await _hits(conn, terms, room_id)
    condition, filter_args = _filter(filter_name, admin_id, label_id)
    # The page is chosen from the rooms alone; names and the last system message are joined
    # for its rooms only, not for every match.
    rows = await conn.fetch_all(
        f"{cte}, page AS (SELECT r.id, b.score, COUNT(*) OVER () AS found_total FROM best b "
        f"JOIN support_chat_rooms r ON r.id = b.room_id WHERE {condition} "
        f"ORDER BY b.score DESC, {_AT} DESC, r.id DESC LIMIT ? OFFSET ?) "
        f"{_ROOM_SELECT.replace('SELECT r.*', 'SELECT page.found_total, r.*', 1)} "
        f"JOIN page ON page.id = r.id ORDER BY page.score DESC, {_AT} DESC, r.id DESC",
        *args,
        *filter_args,
        limit,
        offset,
        admin_id,
    )
    if rows or offset == 0:
        total = int(rows[0]["found_total"]) if rows else 0
    else:  # a page past the end: count without it
        total = int(await conn.fetch_val(
            f"{cte}SELECT COUNT(*) FROM best b JOIN support_chat_rooms r ON r.id = b.room_id WHERE {condition}",
            *args,
            *filter_args,
        ) or 0)
    return [Room.from_row(r) for r in rows], total


# -------------------------------------------------------------------- statistics

# Each sub-select reads one index: the inbox index for the active rooms, the partial unread
# index for unread chats, the partial snoozed index for snoozed ones; the finished chats, which
# grow with the history, are summed from their short ledger (chatapp.status_totals).
# Snoozed chats (chatapp.snooze) are counted apart, never as open, assigned or waiting.
STATS_SQL = (
    "SELECT "
    f"(SELECT COUNT(*) FROM support_chat_rooms WHERE status IN ('open', 'assigned') AND {AWAKE}) AS open, "
    f"(SELECT COUNT(*) FROM support_chat_rooms WHERE status = 'assigned' AND {AWAKE}) AS assigned, "
    "(SELECT COUNT(*) FROM support_chat_rooms WHERE status IN ('open', 'assigned') "
    f"AND assigned_admin_id IS NULL AND {AWAKE}) AS unassigned, "
    "(SELECT COUNT(*) FROM support_chat_rooms WHERE status IN ('open', 'assigned') AND priority = 'urgent' "
    f"AND {AWAKE}) AS urgent, "
    "(SELECT COUNT(*) FROM support_chat_rooms WHERE snoozed_at IS NOT NULL) AS snoozed, "
    "(SELECT COALESCE(SUM(admin_unread_count), 0) FROM support_chat_rooms WHERE admin_unread_count > 0) "
    "AS unread_messages, "
    "(SELECT COUNT(*) FROM support_chat_rooms WHERE admin_unread_count > 0) AS unread_chats, "
    f"{total_sql('resolved')} AS resolved, "
    f"{total_sql('closed')} AS closed"
)


async def stats(conn: Connection) -> dict[str, int]:
    row = await conn.fetch_one(STATS_SQL)
    assert row is not None
    return {k: int(v) for k, v in row.items()}


_UNREAD_CHATS_SQL = (
    "SELECT (SELECT COUNT(*) FROM agent_reads WHERE admin_id = ? AND unread_count > 0) + "
    "(SELECT COUNT(*) FROM support_chat_rooms t WHERE t.admin_unread_count > 0 AND NOT EXISTS "
    "(SELECT 1 FROM agent_reads o WHERE o.room_id = t.id AND o.admin_id = ?)) AS n"
)


async def unread_by_admin(
    conn: Connection, team: dict[str, int], admin_id: int | None = None
) -> dict[int, dict[str, int]]:
    """Each agent's unread messages and chats, for the agents keeping counts of their own
    (the others' are the team's, ``team``: :func:`stats`); only ``admin_id``'s when given.

    Theirs = the team's, less the team's in the rooms where they keep their own, plus their
    own: two grouped reads, one per unread index, whatever the history.
    """
    only = " AND admin_id = ?" if admin_id is not None else ""
    args = [admin_id] if admin_id is not None else []
    own = await conn.fetch_all(
        "SELECT admin_id, SUM(unread_count) AS messages, COUNT(*) AS chats FROM agent_reads "
        f"WHERE unread_count > 0{only} GROUP BY admin_id",
        *args,
    )
    overlap = await conn.fetch_all(
        # The unread rooms first (their partial index), then each one's agents by primary key;
        # never an agent's every row, which grows with every chat they ever opened.
        "WITH t AS MATERIALIZED (SELECT id, admin_unread_count FROM support_chat_rooms WHERE admin_unread_count > 0) "
        "SELECT o.admin_id AS admin_id, SUM(t.admin_unread_count) AS messages, COUNT(*) AS chats "
        f"FROM t {'CROSS JOIN' if conn.dialect == 'sqlite' else 'JOIN'} agent_reads o ON o.room_id = t.id"
        f"{only.replace(' AND admin_id', ' AND o.admin_id')} GROUP BY o.admin_id",
        *args,
    )
    totals: dict[int, dict[str, int]] = {}
    for rows, sign in ((own, 1), (overlap, -1)):
        for r in rows:
            mine = totals.setdefault(
                int(r["admin_id"]), {"messages": team["unread_messages"], "chats": team["unread_chats"]}
            )
            mine["messages"] += sign * int(r["messages"])
            mine["chats"] += sign * int(r["chats"])
    return totals


async def mine_by_admin(conn: Connection) -> dict[int, int]:
    """Active chats per assignee (each agent's "mine", snoozed ones aside), from the inbox index."""
    rows = await conn.fetch_all(
        "SELECT assigned_admin_id AS admin_id, COUNT(*) AS n FROM support_chat_rooms "
        f"WHERE status IN ('open', 'assigned') AND assigned_admin_id IS NOT NULL AND {AWAKE} GROUP BY assigned_admin_id"
    )
    return {int(r["admin_id"]): int(r["n"]) for r in rows}


# ------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class InboxPage:
    rooms: list[Room]
    total: int
    next_cursor: str | None  # None at the end, and for search results (ranked, paged by number)


async def inbox_page(
    conn: Connection,
    *,
    filter_name: str,
    admin_id: int,
    search: str,
    page: int,
    per_page: int,
    before: InboxCursor | None,
    label_id: int | None = None,
) -> InboxPage:
    """A search page (ranked, by page number) or a list page (keyset; ``page`` > 1 without a
    cursor still works for older clients, through OFFSET); ``label_id`` keeps one label's chats.
    Each room comes with its label ids."""
    if search:
        rooms, total = await search_rooms(
            conn, filter_name=filter_name, admin_id=admin_id, search=search, limit=per_page,
            offset=(page - 1) * per_page, label_id=label_id,
        )
        return InboxPage(await with_labels(conn, rooms), total, None)
    total = await count_rooms(conn, filter_name=filter_name, admin_id=admin_id, label_id=label_id)
    skip = 0 if before is not None else (page - 1) * per_page
    rooms = await list_rooms(conn, filter_name=filter_name, admin_id=admin_id, limit=skip + per_page + 1,
                             before=before, label_id=label_id)
    rooms = rooms[skip:]
    more = len(rooms) > per_page
    rooms = rooms[:per_page]
    cursor = InboxCursor.after(rooms[-1]).encode() if more and rooms else None
    return InboxPage(await with_labels(conn, rooms), total, cursor)


async def with_labels(conn: Connection, rooms: list[Room]) -> list[Room]:
    """``rooms`` with their label ids, in one read for them all."""
    found = await labels_of_rooms(conn, [r.id for r in rooms])
    return [replace(r, labels=tuple(found.get(r.id, ()))) for r in rooms]
