"""chatapp under load: throughput, delivery latency, search and cost per message.

Real pyreverb and chatapp processes on a database preloaded with past rooms and
messages, on SQLite and PostgreSQL; visitors and agents are HTTP and Pusher
WebSocket clients. ``python -m bench.chat [--quick]``.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    raise SystemExit("bench.chat: not built yet")


if __name__ == "__main__":
    main()
