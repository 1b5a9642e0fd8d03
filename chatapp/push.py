"""Web Push to people who are not online (RFC 8030 + VAPID RFC 8292 + RFC 8291).

The VAPID key pair is generated on first run and kept in the database, so every
instance sharing the database signs with the same key (browsers bind a
subscription to it). "Online" is what pyreverb says: an admin is online while on
``presence-admins``; a user while their ``private-user.{id}`` channel is
occupied (the widget subscribes to it). When pyreverb cannot be asked, everyone
counts as offline: a duplicate notification beats a missed one.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher

from chatapp import repository as repo
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.db import Database
from chatapp.models import Message, Room
from chatapp.policy import ADMIN_PRESENCE, user_channel

__all__ = ["PushNotifier", "load_vapid", "public_key_b64"]

log = logging.getLogger("chatapp.push")


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
    def __init__(self, settings: Settings, db: Database, broadcaster: Broadcaster, vapid: Vapid02) -> None:
        self.settings = settings
        self.db = db
        self.broadcaster = broadcaster
        self.vapid = vapid
        self.public_key = public_key_b64(vapid)
        self._client = httpx.AsyncClient(timeout=10.0)
        self._tasks: set[asyncio.Task[None]] = set()
        self.counters = {"delivered": 0, "skipped_online": 0, "gone": 0, "failed": 0}

    async def stop(self, timeout: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)
        for task in self._tasks:
            task.cancel()
        await self._client.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ triggers

    def user_message(self, room: Room, message: Message) -> None:
        """A visitor wrote: tell the assigned admin, or every admin, who is offline."""
        if self.settings.push_enabled:
            self._spawn(self._to_admins(room, message))

    def admin_message(self, room: Room, message: Message) -> None:
        """Support answered: tell the visitor if their widget is not open."""
        if self.settings.push_enabled:
            self._spawn(self._to_user(room, message))

    async def _to_admins(self, room: Room, message: Message) -> None:
        try:
            targets = [room.assigned_admin_id] if room.assigned_admin_id else await repo.admin_ids(self.db)
            online = await self.broadcaster.presence_user_ids(ADMIN_PRESENCE) or set()
            offline = [a for a in targets if a is not None and str(a) not in online]
            self.counters["skipped_online"] += len(targets) - len(offline)
            payload = {
                "title": f"{'Urgent: ' if room.priority == 'urgent' else ''}{message.sender_name or 'Visitor'}",
                "body": _preview(message),
                "room_id": room.id,
                "url": f"/admin/chat/{room.id}",
                "tag": f"chat-{room.id}",
            }
            await self._send_to(offline, payload, urgent=room.priority == "urgent")
        except Exception:
            log.exception("push to admins for room %s failed", room.id)

    async def _to_user(self, room: Room, message: Message) -> None:
        try:
            if await self.broadcaster.occupied(user_channel(room.user_id)):
                self.counters["skipped_online"] += 1
                return
            payload = {
                "title": f"{message.sender_name or 'Support'} replied",
                "body": _preview(message),
                "room_id": room.id,
                "url": "/?chat=open",
                "tag": f"chat-{room.id}",
            }
            await self._send_to([room.user_id], payload, urgent=False)
        except Exception:
            log.exception("push to user %s failed", room.user_id)

    # -------------------------------------------------------------------- sending

    async def _send_to(self, user_ids: list[int], payload: dict[str, Any], urgent: bool) -> None:
        if not user_ids:
            return
        subscriptions = await repo.push_subscriptions_for(self.db, user_ids)
        data = orjson.dumps(payload)
        await asyncio.gather(*(self.send(sub, data, urgent) for sub in subscriptions))

    async def send(self, sub: dict[str, Any], data: bytes, urgent: bool = False) -> int | None:
        """Encrypt and POST one notification; forget subscriptions the service says are gone."""
        endpoint = sub["endpoint"]
        try:
            body = WebPusher({"endpoint": endpoint, "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}).encode(
                data, "aes128gcm"
            )["body"]
            parts = urlsplit(endpoint)
            claims: dict[str, str | int] = {"aud": f"{parts.scheme}://{parts.netloc}", "sub": self.settings.vapid_subject}
            headers = {
                **self.vapid.sign(claims),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(self.settings.push_ttl),
                "Urgency": "high" if urgent else "normal",
            }
            response = await self._client.post(endpoint, content=body, headers=headers)
        except Exception as exc:  # a bad endpoint or key must not break the others
            self.counters["failed"] += 1
            log.warning("web push to %s failed: %s", _short(endpoint), exc)
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


def _preview(message: Message) -> str:
    if message.body:
        return message.body[:140]
    return f"Sent a file: {message.attachment.original_name}" if message.attachment else "New message"


def _short(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}/..."
