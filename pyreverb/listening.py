"""The address a uvicorn server really listens on, for start-up lines.

The configured host says little on its own: ``0.0.0.0`` means every interface and
port 0 means any port. Start-up lines print what the socket was bound to, so an
operator sees at once whether a server is reachable from other machines.
"""

from __future__ import annotations

import uvicorn

__all__ = ["listening_address"]


def listening_address(server: uvicorn.Server) -> str:
    """``host:port`` of the server's first listening socket (``[::1]:8080`` for IPv6)."""
    for listener in server.servers:
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return "?"
