"""The per-node presence view: duplicates dropped, nothing missed, outages repaired."""

from __future__ import annotations

from pyreverb.backends.presence_view import PresenceViews
from pyreverb.protocol.messages import encode_event

CH = "presence-room"


def added(user: str) -> bytes:
    return encode_event("pusher_internal:member_added", {"user_id": user, "user_info": {"n": user}}, CH)


def removed(user: str) -> bytes:
    return encode_event("pusher_internal:member_removed", {"user_id": user}, CH)


def test_repeated_announcements_are_delivered_once() -> None:
    views = PresenceViews()
    views.joined("1", CH, {"ann": {}})
    assert views.admit("1", CH, added("bob")) is True
    assert views.admit("1", CH, added("bob")) is False
    assert views.admit("1", CH, removed("bob")) is True
    assert views.admit("1", CH, removed("bob")) is False
    assert views.admit("1", CH, removed("zed")) is False  # never shown


def test_other_frames_and_channels_without_local_sockets_pass() -> None:
    views = PresenceViews()
    views.joined("1", CH, {})
    assert views.admit("1", CH, encode_event("client-typing", {"user_id": "x"}, CH))
    assert views.admit("1", CH, encode_event("pusher_internal:member_added", "not json at all", CH))
    assert views.admit("1", "presence-elsewhere", added("bob"))
    views.close("1", CH)
    assert views.admit("1", CH, added("bob")) and views.admit("1", CH, added("bob"))


def test_a_socket_that_knows_less_still_hears_of_a_newcomer() -> None:
    views = PresenceViews()
    views.joined("1", CH, {"ann": {}, "bob": {}})  # the second join's answer was read first
    views.joined("1", CH, {"ann": {}})  # the first socket was told only of ann
    assert views.admit("1", CH, added("bob")) is True


def test_a_departure_reaches_sockets_that_knew_of_the_member() -> None:
    views = PresenceViews()
    views.joined("1", CH, {"ann": {}, "cid": {}})
    views.joined("1", CH, {"ann": {}})  # cid left before this socket joined
    assert views.admit("1", CH, removed("cid")) is True


def test_reconcile_turns_the_difference_into_events() -> None:
    views = PresenceViews()
    views.joined("1", CH, {"ann": {}, "gone": {}})
    changes = views.reconcile("1", CH, {"ann": {}, "new": {"n": "new"}})
    assert [(c.user_id, c.joined, c.user_info) for c in changes] == [("gone", False, None), ("new", True, {"n": "new"})]
    assert views.reconcile("1", CH, {"ann": {}, "new": {}}) == []
    assert views.admit("1", CH, added("new")) is False
    assert views.reconcile("1", "presence-unknown", {"x": {}}) == []
