"""A TCP forwarder between chatapp and pyreverb's HTTP API that a test can shut.

Shut, it resets every request, as an unreachable pyreverb does; subscribers connect to pyreverb directly and are not affected. Tests
use it to hold chatapp's deliveries back until their subscribers are (re)subscribed,
so "delivered exactly once" is decided by chatapp and not by a race.
"""

from __future__ import annotations

import socket
import struct
import threading

__all__ = ["Gate"]


def _reset(sock: socket.socket) -> None:
    """Close with RST, not FIN: the peer sees a refused or broken connection at once."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Gate:
    """Shut, the gate lets an answer already on its way back through (so no request is left
    half-known) and resets every new request, on new and kept-alive connections alike."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.is_open = True
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def shut(self) -> None:
        self.is_open = False

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self._closed = True
        self.is_open = False
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_open:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                _reset(client)
                continue
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._answers, args=(client, upstream), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while (chunk := client.recv(65536)) and self.is_open:
                upstream.sendall(chunk)
        except OSError:
            pass
        _reset(client)
        _reset(upstream)

    def _answers(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while chunk := upstream.recv(65536):
                client.sendall(chunk)
        except OSError:
            pass
        _reset(client)
        _reset(upstream)
