"""What operators watch, ``/api/admin/status``: support staff only, never on the public ``/up``.

The outbox's depth and the age of its oldest row say whether realtime delivery keeps
up (a growing age means pyreverb is unreachable or refusing events); the counters
are this process's since it started.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp.api.common import json_response, state
from chatapp.mail import status as mail_status
from chatapp.outbox import status as outbox_status

__all__ = ["status"]


async def status(request: Request) -> Response:
    chat = state(request)
    outbox = await outbox_status(chat.db)
    return json_response(
        {
            "outbox": {**outbox, **chat.relay.counters(), "max_age_seconds": chat.settings.outbox_max_age},
            "hints": {"sent": chat.broadcaster.sent, "dropped": chat.broadcaster.dropped},
            "push": dict(chat.push.counters) if chat.push else None,
            # enabled false: e-mail is off (CHATAPP_SMTP_URL unset); the panel says so
            "mail": {**chat.mail.status(), "queue": await mail_status(chat.db)} if chat.mail else {"enabled": False},
        }
    )
