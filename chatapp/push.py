"""Web Push to people who are not online (RFC 8030 + VAPID RFC 8292 + RFC 8291).

The VAPID key pair is generated on first run and kept in the database, so every
instance sharing the database signs with the same key (browsers bind a
subscription to it). "Online" is what pyreverb says: an admin is online while on
``presence-admins``; a user while their ``private-user.{id}`` channel is
occupied (the widget subscribes to it). When pyreverb cannot be asked, everyone
counts as offline: a duplicate notification beats a missed one.

Delivery never holds up a request: it runs in background tasks, the encryption and VAPID
signature (CPU work) in a small thread pool, at most :data:`MAX_IN_FLIGHT` at a time, and
every POST goes through :mod:`chatapp.egress`, which connects only to public addresses.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from chatapp import repository as repo
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.db import Database
from chatapp.egress import AddressRefused, public_only_transport
from chatapp.i18n import DEFAULT_LOCALE, Catalogues
from chatapp.models import Message, Room
from chatapp.policy import ADMIN_PRESENCE, user_channel
from chatapp.push_endpoints import EndpointRefused, check_endpoint

__all__ = ["PushNotifier", "load_vapid", "public_key_b64", "MAX_IN_FLIGHT"]

log = logging.getLogger("chatapp.push")
Subscriptions = list[dict[str, Any]]  # as repository.push_subscriptions_for reads them

# Deliveries (encrypt + POST) at once. A reply to an unassigned room reaches every offline
# admin's browsers; past this many they queue, so one burst cannot take every outbound
# connection or keep the CPU busy for everything else.
MAX_IN_FLIGHT = 16
# System messages a visitor is told about when away: the chat was resolved or closed.
VISITOR_NOTES = ("chat.resolved", "chat.closed")
PREVIEW_LENGTH = 140
# Threads for encryption: two keep pace with MAX_IN_FLIGHT slow push services, and more would
# only contend for the interpreter with the request handlers.
ENCRYPT_THREADS = 2
# Seconds an answer from pyreverb about who is on ``presence-admins`` is reused: asking on every
# visitor message was a quarter of chatapp's CPU. An agent who opened or closed the panel within
# the last second may get (or miss) one push: the same as a message racing the panel opening.
PRESENCE_MAX_AGE = 1.0


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _new_private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return _b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def _vapid_from(text: str) -> Vapid02:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("CHATAPP_VAPID_PRIVATE_KEY must be an EC P-256 key")
        return Vapid02(key)
    return Vapid02.from_raw(text.encode())


async def load_vapid(settings: Settings, db: Database) -> Vapid02:
    """The configured key, else the one generated on first run (stored in the database)."""
    if settings.vapid_private_key:
        return _vapid_from(settings.vapid_private_key)
    stored = await repo.get_or_create_secret(db, "vapid_private_key", _new_private_key())
    return _vapid_from(stored)


def public_key_b64(vapid: Vapid02) -> str:
    """The ``applicationServerKey`` a browser passes to ``pushManager.subscribe``."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(raw)


class PushNotifier:
    def __init__(
        self, settings: Settings, db: Database, broadcaster: Broadcaster, vapid: Vapid02, catalogues: Catalogues
    ) -> None:
        self.settings = settings
        self.db = db
        self.broadcaster = broadcaster
        self.vapid = vapid
        self.public_key = public_key_b64(vapid)
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
        self._client = httpx.AsyncClient(
            transport=public_only_transport(settings.push_allow_private_addresses, limits=limits),
            timeout=10.0,
            follow_redirects=False,
            trust_env=False,
        )
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._encryptor = ThreadPoolExecutor(ENCRYPT_THREADS, thread_name_prefix="push-encrypt")
        self._tasks: set[asyncio.Task[None]] = set()
        self.counters = {"delivered": 0, "skipped_online": 0, "gone": 0, "failed": 0, "refused": 0}
        # Each notification is written in its recipient's language (users.locale, else English),
        # from the app's one set of catalogues (CHATAPP_LOCALES_DIR counts here too).
        self.catalogues = catalogues

    async def stop(self, timeout: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)
        for task in self._tasks:
            task.cancel()
        await self._client.aclose()
        self._encryptor.shutdown(wait=False, cancel_futures=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ triggers

    @property
    def enabled(self) -> bool:
        return self.settings.push_enabled

    def user_message(self, room: Room, message: Message, subscriptions: Subscriptions | None = None) -> None:
        """A visitor wrote: tell the assigned admin, or every admin, who is offline. ``subscriptions``:
        every admin's, when the caller read them with the message (an unassigned chat)."""
        if self.settings.push_enabled:
            self._spawn(self._to_admins(room, message, subscriptions))

    def admin_message(self, room: Room, message: Message, subscriptions: Subscriptions | None = None) -> None:
        """Support answered: tell the visitor if their widget is not open. ``subscriptions``: the
        visitor's, when the caller read them with the message."""
        if self.settings.push_enabled:
            self._spawn(self._to_user(room, message, subscriptions))

    def mentioned(self, room: Room, note: Message, admin_ids: list[int]) -> None:
        """A private note mentions these admins: tell those who are offline."""
        if self.settings.push_enabled and admin_ids:
            self._spawn(self._mention(room, note, admin_ids))

    async def _mention(self, room: Room, note: Message, admin_ids: list[int]) -> None:
        try:
            def payload(locale: str) -> dict[str, Any]:
                name = note.sender_name or self._text(locale, "thread.support")
                title = self._text(locale, "notes.mentioned", name=name)
                return _for_panel(room, title, _preview(note), f"note-{note.id}")

            await self._send_to(await self._offline_admins(admin_ids), payload, urgent=False)
        except Exception:
            log.exception("push of a mention in room %s failed", room.id)

    async def _offline_admins(self, targets: list[int]) -> list[int]:
        """Those of ``targets`` with no panel open (not on ``presence-admins``)."""
        online = await self.broadcaster.presence_user_ids(ADMIN_PRESENCE, max_age=PRESENCE_MAX_AGE) or set()
        offline = [a for a in targets if str(a) not in online]
        self.counters["skipped_online"] += len(targets) - len(offline)
        return offline

    def assigned(self, room: Room, admin_id: int) -> None:
        """A chat was given to this admin (by routing or another agent): tell them if offline."""
        if self.settings.push_enabled:
            self._spawn(self._assigned(room, admin_id))

    async def _assigned(self, room: Room, admin_id: int) -> None:
        try:
            def payload(locale: str) -> dict[str, Any]:
                name = room.user_name or self._text(locale, "push.visitor")
                title = self._text(locale, "push.assigned", name=name)
                return _for_panel(room, title, room.subject or room.last_message_preview, f"chat-{room.id}")

            await self._send_to(await self._offline_admins([admin_id]), payload, urgent=room.priority == "urgent")
        except Exception:
            log.exception("push of an assignment in room %s failed", room.id)

    def system_message(self, room: Room, message: Message) -> None:
        """Support resolved or closed the chat: tell the visitor if their widget is not open."""
        if self.settings.push_enabled and message.system_code in VISITOR_NOTES:
            self._spawn(self._to_user(room, message, None))

    async def _to_admins(self, room: Room, message: Message, known: Subscriptions | None) -> None:
        try:
            urgent = room.priority == "urgent"

            def payload(locale: str) -> dict[str, Any]:
                name = message.sender_name or self._text(locale, "push.visitor")
                title = self._text(locale, "panel.urgentTitle", name=name) if urgent else name
                return _for_panel(room, title, self._body(locale, message), f"chat-{room.id}")

            if room.assigned_admin_id:
                await self._send_to(await self._offline_admins([room.assigned_admin_id]), payload, urgent=urgent)
                return
            # Every admin: their subscriptions in one read (not the admins, then theirs), minus
            # those of admins with a panel open.
            subscriptions = known if known is not None else await repo.admin_push_subscriptions(self.db)
            offline = set(await self._offline_admins(sorted({int(s["user_id"]) for s in subscriptions})))
            await self._deliver_all([s for s in subscriptions if int(s["user_id"]) in offline], payload, urgent)
        except Exception:
            log.exception("push to admins for room %s failed", room.id)

    async def _to_user(self, room: Room, message: Message, known: Subscriptions | None) -> None:
        try:
            # Most visitors never subscribed: at most one read of the database (none when the
            # reply's own statement read them), and no question to pyreverb.
            subscriptions = known if known is not None else await repo.push_subscriptions_for(self.db, [room.user_id])
            if not subscriptions:
                return
            if await self.broadcaster.occupied(user_channel(room.user_id)):
                self.counters["skipped_online"] += 1
                return

            def payload(locale: str) -> dict[str, Any]:
                support = self._text(locale, "thread.support")
                return {
                    # A system message says who did what in its body; a reply names who wrote.
                    "title": support if message.system_code else self._text(
                        locale, "push.replied", name=message.sender_name or support
                    ),
                    "body": self._body(locale, message),
                    "room_id": room.id,
                    "url": "/?chat=open",
                    "tag": f"chat-{room.id}",
                }

            await self._deliver_all(subscriptions, payload, urgent=False)
        except Exception:
            log.exception("push to user %s failed", room.user_id)

    # -------------------------------------------------------------------- sending

    def _text(self, locale: str, key: str, **params: Any) -> str:
        return self.catalogues.text(locale, key, params)

    def _body(self, locale: str, message: Message) -> str:
        """The notification's body: the text written, else a system message or what was sent, in ``locale``."""
        if message.system_code:
            return self.catalogues.text(locale, message.system_code, message.system_params or {})[:PREVIEW_LENGTH]
        if message.body:
            return _preview(message)
        if message.attachment:
            return self._text(locale, "push.file", file=message.attachment.original_name)
        return self._text(locale, "push.newMessage")

    async def _send_to(
        self, user_ids: list[int], payload: dict[str, Any] | Callable[[str], dict[str, Any]], urgent: bool
    ) -> None:
        """``payload``: the notification, or one written for a locale (called once per locale)."""
        if not user_ids:
            return
        await self._deliver_all(await repo.push_subscriptions_for(self.db, user_ids), payload, urgent)

    async def _deliver_all(
        self, subscriptions: list[dict[str, Any]], payload: dict[str, Any] | Callable[[str], dict[str, Any]],
        urgent: bool,
    ) -> None:
        available = set(self.catalogues.available())
        data: dict[str, bytes] = {}

        def body(sub: dict[str, Any]) -> bytes:
            stored = sub.get("locale")
            locale = stored if isinstance(stored, str) and stored in available else DEFAULT_LOCALE
            if locale not in data:
                data[locale] = orjson.dumps(payload(locale) if callable(payload) else payload)
            return data[locale]

        await asyncio.gather(*(self.send(sub, body(sub), urgent) for sub in subscriptions))

    async def send(self, sub: dict[str, Any], data: bytes, urgent: bool = False) -> int | None:
        """Encrypt and POST one notification; forget subscriptions the service says are gone."""
        async with self._in_flight:
            return await self._deliver(sub, data, urgent)

    async def _deliver(self, sub: dict[str, Any], data: bytes, urgent: bool) -> int | None:
        endpoint = sub["endpoint"]
        try:
            check_endpoint(endpoint, self.settings)  # stored under older, looser rules?
            loop = asyncio.get_running_loop()
            body, headers = await loop.run_in_executor(self._encryptor, self._seal, sub, data, urgent)
            response = await self._client.post(endpoint, content=body, headers=headers)
        except Exception as exc:  # noqa: BLE001 (a bad endpoint or key must not break the others)
            refused = isinstance(exc, EndpointRefused) or isinstance(exc.__cause__, AddressRefused)
            self.counters["refused" if refused else "failed"] += 1
            log.warning("web push to %s %s: %s", _short(endpoint), "refused" if refused else "failed", exc)
            return None
        if response.status_code in (404, 410):
            await repo.delete_push_endpoint(self.db, endpoint)
            self.counters["gone"] += 1
            log.info("web push subscription gone (%s); removed", response.status_code)
        elif response.status_code >= 300:
            self.counters["failed"] += 1
            log.warning("web push to %s answered %s", _short(endpoint), response.status_code)
        else:
            self.counters["delivered"] += 1
            await repo.touch_push_subscription(self.db, endpoint)
        return response.status_code

    def _seal(self, sub: dict[str, Any], data: bytes, urgent: bool) -> tuple[bytes, dict[str, str]]:
        """The encrypted body (RFC 8291) and headers with a VAPID signature; CPU work, run in a thread."""
        # imported here, not at the top: it pulls in aiohttp and requests (0.15 s of every start)
        from pywebpush import WebPusher

        endpoint = sub["endpoint"]
        keys = {"p256dh": sub["p256dh"], "auth": sub["auth"]}
        body: bytes = WebPusher({"endpoint": endpoint, "keys": keys}).encode(data, "aes128gcm")["body"]
        parts = urlsplit(endpoint)
        claims: dict[str, str | int] = {"aud": f"{parts.scheme}://{parts.netloc}", "sub": self.settings.vapid_subject}
        headers = {
            **self.vapid.sign(claims),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.settings.push_ttl),
            "Urgency": "high" if urgent else "normal",
        }
        return body, headers


def _for_panel(room: Room, title: str, body: str, tag: str) -> dict[str, Any]:
    """A notification whose click opens the chat in the admin panel."""
    return {"title": title, "body": body, "room_id": room.id, "url": f"/admin/chat/{room.id}", "tag": tag}


def _preview(message: Message) -> str:
    """What a person wrote, as a notification shows it (English for a file or nothing written)."""
    if message.body:
        return message.body[:PREVIEW_LENGTH]
    return f"Sent a file: {message.attachment.original_name}" if message.attachment else "New message"


def _short(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}/..."
