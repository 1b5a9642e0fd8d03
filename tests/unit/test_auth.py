"""Signing: known-good values from Pusher's docs, and properties with hypothesis."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, strategies as st

from pyreverb.protocol.auth import (
    RequestAuthError,
    channel_auth_signature,
    sign_request,
    string_to_sign,
    verify_channel_auth,
    verify_request,
)

KEY, SECRET = "278d425bdf160c739803", "7ad3773142a6692b25b8"


def test_channel_signature_matches_pusher_docs_example() -> None:
    # Pusher's "authorizing connections" worked example.
    sig = channel_auth_signature(SECRET, "1234.1234", "private-foobar")
    assert sig == "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    assert verify_channel_auth(KEY, SECRET, "1234.1234", "private-foobar", f"{KEY}:{sig}")


def test_presence_signature_agrees_with_the_pusher_sdk() -> None:
    import pusher

    sdk = pusher.Pusher(app_id="1", key=KEY, secret=SECRET)
    answer = sdk.authenticate(
        channel="presence-foobar", socket_id="1234.1234", custom_data={"user_id": 10, "user_info": {"name": "Mr. Channels"}}
    )
    data = answer["channel_data"]
    assert answer["auth"] == f"{KEY}:{channel_auth_signature(SECRET, '1234.1234', 'presence-foobar', data)}"
    assert verify_channel_auth(KEY, SECRET, "1234.1234", "presence-foobar", answer["auth"], data)
    assert not verify_channel_auth(KEY, SECRET, "1234.1234", "presence-foobar", answer["auth"], data + " ")


@pytest.mark.parametrize(
    "auth",
    [None, 42, "", "nocolon", f"wrongkey:{channel_auth_signature(SECRET, '1.1', 'private-a')}", f"{KEY}:deadbeef"],
)
def test_bad_channel_auth_is_rejected(auth: object) -> None:
    assert not verify_channel_auth(KEY, SECRET, "1.1", "private-a", auth)


def test_http_signature_matches_pusher_docs_example() -> None:
    # Pusher's REST API docs: "Worked authentication example".
    body = b'{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}'
    params = {
        "auth_key": KEY,
        "auth_timestamp": "1353088179",
        "auth_version": "1.0",
        "body_md5": hashlib.md5(body).hexdigest(),
    }
    assert params["body_md5"] == "ec365a775a4cd0599faeb73354201b6f"
    sig = sign_request(SECRET, "POST", "/apps/3/events", params)
    assert sig == "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
    verify_request(
        key=KEY, secret=SECRET, method="POST", path="/apps/3/events",
        params={**params, "auth_signature": sig}, body=body, now=1353088179 + 10, tolerance=600,
    )


def _signed(method: str, path: str, params: dict[str, str], body: bytes = b"") -> dict[str, str]:
    full = {"auth_key": KEY, "auth_timestamp": "1000", "auth_version": "1.0", **params}
    if body:
        full["body_md5"] = hashlib.md5(body).hexdigest()
    full["auth_signature"] = sign_request(SECRET, method, path, full)
    return full


def _verify(params: dict[str, str], body: bytes = b"", now: float = 1000, path: str = "/apps/1/events") -> None:
    verify_request(key=KEY, secret=SECRET, method="POST", path=path, params=params, body=body, now=now, tolerance=600)


def test_stale_and_future_timestamps_are_rejected() -> None:
    params = _signed("POST", "/apps/1/events", {})
    _verify(params, now=1600)
    with pytest.raises(RequestAuthError, match="auth_timestamp"):
        _verify(params, now=1601)
    with pytest.raises(RequestAuthError, match="auth_timestamp"):
        _verify(params, now=399)


def test_body_md5_must_match_the_body() -> None:
    params = _signed("POST", "/apps/1/events", {}, b'{"a":1}')
    _verify(params, b'{"a":1}')
    with pytest.raises(RequestAuthError, match="body_md5"):
        _verify(params, b'{"a":2}')


def test_missing_parameters_are_named() -> None:
    params = _signed("POST", "/apps/1/events", {})
    del params["auth_key"]
    with pytest.raises(RequestAuthError, match="auth_key"):
        _verify(params)


def test_string_to_sign_lowercases_and_sorts_keys() -> None:
    assert string_to_sign("get", "/p", {"B": "2", "a": "1", "auth_signature": "x"}) == "GET\n/p\na=1&b=2"


_params = st.dictionaries(
    st.text(alphabet="abcdefghij_", min_size=1, max_size=8).filter(lambda k: not k.startswith("auth_")),
    st.text(min_size=0, max_size=12),
    max_size=5,
)


@given(params=_params, body=st.binary(max_size=64))
def test_sign_then_verify_succeeds(params: dict[str, str], body: bytes) -> None:
    signed = _signed("POST", "/apps/1/events", params, body)
    _verify(signed, body)


@given(params=_params, body=st.binary(min_size=1, max_size=64), data=st.data())
def test_any_changed_byte_fails(params: dict[str, str], body: bytes, data: st.DataObject) -> None:
    signed = _signed("POST", "/apps/1/events", params, body)
    index = data.draw(st.integers(0, len(body) - 1))
    flipped = bytearray(body)
    flipped[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(RequestAuthError):
        _verify(signed, bytes(flipped))
    field = data.draw(st.sampled_from(sorted(signed)))
    tampered = dict(signed)
    tampered[field] = tampered[field] + "x"
    with pytest.raises(RequestAuthError):
        _verify(tampered, body)


@given(params=_params, seed=st.randoms())
def test_parameter_order_is_irrelevant(params: dict[str, str], seed: object) -> None:
    signed = _signed("GET", "/apps/1/channels", params)
    items = list(signed.items())
    seed.shuffle(items)  # type: ignore[attr-defined]
    verify_request(
        key=KEY, secret=SECRET, method="GET", path="/apps/1/channels", params=dict(items),
        body=b"", now=1000, tolerance=600,
    )


@given(socket_id=st.from_regex(r"\A\d{1,10}\.\d{1,10}\Z"), channel=st.from_regex(r"\Aprivate-[a-z0-9]{1,20}\Z"))
def test_channel_auth_roundtrip_and_cross_socket_rejection(socket_id: str, channel: str) -> None:
    sig = channel_auth_signature(SECRET, socket_id, channel)
    assert verify_channel_auth(KEY, SECRET, socket_id, channel, f"{KEY}:{sig}")
    assert not verify_channel_auth(KEY, SECRET, socket_id + "1", channel, f"{KEY}:{sig}")
