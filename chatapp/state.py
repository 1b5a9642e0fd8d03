"""Everything one running chatapp holds, built at start-up and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from chatapp.auth import Passwords
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.db import Database
from chatapp.login_throttle import LoginThrottle
from chatapp.mail import Mailer
from chatapp.outbox import Relay
from chatapp.push import PushNotifier
from chatapp.ratelimit import RateLimiter
from chatapp.search_merge import SearchIndexMerger
from chatapp.services import ChatService
from chatapp.sessions import Sessions
from chatapp.site_hours import SiteHours
from chatapp.uploads import UploadStore
from chatapp.wal_checkpoint import WalCheckpointer

__all__ = ["ChatState"]


@dataclass
class ChatState:
    settings: Settings
    db: Database
    sessions: Sessions
    passwords: Passwords
    limiter: RateLimiter
    login_throttle: LoginThrottle
    broadcaster: Broadcaster
    uploads: UploadStore
    service: ChatService
    relay: Relay
    push: PushNotifier | None
    hours: SiteHours  # business hours and live availability (chatapp.site_hours)
    mail: Mailer | None = None  # set at start-up (chatapp.app); off without CHATAPP_SMTP_URL
    search_merger: SearchIndexMerger | None = None  # SQLite only (chatapp.search_merge)
    wal_checkpointer: WalCheckpointer | None = None  # SQLite files only (chatapp.wal_checkpoint)
