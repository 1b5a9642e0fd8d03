"""Real laravel-echo clients authorised by chatapp's /broadcasting/auth, events via pyreverb."""

from __future__ import annotations

from collections.abc import Callable

from tests.chatapp.conftest import start_echo
from tests.chatapp.procs import Api, ChatappProcess
from tests.helpers.node_client import Event, NodeClient
from tests.helpers.procs import ReverbProcess

ROOM_EVENTS = [".message.sent", ".user.typing", ".messages.read", ".room.updated"]
ADMIN_EVENTS = [".chat.created", ".chat.message", ".room.updated", ".stats.updated"]


def got(name: str, event: str, pred: Callable[[dict], bool] = lambda d: True) -> Callable[[Event], bool]:
    return lambda e: e["type"] == "echo_event" and e["name"] == name and e["event"] == event and pred(e["data"])


async def subscribe(client: NodeClient, name: str, events: list[str], kind: str = "private") -> None:
    client.send(cmd="listen", kind=kind, name=name, events=events)
    await client.wait_for(lambda e: e["type"] == "echo_subscribed" and e["name"] == name)


async def test_message_and_typing_reach_the_other_side(
    chat: ChatappProcess,
    chat_reverb: ReverbProcess,
    admin: Api,
    new_guest: Callable[..., Api],
    echo_clients: list[NodeClient],
) -> None:
    """Brief test 3: two tabs (visitor + support); each sees the other's messages instantly."""
    visitor = new_guest("Taras")
    room_id = visitor.ok("POST", "/api/chat/room", {})["room"]["id"]
    channel = f"chat.{room_id}"

    user_tab = await start_echo(chat, chat_reverb, visitor.token or "")
    admin_tab = await start_echo(chat, chat_reverb, admin.token or "")
    echo_clients += [user_tab, admin_tab]
    await subscribe(user_tab, channel, ROOM_EVENTS)
    await subscribe(user_tab, f"user.{visitor.id}", [".unread.updated"])
    await subscribe(admin_tab, channel, ROOM_EVENTS)
    await subscribe(admin_tab, "admin.chat", ADMIN_EVENTS)

    # Visitor -> support, sent with the visitor's own socket id: the sender's tab is skipped.
    user_tab.send(cmd="socket_id")
    own_socket = (await user_tab.wait_for(lambda e: e["type"] == "socket_id"))["socket_id"]
    sent = visitor.send("Is anyone there?", **{})
    assert sent["message"]["id"]
    msg = await admin_tab.wait_for(got(channel, ".message.sent", lambda d: d["body"] == "Is anyone there?"))
    assert msg["data"]["user_id"] == visitor.id and msg["data"]["sender_role"] == "user"
    feed = await admin_tab.wait_for(got("admin.chat", ".chat.message", lambda d: d["room"]["id"] == room_id))
    assert feed["data"]["message"]["body"] == "Is anyone there?" and feed["data"]["room"]["user"]["name"] == "Taras"
    await admin_tab.wait_for(got("admin.chat", ".stats.updated", lambda d: d["stats"]["unread_messages"] >= 1))

    excluded = visitor.ok(
        "POST", "/api/chat/messages", {"body": "not echoed to me"}, headers={"X-Socket-ID": own_socket}
    )
    await admin_tab.wait_for(got(channel, ".message.sent", lambda d: d["id"] == excluded["message"]["id"]))
    await user_tab.expect_none(got(channel, ".message.sent", lambda d: d["body"] == "not echoed to me"), within=0.3)

    # Support types, then replies: the visitor's tab sees both, and its unread counter moves.
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/typing", {"is_typing": True})
    typing = await user_tab.wait_for(got(channel, ".user.typing"))
    assert typing["data"]["user_id"] == admin.id and typing["data"]["is_typing"] is True
    assert typing["data"]["role"] == "admin"
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/typing", {"is_typing": False})
    await user_tab.wait_for(got(channel, ".user.typing", lambda d: d["is_typing"] is False))

    reply = admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Yes, Alice here"})
    got_reply = await user_tab.wait_for(got(channel, ".message.sent", lambda d: d["body"] == "Yes, Alice here"))
    assert got_reply["data"]["id"] == reply["message"]["id"] and got_reply["data"]["sender_role"] == "admin"
    await user_tab.wait_for(got(channel, ".room.updated", lambda d: d["room"]["status"] == "assigned"))
    await user_tab.wait_for(got(f"user.{visitor.id}", ".unread.updated", lambda d: d["unread_count"] == 1))

    # The visitor types and reads; support sees both.
    visitor.ok("POST", f"/api/chat/rooms/{room_id}/typing", {"is_typing": True})
    user_typing = await admin_tab.wait_for(got(channel, ".user.typing", lambda d: d["user_id"] == visitor.id))
    assert user_typing["data"]["is_typing"] is True
    visitor.ok("POST", f"/api/chat/rooms/{room_id}/read")
    receipt = await admin_tab.wait_for(got(channel, ".messages.read"))
    assert receipt["data"]["reader_role"] == "user" and receipt["data"]["up_to_id"] == reply["message"]["id"]

    # A brand-new conversation shows up in support's feed.
    newcomer = new_guest("Newcomer")
    new_room = newcomer.send("first contact")["room"]["id"]
    created = await admin_tab.wait_for(got("admin.chat", ".chat.created", lambda d: d["room"]["id"] == new_room))
    assert created["data"]["room"]["user"]["name"] == "Newcomer"


async def test_channel_policy_through_echo(
    chat: ChatappProcess,
    chat_reverb: ReverbProcess,
    admin: Api,
    new_guest: Callable[..., Api],
    echo_clients: list[NodeClient],
) -> None:
    """A visitor can never subscribe to someone else's room, the admin feed or admin presence."""
    owner, intruder = new_guest("Owner"), new_guest("Intruder")
    room_id = owner.send("private matter")["room"]["id"]

    spy = await start_echo(chat, chat_reverb, intruder.token or "")
    echo_clients.append(spy)
    for kind, name in (("private", f"chat.{room_id}"), ("private", "admin.chat"), ("presence", "admins"),
                       ("private", f"user.{owner.id}")):
        spy.send(cmd="listen", kind=kind, name=name, events=[".message.sent"])
        denied = await spy.wait_for(lambda e, n=name: e["type"] == "echo_error" and e["name"] == n)
        assert denied["status"] == 403, denied
    # The owner's own message is never delivered to the refused client.
    owner.send("still private")
    await spy.expect_none(lambda e: e["type"] == "echo_event", within=0.3)

    # Admin presence: a support admin joins and is listed with their name.
    support = await start_echo(chat, chat_reverb, admin.token or "")
    echo_clients.append(support)
    support.send(cmd="listen", kind="presence", name="admins", events=[])
    here = await support.wait_for(lambda e: e["type"] == "here" and e["name"] == "admins")
    assert {"id": admin.id, "name": "Alice Admin", "role": "admin"} in here["members"]
    online = admin.ok("GET", "/api/admin/admins")["data"]
    assert next(a for a in online if a["id"] == admin.id)["online"] is True


async def test_long_message_event_is_cut_but_storage_is_whole(
    chat: ChatappProcess, chat_reverb: ReverbProcess, new_guest: Callable[..., Api], echo_clients: list[NodeClient]
) -> None:
    """5,000 two-byte characters exceed Pusher's 10 KB event limit: the event says so, the API has it all."""
    visitor = new_guest()
    room_id = visitor.ok("POST", "/api/chat/room", {})["room"]["id"]
    tab = await start_echo(chat, chat_reverb, visitor.token or "")
    echo_clients.append(tab)
    await subscribe(tab, f"chat.{room_id}", [".message.sent"])
    body = "ї" * 5000
    sent = visitor.send(body)
    event = await tab.wait_for(got(f"chat.{room_id}", ".message.sent"))
    assert event["data"]["id"] == sent["message"]["id"] and event["data"]["body_truncated"] is True
    assert body.startswith(event["data"]["body"]) and len(event["data"]["body"]) > 3000
    stored = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages", params={"after": sent["message"]["id"] - 1})
    assert stored["data"][0]["body"] == body
