"""One Pusher connection's protocol state, without I/O.

``PusherSession.receive(payload)`` validates a client frame and returns the
actions the I/O layer must carry out. Channel bookkeeping that spans
connections (presence members, fan-out) lives in the server; the session only
decides what is allowed and what to say.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pyreverb.config import AppConfig
from pyreverb.protocol import auth
from pyreverb.protocol.channels import (
    ChannelKind,
    PresenceMember,
    channel_kind,
    is_server_to_user_channel,
    is_valid_channel_name,
    parse_channel_data,
)
from pyreverb.protocol.errors import ClientEventRejected, InvalidMessage, PusherError
from pyreverb.protocol.messages import ClientMessage, decode, encode_data, encode_error, encode_event

__all__ = [
    "PusherSession",
    "Reply",
    "Subscribe",
    "Unsubscribe",
    "ClientEvent",
    "SignIn",
    "Close",
    "Action",
    "new_socket_id",
    "SOCKET_ID_RE",
]

SOCKET_ID_RE = re.compile(r"^[0-9]+\.[0-9]+\Z")  # ASCII digits only, no trailing newline
MAX_EVENT_NAME_LENGTH = 200


def new_socket_id() -> str:
    return f"{random.randint(1, 2_147_483_647)}.{random.randint(1, 2_147_483_647)}"


@dataclass(frozen=True, slots=True)
class Reply:
    """Send this frame to the connection itself."""

    frame: bytes


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Join ``channel``; the server answers with subscription_succeeded or an error."""

    channel: str
    kind: ChannelKind
    member: PresenceMember | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channel: str
    member: PresenceMember | None = None


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """Relay ``frame`` to the channel's other subscribers (never back to the sender)."""

    channel: str
    event: str
    frame: bytes
    user_id: str | None = None
    data: str = ""


@dataclass(frozen=True, slots=True)
class SignIn:
    """The connection proved a user identity (``pusher:signin``)."""

    user_id: str
    user_data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str = ""


Action = Reply | Subscribe | Unsubscribe | ClientEvent | SignIn | Close


@dataclass(slots=True)
class PusherSession:
    """Protocol state of one socket: which channels it joined and as whom."""

    app: AppConfig
    socket_id: str = field(default_factory=new_socket_id)
    channels: dict[str, PresenceMember | None] = field(default_factory=dict)
    user_id: str | None = None
    clock: Callable[[], float] = time.monotonic
    # The client-event rate window, kept inline: one session per socket, so every field counts.
    _rate_started: float = 0.0
    _rate_count: int = 0

    # -- outgoing frames the server sends on its own ------------------------------
    def established_frame(self) -> bytes:
        return encode_event(
            "pusher:connection_established",
            {"socket_id": self.socket_id, "activity_timeout": self.app.activity_timeout},
        )

    @staticmethod
    def ping_frame() -> bytes:
        return encode_event("pusher:ping", {})

    # -- incoming -----------------------------------------------------------------
    def receive(self, payload: bytes | str, *, binary: bool = False) -> list[Action]:
        """Handle one client frame; never raises."""
        size = len(payload) if isinstance(payload, bytes) else len(payload.encode())
        if size > self.app.max_message_size:
            return [Close(1009, f"Message of {size} bytes exceeds the {self.app.max_message_size}-byte limit")]
        if binary:
            return [Reply(encode_error(4200, "Binary frames are not supported; send JSON text"))]
        try:
            message = decode(payload)
            return self._dispatch(message)
        except PusherError as exc:
            return [Reply(encode_error(exc.code, exc.message))]

    def _dispatch(self, message: ClientMessage) -> list[Action]:
        event = message.event
        if event.startswith("client-"):
            return self._client_event(message)
        handler = _HANDLERS.get(event)
        if handler is None:
            raise InvalidMessage(f"Unknown event '{event[:MAX_EVENT_NAME_LENGTH]}'")
        return handler(self, message)

    def _ping(self, message: ClientMessage) -> list[Action]:
        return [Reply(encode_event("pusher:pong", {}))]

    def _pong(self, message: ClientMessage) -> list[Action]:
        return []

    def _subscribe(self, message: ClientMessage) -> list[Action]:
        data = _data_object(message)
        channel = data.get("channel")
        if isinstance(channel, str) and is_server_to_user_channel(channel):
            return self._subscribe_server_to_user(channel)
        if not is_valid_channel_name(channel):
            raise InvalidMessage(
                "Invalid channel name: 1-164 characters of A-Z a-z 0-9 _ - = @ , . ;"
            )
        assert isinstance(channel, str)
        if channel not in self.channels and len(self.channels) >= self.app.max_channels_per_connection:
            raise PusherError(
                f"Subscription limit of {self.app.max_channels_per_connection} channels per connection reached",
                code=4300,
            )
        kind = channel_kind(channel)
        member: PresenceMember | None = None
        if kind.requires_auth:
            channel_data = data.get("channel_data")
            if kind is ChannelKind.PRESENCE:
                if not isinstance(channel_data, str):
                    return [self.subscription_error(channel, "Presence subscriptions need channel_data", 400)]
            elif channel_data is not None and not isinstance(channel_data, str):
                channel_data = None
            signed_data = channel_data if kind is ChannelKind.PRESENCE else None
            if not auth.verify_channel_auth(
                self.app.key, self.app.secret, self.socket_id, channel, data.get("auth"), signed_data
            ):
                return [self.subscription_error(channel, "Invalid signature: the auth for this channel does not match")]
            if kind is ChannelKind.PRESENCE:
                try:
                    member = parse_channel_data(channel_data)
                except InvalidMessage as exc:
                    return [self.subscription_error(channel, exc.message, 400)]
        self.channels[channel] = member
        return [Subscribe(channel=channel, kind=kind, member=member)]

    def _subscribe_server_to_user(self, channel: str) -> list[Action]:
        """pusher-js joins ``#server-to-user-{id}`` after sign-in; only that user may."""
        if self.user_id is None or channel != f"#server-to-user-{self.user_id}":
            return [self.subscription_error(channel, "Sign in as this user before joining its channel", 403)]
        self.channels[channel] = None
        return [Subscribe(channel=channel, kind=ChannelKind.PUBLIC, member=None)]

    def _unsubscribe(self, message: ClientMessage) -> list[Action]:
        data = _data_object(message)
        channel = data.get("channel")
        if not isinstance(channel, str):
            raise InvalidMessage("pusher:unsubscribe needs data.channel")
        if channel not in self.channels:
            return []
        return [Unsubscribe(channel, self.channels.pop(channel))]

    def _signin(self, message: ClientMessage) -> list[Action]:
        data = _data_object(message)
        user_data_raw = data.get("user_data")
        if not isinstance(user_data_raw, str):
            raise InvalidMessage("pusher:signin needs data.user_data (a JSON string)")
        if not auth.verify_user_auth(self.app.key, self.app.secret, self.socket_id, user_data_raw, data.get("auth")):
            return [
                Reply(encode_error(4009, "Invalid signature for pusher:signin")),
                Close(4009, "Invalid signature for pusher:signin"),
            ]
        try:
            user_data = decode_object(user_data_raw)
        except InvalidMessage:
            user_data = {}
        user_id = user_data.get("id")
        if isinstance(user_id, bool) or not isinstance(user_id, (str, int)) or str(user_id) == "":
            reason = "user_data must be a JSON object with a non-empty 'id'"
            return [Reply(encode_error(4009, reason)), Close(4009, reason)]
        member = PresenceMember(user_id=str(user_id), user_info=user_data.get("user_info"))
        self.user_id = member.user_id
        return [
            SignIn(user_id=member.user_id, user_data=user_data),
            Reply(encode_event("pusher:signin_success", {"user_data": user_data_raw})),
        ]

    def _client_event(self, message: ClientMessage) -> list[Action]:
        channel = message.channel
        if channel is None:
            raise ClientEventRejected("Client events need a 'channel'")
        if len(message.event) > MAX_EVENT_NAME_LENGTH:
            raise ClientEventRejected(f"Event name longer than {MAX_EVENT_NAME_LENGTH} characters")
        if not self.app.client_events_enabled:
            raise ClientEventRejected("Client events are disabled for this app")
        kind = channel_kind(channel)
        if not kind.allows_client_events:
            raise ClientEventRejected("Client events are only allowed on private and presence channels")
        subscribed = channel in self.channels
        if not subscribed and self.app.accept_client_events_from == "members":
            raise ClientEventRejected(f"Not subscribed to channel '{channel}'")
        if not subscribed and not is_valid_channel_name(channel):
            raise ClientEventRejected("Invalid channel name")
        if self.app.rate_limiting_enabled and not self._within_rate_limit():
            error = ClientEventRejected("Rate limit exceeded: too many client events")
            actions: list[Action] = [Reply(encode_error(error.code, error.message))]
            if self.app.rate_limit_terminate:
                actions.append(Close(4301, "Rate limit exceeded"))
            return actions
        member = self.channels.get(channel)
        user_id = member.user_id if member is not None else None
        extra: dict[str, Any] = {"user_id": user_id} if kind is ChannelKind.PRESENCE and user_id else {}
        frame = encode_event(message.event, message.data, channel, **extra)
        return [
            ClientEvent(
                channel=channel, event=message.event, frame=frame, user_id=user_id, data=encode_data(message.data)
            )
        ]

    def _within_rate_limit(self) -> bool:
        now = self.clock()
        if now - self._rate_started >= self.app.rate_limit_decay_seconds:
            self._rate_started = now
            self._rate_count = 0
        self._rate_count += 1
        return self._rate_count <= self.app.rate_limit_max_attempts

    # -- frames the server builds once the channel layer has answered --------------
    @staticmethod
    def subscription_succeeded(channel: str, presence: dict[str, Any] | None = None) -> bytes:
        data: dict[str, Any] = {"presence": presence} if presence is not None else {}
        return encode_event("pusher_internal:subscription_succeeded", data, channel)

    def subscription_error(self, channel: str, error: str, status: int = 401) -> Reply:
        self.channels.pop(channel, None)
        return Reply(
            encode_event(
                "pusher:subscription_error",
                {"type": "AuthError", "error": error, "status": status},
                channel,
            )
        )

    def forget(self, channel: str) -> None:
        """The server refused a join the session had already recorded."""
        self.channels.pop(channel, None)


def _data_object(message: ClientMessage) -> dict[str, Any]:
    data = message.data
    if isinstance(data, str):
        data = decode_object(data)
    if not isinstance(data, dict):
        raise InvalidMessage(f"{message.event} needs 'data' to be an object")
    return data


def decode_object(raw: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage("data is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidMessage("data must be a JSON object")
    return doc


_HANDLERS = {
    "pusher:ping": PusherSession._ping,
    "pusher:pong": PusherSession._pong,
    "pusher:subscribe": PusherSession._subscribe,
    "pusher:unsubscribe": PusherSession._unsubscribe,
    "pusher:signin": PusherSession._signin,
}
