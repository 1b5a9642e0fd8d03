"""The frame decoder never raises anything but the protocol's own error."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from pyreverb.config import AppConfig
from pyreverb.protocol.errors import InvalidMessage
from pyreverb.protocol.messages import decode, encode_event
from pyreverb.protocol.session import PusherSession, Reply

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_decode_of_any_text_raises_only_invalid_message(text: str) -> None:
    try:
        message = decode(text)
    except InvalidMessage:
        return
    assert isinstance(message.event, str) and message.event


@given(st.binary(max_size=300))
def test_session_answers_any_bytes_without_raising(payload: bytes) -> None:
    actions = PusherSession(AppConfig("1", "k", "s"), socket_id="1.1").receive(payload)
    assert isinstance(actions, list)


@given(st.dictionaries(st.sampled_from(["event", "data", "channel"]), json_values, max_size=3))
def test_session_answers_any_json_object_without_raising(doc: dict[str, object]) -> None:
    actions = PusherSession(AppConfig("1", "k", "s"), socket_id="1.1").receive(json.dumps(doc).encode())
    assert isinstance(actions, list)
    for action in actions:
        if isinstance(action, Reply):
            assert json.loads(action.frame)["event"]


@given(st.text(min_size=1, max_size=30), json_values, st.none() | st.text(min_size=1, max_size=30))
def test_encode_then_decode_round_trips(event: str, data: object, channel: str | None) -> None:
    message = decode(encode_event(event, data, channel))
    assert message.event == event and message.channel == channel
    if isinstance(data, str):
        assert message.data == data
    else:
        assert json.loads(message.data) == ({} if data is None else data)
