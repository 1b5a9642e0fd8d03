"""E-mail: notifications, transcripts and replies by mail (docs/chatapp.md, "E-mail").

Off while ``CHATAPP_SMTP_URL`` is unset. :mod:`chatapp.mail.service` holds the mail outbox,
its scheduler and relay; :mod:`chatapp.mail.inbound` reads replies that come back.
"""

from chatapp.mail.service import Mailer, status

__all__ = ["Mailer", "status"]
