"""``python -m bench.sqlite_fts_merge``: how long storing one message holds a large SQLite history.

On a copy of the chat benchmark's history (100,000 rooms, 1,000,000 messages; bench.chat_db),
messages are stored one per transaction, as chatapp's requests store them, in two ways:

* *in the statement*: FTS5's own merging (automerge 4, crisismerge 16: SQLite's defaults,
  chatapp's before migration 030), which runs inside the statement that stores a message;
* *in steps*: migration 030's settings (automerge 0, crisismerge 64) and, after every
  ``--every`` messages (about a second of a busy desk), a pass of chatapp.search_merge's
  steps (up to 64 'merge' commands of 16 pages, until one finds nothing to do).

Every store, commit and merge step is timed: the longest of them is the longest a request on
chatapp's one SQLite connection can wait behind. Prints a table, writes
``bench/results/sqlite_fts_merge.json``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.chat import FULL
from bench.chat_data import History
from bench.chat_db import discard, prepare
from bench.report import machine, markdown_table, write_json
from bench.report import table as text_table
from chatapp.search_merge import PAGES_PER_STEP, SEARCH_TABLES, STEPS_PER_PASS

WORDS = ("замовлення доставка повернення оплата livraison commande remboursement colis refund order "
         "parcel garçon crème address").split()


def _pct(values: list[float], p: float) -> float | None:
    xs = sorted(values)
    return round(xs[min(len(xs) - 1, int(p / 100 * len(xs)))], 2) if xs else None


def _summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": _pct(values, 50), "p99_ms": _pct(values, 99),
            "max_ms": round(max(values), 1) if values else None, "over_20_ms": sum(v > 20 for v in values)}


def _merge_pass(conn: sqlite3.Connection, steps: list[float]) -> None:
    """What SearchIndexMerger.sweep does, on one connection."""
    for table in SEARCH_TABLES:
        for _ in range(STEPS_PER_PASS):
            before = conn.total_changes
            started = time.perf_counter()
            conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('merge', ?)", (PAGES_PER_STEP,))
            steps.append((time.perf_counter() - started) * 1000)
            if conn.total_changes - before < 2:
                break


def run_one(path: Path, in_steps: bool, messages: int, every: int, seed: int) -> dict[str, Any]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    automerge, crisis = (0, 64) if in_steps else (4, 16)
    for table in SEARCH_TABLES:
        conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', ?)", (automerge,))
        conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('crisismerge', ?)", (crisis,))
    rooms = conn.execute("SELECT id, user_id FROM support_chat_rooms ORDER BY id DESC LIMIT 400").fetchall()
    rng = random.Random(seed)
    stores: list[float] = []
    commits: list[float] = []
    steps: list[float] = []
    for n in range(messages):
        room_id, user_id = rooms[n % len(rooms)]
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16)))
        conn.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        conn.execute("INSERT INTO support_chat_messages (room_id, sender_id, sender_role, body, created_at) "
                     "VALUES (?, ?, 'user', ?, '2026-12-04T12:00:00.000000Z')", (room_id, user_id, body))
        stored = time.perf_counter()
        conn.execute("COMMIT")
        stores.append((stored - started) * 1000)
        commits.append((time.perf_counter() - stored) * 1000)
        if in_steps and n % every == every - 1:
            _merge_pass(conn, steps)
    conn.close()
    longest = max(stores + commits + steps)
    return {"store": _summary(stores), "commit": _summary(commits), "merge_step": _summary(steps),
            "longest_hold_ms": round(longest, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_fts_merge", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6_000)
    parser.add_argument("--every", type=int, default=30, help="messages between two merge passes")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rooms", type=int, default=FULL.rooms)
    parser.add_argument("--history", type=int, default=FULL.messages, help="messages in the history")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, Any]]] = {"in the statement": [], "in steps": []}
    for repeat in range(args.repeat):
        for name, in_steps in (("in the statement", False), ("in steps", True)):
            url = prepare("sqlite", History(args.rooms, args.history), print)
            try:
                result = run_one(Path(url.split("://", 1)[1][1:]), in_steps, args.messages, args.every, repeat)
            finally:
                discard(url)
            runs[name].append(result)
            print(f"   {name}, run {repeat + 1}: {result}", flush=True)
    rows = {name: {"store p50 ms": r[-1]["store"]["p50_ms"], "store p99 ms": r[-1]["store"]["p99_ms"],
                   "store max ms": max(x["store"]["max_ms"] for x in r),
                   "commit max ms": max(x["commit"]["max_ms"] for x in r),
                   "stores over 20 ms": sum(x["store"]["over_20_ms"] + x["commit"]["over_20_ms"] for x in r),
                   "merge step p99 ms": r[-1]["merge_step"]["p99_ms"],
                   "longest hold ms": max(x["longest_hold_ms"] for x in r)} for name, r in runs.items()}
    print(text_table("SQLite: storing a message on 1,000,000 (one per transaction)", rows))
    print(markdown_table(rows))
    path = write_json("sqlite_fts_merge", {"machine": machine(), "args": vars(args), "runs": runs, "rows": rows})
    print(f"   wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
