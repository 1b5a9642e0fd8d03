"""Local bookkeeping: presence counted per user, fan-out encoded once."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyreverb.framing import text_frame
from pyreverb.hub import Hub
from pyreverb.protocol.channels import ChannelKind, PresenceMember


@dataclass
class FakeSub:
    socket_id: str
    app_id: str = "1"
    user_id: str | None = None
    frames: list[bytes] = field(default_factory=list)
    closed: tuple[int, str] | None = None

    def write_frame(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


def test_member_counted_once_across_sockets() -> None:
    hub = Hub()
    a1, a2, b = FakeSub("1.1"), FakeSub("1.2"), FakeSub("2.1")
    ann, bob = PresenceMember("ann", {"n": 1}), PresenceMember("bob")
    assert hub.join(a1, "presence-x", ChannelKind.PRESENCE, ann).first_local_socket_of_user
    assert not hub.join(a2, "presence-x", ChannelKind.PRESENCE, ann).first_local_socket_of_user
    assert hub.join(b, "presence-x", ChannelKind.PRESENCE, bob).first_local_socket_of_user
    assert set(hub.channel("1", "presence-x").members) == {"ann", "bob"}  # type: ignore[union-attr]
    assert hub.leave(a1, "presence-x", ann).member_gone is None
    gone = hub.leave(a2, "presence-x", ann)
    assert gone.member_gone == ann and not gone.channel_vacated
    assert hub.leave(b, "presence-x", bob).channel_vacated
    assert hub.channel("1", "presence-x") is None


def test_rejoin_is_idempotent() -> None:
    hub = Hub()
    s = FakeSub("1.1")
    first = hub.join(s, "news", ChannelKind.PUBLIC, None)
    again = hub.join(s, "news", ChannelKind.PUBLIC, None)
    assert first.channel_created and not first.already_subscribed
    assert again.already_subscribed and not again.channel_created
    assert not hub.leave(FakeSub("9.9"), "news", None).was_subscribed


def test_deliver_shares_one_frame_and_skips_the_excluded_socket() -> None:
    hub = Hub()
    subs = [FakeSub(f"1.{i}") for i in range(3)]
    for s in subs:
        hub.join(s, "news", ChannelKind.PUBLIC, None)
    sent = hub.deliver("1", "news", b'{"event":"e"}', except_socket_id="1.1")
    assert sent == 2
    assert subs[1].frames == []
    assert subs[0].frames == [text_frame(b'{"event":"e"}')]
    assert subs[0].frames[0] is subs[2].frames[0]
    assert hub.deliver("1", "nobody", b"{}") == 0
    assert hub.deliver("other-app", "news", b"{}") == 0


def test_connections_of_user_include_presence_and_signed_in_sockets() -> None:
    hub = Hub()
    signed = FakeSub("1.1", user_id="u")
    present = FakeSub("1.2")
    other = FakeSub("1.3")
    for s in (signed, present, other):
        hub.add_connection(s)
    hub.join(present, "presence-x", ChannelKind.PRESENCE, PresenceMember("u"))
    assert {s.socket_id for s in hub.connections_of_user("1", "u")} == {"1.1", "1.2"}


def test_text_frame_lengths() -> None:
    assert text_frame(b"a")[:2] == b"\x81\x01"
    assert text_frame(b"a" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"a" * 70000)[:2] == b"\x81\x7f" and len(text_frame(b"a" * 70000)) == 70010
