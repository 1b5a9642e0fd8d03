"""One module per scenario: ``run(server, pool, cfg)`` and ``headline(result)``."""

from bench.scenarios import client_events, connections, fanout, http_api, storm

SCENARIOS = {
    "connections": connections,
    "fanout": fanout,
    "client_events": client_events,
    "http_api": http_api,
    "storm": storm,
}

__all__ = ["SCENARIOS"]
