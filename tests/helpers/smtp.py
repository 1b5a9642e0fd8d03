"""A real SMTP server for the suite (aiosmtpd on a free port) that keeps every message it accepts.

``refuse`` maps a recipient address to an SMTP reply (``"550 5.1.1 No such user"``,
``"451 4.3.0 Try later"``); :meth:`stop` and :meth:`start` take the server down and bring
it back on the same port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers.procs import TIME_FACTOR, free_port


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}
        self._cond = threading.Condition()
        self.controller: Controller | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        refusal = self.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self._cond:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._cond:
            return [m for m in self.messages if str(m["To"]).lower().endswith(address.lower().rstrip(">"))
                    or address.lower() in str(m["To"]).lower()]

    def forget(self, message: EmailMessage) -> None:
        """Drop one received message (a test's set-up mail), so later counts see only what follows."""
        with self._cond:
            self.messages.remove(message)

    def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout * TIME_FACTOR
        with self._cond:
            while True:
                found = [m for m in self.messages if address.lower() in str(m["To"]).lower()]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{count} mail(s) to {address} not received in {timeout}s "
                                       f"(got {len(found)}; {len(self.messages)} in all)")
                self._cond.wait(remaining)

    def close(self) -> None:
        self.stop()


@contextmanager
def running_smtp() -> Iterator[SmtpSink]:
    """An :class:`SmtpSink` until the block ends."""
    sink = SmtpSink()
    try:
        yield sink
    finally:
        sink.close()
