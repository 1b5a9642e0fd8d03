# Types of the compiled module built from _speedups.pyx (see pyreverb/speedups.py).

def parse_trigger_request(
    data: bytes, prefix: bytes, max_body: int
) -> tuple[str, str, bytes, bytes, bool] | None:
    """``(app_id, path, query, body, keep_alive)`` for exactly one plain trigger request, else None."""

def signature_ok(
    method: bytes, path: str, query: bytes, body: bytes, key: str, secret: str, now: float, tolerance: int
) -> bool:
    """True when the request is signed by this app for ``path`` as received."""
