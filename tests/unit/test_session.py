"""The socket-free protocol core: feed a session frames, check the actions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from pyreverb.config import AppConfig
from pyreverb.protocol.auth import channel_auth_signature, user_auth_signature
from pyreverb.protocol.channels import ChannelKind, PresenceMember
from pyreverb.protocol.session import ClientEvent, Close, PusherSession, Reply, SignIn, Subscribe, Unsubscribe

APP = AppConfig(app_id="1", key="key", secret="secret")


def session(**overrides: Any) -> PusherSession:
    return PusherSession(replace(APP, **overrides), socket_id="123.456")


def frame(event: str, data: Any = None, channel: str | None = None) -> bytes:
    doc: dict[str, Any] = {"event": event, "data": data if data is not None else {}}
    if channel:
        doc["channel"] = channel
    return json.dumps(doc).encode()


def reply_doc(action: Any) -> dict[str, Any]:
    assert isinstance(action, Reply), action
    doc = json.loads(action.frame)
    if isinstance(doc.get("data"), str):
        doc["data"] = json.loads(doc["data"])
    return doc


def auth(channel: str, data: str | None = None, socket_id: str = "123.456") -> str:
    return f"key:{channel_auth_signature('secret', socket_id, channel, data)}"


def test_connection_established_carries_socket_id_and_activity_timeout() -> None:
    doc = json.loads(session(activity_timeout=45).established_frame())
    assert doc["event"] == "pusher:connection_established"
    assert json.loads(doc["data"]) == {"socket_id": "123.456", "activity_timeout": 45}


def test_public_subscribe_needs_no_auth() -> None:
    s = session()
    [action] = s.receive(frame("pusher:subscribe", {"channel": "news"}))
    assert action == Subscribe("news", ChannelKind.PUBLIC, None)
    assert "news" in s.channels


def test_private_subscribe_with_good_auth() -> None:
    s = session()
    [action] = s.receive(frame("pusher:subscribe", {"channel": "private-a", "auth": auth("private-a")}))
    assert action == Subscribe("private-a", ChannelKind.PRIVATE, None)


@pytest.mark.parametrize("bad", [None, "key:00", auth("private-b"), auth("private-a", socket_id="9.9"), "other:" + auth("private-a")[4:]])
def test_private_subscribe_with_bad_auth_gets_subscription_error(bad: str | None) -> None:
    s = session()
    [action] = s.receive(frame("pusher:subscribe", {"channel": "private-a", "auth": bad}))
    doc = reply_doc(action)
    assert doc["event"] == "pusher:subscription_error"
    assert doc["channel"] == "private-a"
    assert doc["data"]["status"] == 401 and doc["data"]["type"] == "AuthError"
    assert "private-a" not in s.channels


def test_presence_subscribe_parses_member() -> None:
    s = session()
    data = json.dumps({"user_id": 7, "user_info": {"name": "Ann"}})
    [action] = s.receive(frame("pusher:subscribe", {"channel": "presence-r", "auth": auth("presence-r", data), "channel_data": data}))
    assert action == Subscribe("presence-r", ChannelKind.PRESENCE, PresenceMember("7", {"name": "Ann"}))


def test_presence_signature_must_cover_channel_data() -> None:
    s = session()
    data = json.dumps({"user_id": 7})
    forged = json.dumps({"user_id": 8})
    [action] = s.receive(frame("pusher:subscribe", {"channel": "presence-r", "auth": auth("presence-r", data), "channel_data": forged}))
    assert reply_doc(action)["event"] == "pusher:subscription_error"


@pytest.mark.parametrize("channel_data", ['{"user_info":{}}', "[1]", "not json", '{"user_id":true}'])
def test_presence_with_bad_channel_data_is_refused(channel_data: str) -> None:
    s = session()
    [action] = s.receive(frame("pusher:subscribe", {"channel": "presence-r", "auth": auth("presence-r", channel_data), "channel_data": channel_data}))
    doc = reply_doc(action)
    assert doc["event"] == "pusher:subscription_error" and doc["data"]["status"] == 400


@pytest.mark.parametrize("name", ["", "a" * 165, "bad name", "x/y", 5, None])
def test_invalid_channel_names_are_errors(name: Any) -> None:
    [action] = session().receive(frame("pusher:subscribe", {"channel": name}))
    doc = reply_doc(action)
    assert doc["event"] == "pusher:error" and doc["data"]["code"] == 4200
    assert "channel name" in doc["data"]["message"]


def test_subscription_limit_per_connection() -> None:
    s = session(max_channels_per_connection=2)
    s.receive(frame("pusher:subscribe", {"channel": "a"}))
    s.receive(frame("pusher:subscribe", {"channel": "b"}))
    [action] = s.receive(frame("pusher:subscribe", {"channel": "c"}))
    assert reply_doc(action)["data"]["code"] == 4300
    # re-subscribing to a channel already held is not a new subscription
    assert isinstance(s.receive(frame("pusher:subscribe", {"channel": "a"}))[0], Subscribe)


def test_unsubscribe_only_when_subscribed() -> None:
    s = session()
    assert s.receive(frame("pusher:unsubscribe", {"channel": "news"})) == []
    s.receive(frame("pusher:subscribe", {"channel": "news"}))
    assert s.receive(frame("pusher:unsubscribe", {"channel": "news"})) == [Unsubscribe("news")]
    assert s.channels == {}


def test_ping_gets_pong() -> None:
    [action] = session().receive(frame("pusher:ping"))
    assert reply_doc(action)["event"] == "pusher:pong"


@pytest.mark.parametrize(
    "payload, fragment",
    [
        (b"not json", "not valid JSON"),
        (b"[1,2]", "JSON object"),
        (b'{"data":{}}', "'event'"),
        (b'{"event":"pusher:subscribe","data":5}', "needs 'data' to be an object"),
        (b'{"event":"pusher:nonsense","data":{}}', "Unknown event"),
        (b'{"event":"hello","data":{}}', "Unknown event"),
        (b'{"event":"pusher:subscribe","channel":5}', "'channel'"),
    ],
)
def test_malformed_frames_get_pusher_error_never_an_exception(payload: bytes, fragment: str) -> None:
    [action] = session().receive(payload)
    doc = reply_doc(action)
    assert doc["event"] == "pusher:error"
    assert doc["data"]["code"] == 4200
    assert fragment in doc["data"]["message"]


def test_oversized_message_closes_with_1009() -> None:
    [action] = session(max_message_size=100).receive(b"x" * 101)
    assert isinstance(action, Close) and action.code == 1009


def test_binary_frames_are_refused_with_an_error() -> None:
    [action] = session().receive(b"{}", binary=True)
    assert reply_doc(action)["event"] == "pusher:error"


def _subscribed(s: PusherSession, channel: str, user: str | None = None) -> None:
    if channel.startswith("presence-"):
        data = json.dumps({"user_id": user})
        s.receive(frame("pusher:subscribe", {"channel": channel, "auth": auth(channel, data), "channel_data": data}))
    elif channel.startswith("private-"):
        s.receive(frame("pusher:subscribe", {"channel": channel, "auth": auth(channel)}))
    else:
        s.receive(frame("pusher:subscribe", {"channel": channel}))


def test_client_event_on_subscribed_private_channel_is_relayed() -> None:
    s = session()
    _subscribed(s, "private-a")
    [action] = s.receive(frame("client-typing", {"x": 1}, "private-a"))
    assert isinstance(action, ClientEvent) and action.channel == "private-a"
    doc = json.loads(action.frame)
    assert doc["event"] == "client-typing" and json.loads(doc["data"]) == {"x": 1}
    assert "user_id" not in doc


def test_client_event_on_presence_carries_user_id() -> None:
    s = session()
    _subscribed(s, "presence-a", "42")
    [action] = s.receive(frame("client-typing", {"x": 1}, "presence-a"))
    assert isinstance(action, ClientEvent)
    assert json.loads(action.frame)["user_id"] == "42"


@pytest.mark.parametrize(
    "channel, subscribe_first, fragment",
    [
        ("news", True, "only allowed on private and presence"),
        ("private-encrypted-x", True, "only allowed on private and presence"),
        ("private-b", False, "Not subscribed"),
        (None, False, "need a 'channel'"),
    ],
)
def test_client_event_rejections(channel: str | None, subscribe_first: bool, fragment: str) -> None:
    s = session()
    if subscribe_first and channel:
        s.channels[channel] = None
    [action] = s.receive(frame("client-x", {}, channel))
    doc = reply_doc(action)
    assert doc["data"]["code"] == 4301 and fragment in doc["data"]["message"]


def test_client_events_can_be_switched_off_per_app() -> None:
    s = session(accept_client_events_from="none")
    _subscribed(s, "private-a")
    [action] = s.receive(frame("client-x", {}, "private-a"))
    assert reply_doc(action)["data"]["code"] == 4301


def test_accept_from_all_allows_unsubscribed_private_channel() -> None:
    s = session(accept_client_events_from="all")
    [action] = s.receive(frame("client-x", {}, "private-b"))
    assert isinstance(action, ClientEvent)


def test_client_event_rate_limit() -> None:
    now = [0.0]
    s = session(rate_limiting_enabled=True, rate_limit_max_attempts=2, rate_limit_decay_seconds=10)
    s.clock = lambda: now[0]
    _subscribed(s, "private-a")
    assert all(isinstance(s.receive(frame("client-x", {}, "private-a"))[0], ClientEvent) for _ in range(2))
    [limited] = s.receive(frame("client-x", {}, "private-a"))
    assert reply_doc(limited)["data"]["code"] == 4301
    now[0] = 10.5
    assert isinstance(s.receive(frame("client-x", {}, "private-a"))[0], ClientEvent)


def test_signin_with_valid_signature() -> None:
    s = session()
    user_data = json.dumps({"id": "u1", "name": "Ann"})
    sig = user_auth_signature("secret", "123.456", user_data)
    actions = s.receive(frame("pusher:signin", {"user_data": user_data, "auth": f"key:{sig}"}))
    assert actions[0] == SignIn("u1", {"id": "u1", "name": "Ann"})
    assert reply_doc(actions[1])["event"] == "pusher:signin_success"


def test_signin_with_bad_signature_errors_and_closes() -> None:
    actions = session().receive(frame("pusher:signin", {"user_data": '{"id":"u1"}', "auth": "key:bad"}))
    assert reply_doc(actions[0])["data"]["code"] == 4009
    assert actions[1] == Close(4009, "Invalid signature for pusher:signin")
