"""Web Push to people who are offline, received and decrypted by a local push service."""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from py_vapid import Vapid02

from chatapp.config import ConfigError, Settings
from chatapp.egress import AddressRefused, is_public_address, public_only_transport
from chatapp.push_endpoints import host_allowed
from tests.chatapp.conftest import ADMIN_PASSWORD, start_echo
from tests.chatapp.procs import (
    Api,
    ChatappProcess,
    PushReceiver,
    admin_api,
    chatapp_stack,
    create_pg_database,
    decrypt_push,
    drop_pg_database,
    guest_api,
    wait_until,
)
from tests.helpers.node_client import NodeClient
from tests.helpers.procs import TIME_FACTOR, ReverbProcess


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_vapid(request: dict[str, Any], receiver: PushReceiver, public_key: str) -> None:
    """The Authorization header is a valid RFC 8292 VAPID token from chatapp's key."""
    header = request["headers"]["Authorization"]
    assert header.startswith("vapid t=")
    assert Vapid02.verify(header), "VAPID signature verifies"
    parts = dict(p.split("=", 1) for p in header.split(" ", 1)[1].split(","))
    assert parts["k"] == public_key
    claims = json.loads(b64decode(parts["t"].split(".")[1]))
    assert claims["aud"] == receiver.origin and claims["sub"].startswith("mailto:")
    assert claims["exp"] > time.time()
    assert int(request["headers"]["TTL"]) > 0


def push_counter(api: Api, name: str) -> int:
    return int(api.ok("GET", "/api/admin/status")["push"][name])


def test_vapid_key_is_generated_and_published(anon: Api) -> None:
    key = anon.ok("GET", "/api/config")["vapid_public_key"]
    raw = b64decode(key)
    assert len(raw) == 65 and raw[0] == 4, "an uncompressed P-256 point, as pushManager.subscribe wants"


def test_offline_admin_gets_an_encrypted_push(
    admin: Api, new_guest: Callable[..., Api], push_receiver: PushReceiver, anon: Api
) -> None:
    sub = push_receiver.new_subscription()
    admin.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)
    visitor = new_guest("Pushy Pete")
    room_id = visitor.send("My parcel never arrived")["room"]["id"]

    request = push_receiver.wait_for(sub)[0]
    check_vapid(request, push_receiver, anon.ok("GET", "/api/config")["vapid_public_key"])
    payload = decrypt_push(sub, request)
    assert payload["room_id"] == room_id and payload["body"] == "My parcel never arrived"
    assert payload["title"] == "Pushy Pete" and payload["url"] == f"/admin/chat/{room_id}"

    # The next message goes to a chat that exists (on PostgreSQL the statement that stores it also
    # reads the subscriptions): pushed the same way.
    visitor.send("Still waiting for it")
    assert decrypt_push(sub, push_receiver.wait_for(sub, count=2)[1])["body"] == "Still waiting for it"


async def test_visitor_push_only_while_offline_and_gone_endpoints_are_dropped(
    chat: ChatappProcess,
    chat_reverb: ReverbProcess,
    admin: Api,
    new_guest: Callable[..., Api],
    push_receiver: PushReceiver,
    echo_clients: list[NodeClient],
) -> None:
    visitor = new_guest("Vera")
    room_id = visitor.send("hello")["room"]["id"]
    live, gone = push_receiver.new_subscription(), push_receiver.new_subscription(status=410)
    for sub in (live, gone):
        visitor.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)

    # Widget open (subscribed to its own channel): no push, the event is enough.
    tab = await start_echo(chat, chat_reverb, visitor.token or "")
    echo_clients.append(tab)
    tab.send(cmd="listen", kind="private", name=f"user.{visitor.id}", events=[".unread.updated"])
    await tab.wait_for(lambda e: e["type"] == "echo_subscribed")
    skipped = push_counter(admin, "skipped_online")
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "while you are here"})
    await tab.wait_for(lambda e: e["type"] == "echo_event" and e["data"]["unread_count"] == 1)
    wait_until(lambda: push_counter(admin, "skipped_online") > skipped, what="push skipped for an online visitor")
    await tab.close()
    echo_clients.remove(tab)

    # Widget closed: both endpoints are tried; the one answering 410 is forgotten.
    sdk = chat_reverb.pusher_client()
    wait_until(lambda: not sdk.channel_info(f"private-user.{visitor.id}")["occupied"], what="widget gone")
    forgotten = push_counter(admin, "gone")
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "while you were away"})
    first = push_receiver.wait_for(live)[0]
    assert decrypt_push(live, first)["body"] == "while you were away"
    assert decrypt_push(gone, push_receiver.wait_for(gone)[0])["title"] == "Alice Admin replied"
    # The endpoint has answered 410; chatapp forgets it once it reads that answer, a moment later.
    wait_until(lambda: push_counter(admin, "gone") > forgotten, what="the 410 endpoint forgotten")

    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "one more"})
    second = push_receiver.wait_for(live, count=2)[1]
    assert decrypt_push(live, second)["body"] == "one more"
    assert len(push_receiver.received_by(gone)) == 1, "a 410 endpoint is never used again"
    assert all(decrypt_push(live, r)["body"] != "while you are here" for r in push_receiver.received_by(live))



# ------------------------------------------------------- what may be registered, and where it goes

STRICT_ENV = {  # the defaults a deployment gets: push services only, public addresses only, https only
    "CHATAPP_PUSH_ALLOW_INSECURE": "false",
    "CHATAPP_PUSH_ALLOW_PRIVATE_ADDRESSES": "false",
    "CHATAPP_PUSH_HOSTS": "",
}
REFUSED_ENDPOINTS = [
    "https://127.0.0.1/push/1",
    "https://10.0.0.1/push/1",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/push/1",
    "https://[::ffff:127.0.0.1]/push/1",
    "https://push.example.com/push/1",
    "https://fcm.googleapis.com.attacker.test/fcm/send/1",
    "https://user@fcm.googleapis.com/fcm/send/1",
    "http://fcm.googleapis.com/fcm/send/1",
]
PUSH_SERVICE_ENDPOINTS = [
    "https://fcm.googleapis.com/fcm/send/dXNlcjE",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
    "https://web.push.apple.com/QGx7R0bN",
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
]


def test_each_recipient_is_notified_in_their_own_language(
    chat: ChatappProcess, admin: Api, new_guest: Callable[..., Api], push_receiver: PushReceiver
) -> None:
    # A French visitor, away: a reply and the chat resolved reach them in French, as codes do.
    camille = new_guest("Camille")
    camille.ok("POST", "/api/auth/locale", {"locale": "fr"})
    room_id = camille.send("Ma facture est fausse")["room"]["id"]
    visitor_sub = push_receiver.new_subscription()
    camille.ok("POST", "/api/push/subscriptions", visitor_sub.to_json(), status=201)
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Je regarde"})
    reply = decrypt_push(visitor_sub, push_receiver.wait_for(visitor_sub)[0])
    assert (reply["title"], reply["body"]) == ("Alice Admin a répondu", "Je regarde")
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/resolve")
    resolved = decrypt_push(visitor_sub, push_receiver.wait_for(visitor_sub, count=2)[1])
    assert (resolved["title"], resolved["body"]) == ("Assistance", "Alice Admin a marqué la conversation comme résolue")

    # A Ukrainian agent, assigned and away, about an urgent chat; English stays the default.
    olena = admin_api(chat, ADMIN_PASSWORD, name="Олена")
    olena.ok("POST", "/api/auth/locale", {"locale": "uk"})
    petro = new_guest("Петро")
    room_id = petro.send("Допоможіть")["room"]["id"]
    olena.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {})
    olena.ok("POST", f"/api/admin/chat/rooms/{room_id}/priority", {"priority": "urgent"})
    agent_sub = push_receiver.new_subscription()
    olena.ok("POST", "/api/push/subscriptions", agent_sub.to_json(), status=201)
    upload = petro.request("POST", "/api/chat/upload", files={"file": ("bill.txt", b"total: 12 EUR\n", "text/plain")})
    assert upload.status_code == 201, upload.text
    petro.ok("POST", "/api/chat/messages", {"body": "", "attachment_id": upload.json()["attachment"]["id"]}, status=201)
    urgent = decrypt_push(agent_sub, push_receiver.wait_for(agent_sub)[0])
    assert (urgent["title"], urgent["body"]) == ("Терміново: Петро", "Надіслано файл: bill.txt")
    olena.ok("POST", f"/api/admin/chat/rooms/{room_id}/resolve")
    assert len(push_receiver.received_by(agent_sub)) == 1, "an agent's own action is not pushed to support"
def subscription_for(endpoint: str, receiver: PushReceiver) -> dict[str, Any]:
    """A browser-shaped subscription with real keys for ``endpoint``."""
    return {**receiver.new_subscription().to_json(), "endpoint": endpoint}


@contextmanager
def own_stack(database_url: str, workdir: Path, env: dict[str, str]) -> Iterator[ChatappProcess]:
    """A chatapp with ``env`` on an empty database of the same kind as ``database_url``.

    Its own database keeps the other tests' subscriptions (and their pushes) out of its counters.
    """
    if database_url.startswith("sqlite"):
        with chatapp_stack(f"sqlite:///{workdir / 'chat.sqlite3'}", workdir, env) as app:
            yield app
        return
    url = create_pg_database()
    try:
        with chatapp_stack(url, workdir, env) as app:
            yield app
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="module")
def strict_chat(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatappProcess]:
    with own_stack(database_url, tmp_path_factory.mktemp("push-strict"), STRICT_ENV) as app:
        yield app


def test_endpoints_off_the_push_services_are_refused(strict_chat: ChatappProcess, push_receiver: PushReceiver) -> None:
    visitor = guest_api(strict_chat)
    for endpoint in REFUSED_ENDPOINTS:
        response = visitor.post("/api/push/subscriptions", subscription_for(endpoint, push_receiver))
        assert response.status_code == 400, f"{endpoint}: {response.status_code} {response.text}"
        body = response.json()
        assert body["error"] == "push_endpoint_refused" and body["field"] == "endpoint", body
        assert body["message"].startswith("'endpoint'"), body
    browser = guest_api(strict_chat)  # each attempt counts towards the rate limit: a fresh caller
    for endpoint in PUSH_SERVICE_ENDPOINTS:  # what browsers really hand out is still accepted
        browser.ok("POST", "/api/push/subscriptions", subscription_for(endpoint, push_receiver), status=201)


@pytest.mark.slow
def test_a_push_host_that_resolves_to_loopback_is_refused_when_connecting(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, push_receiver: PushReceiver
) -> None:
    """``localhost`` is on the allow-list, so registration passes; the connection is what must not."""
    env = {**STRICT_ENV, "CHATAPP_PUSH_HOSTS": "localhost", "CHATAPP_PUSH_ALLOW_INSECURE": "true"}
    with own_stack(database_url, tmp_path_factory.mktemp("push-rebind"), env) as app:
        admin, visitor = admin_api(app, ADMIN_PASSWORD), guest_api(app, "Rebinding Rita")
        sub = push_receiver.new_subscription()
        endpoint = sub.endpoint.replace("127.0.0.1", "localhost")
        visitor.ok("POST", "/api/push/subscriptions", {**sub.to_json(), "endpoint": endpoint}, status=201)
        room_id = visitor.send("hello")["room"]["id"]
        admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "are you there?"})
        log = app.wait_log("localhost resolves to")
        assert "which is not a public address" in log, log[-2000:]
        assert push_receiver.received_by(sub) == [], "nothing reached the loopback receiver"
        assert push_counter(admin, "refused") == 1 and push_counter(admin, "delivered") == 0


async def test_transport_connects_only_to_public_addresses(push_receiver: PushReceiver) -> None:
    url = f"http://localhost:{push_receiver.port}/push/none"
    async with httpx.AsyncClient(transport=public_only_transport()) as client:
        with pytest.raises(httpx.ConnectError) as refused:
            await client.post(url)
    assert isinstance(refused.value.__cause__, AddressRefused)

    async def rebinding(host: str, port: int) -> list[str]:  # a public answer next to a private one
        return ["93.184.216.34", "127.0.0.1"]

    async with httpx.AsyncClient(transport=public_only_transport(resolve=rebinding)) as client:
        with pytest.raises(httpx.ConnectError, match="127.0.0.1, which is not a public address"):
            await client.post("https://push.example/p")
    async with httpx.AsyncClient(transport=public_only_transport(allow_private=True)) as client:
        assert (await client.post(url)).status_code == 404, "the explicit local-testing opt-in reaches loopback"


@pytest.mark.parametrize(
    ("address", "public"),
    [("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
     ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
     ("255.255.255.255", False), ("::1", False), ("fe80::1", False), ("fc00::1", False), ("ff02::1", False),
     ("::ffff:10.0.0.1", False), ("2002:7f00:1::", False), ("8.8.8.8", True), ("2a00:1450:4001:80b::200a", True)],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("fcm.googleapis.com", True), ("FCM.googleapis.com.", True), ("updates.push.services.mozilla.com", True),
     ("web.push.apple.com", True), ("wns2-par02p.notify.windows.com", True), ("push.apple.com", False),
     ("evilpush.apple.com", False), ("fcm.googleapis.com.attacker.test", False), ("googleapis.com", False)],
)
def test_push_host_patterns(host: str, allowed: bool) -> None:
    assert host_allowed(host, Settings().push_hosts) is allowed


def test_push_settings_are_checked() -> None:
    settings = Settings.from_env({"CHATAPP_PUSH_HOSTS": " Push.Example.com, *.Example.net ,127.0.0.1"})
    assert settings.push_hosts == ("push.example.com", "*.example.net", "127.0.0.1")
    assert not settings.push_allow_private_addresses and not settings.push_allow_insecure, "secure by default"
    assert Settings.from_env({"CHATAPP_PUSH_HOSTS": ""}).push_hosts == Settings().push_hosts
    for name, value in [("CHATAPP_PUSH_HOSTS", "https://push.example.com/"), ("CHATAPP_PUSH_MAX_SUBSCRIPTIONS", "0"),
                        ("CHATAPP_RATE_PUSH_SUBSCRIPTIONS", "ten")]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


# ------------------------------------------------------------------ how many, whose, how often


def test_a_user_keeps_only_the_newest_subscriptions(
    admin: Api, new_guest: Callable[..., Api], push_receiver: PushReceiver
) -> None:
    visitor = new_guest("Many Devices")
    room_id = visitor.send("hello")["room"]["id"]
    subs = [push_receiver.new_subscription() for _ in range(7)]
    replaced = [visitor.ok("POST", "/api/push/subscriptions", s.to_json(), status=201)["replaced"] for s in subs]
    assert replaced == [0, 0, 0, 0, 0, 1, 1], "past five, each new browser replaces the oldest"

    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "to your devices"})
    for sub in subs[2:]:
        assert decrypt_push(sub, push_receiver.wait_for(sub)[0])["body"] == "to your devices"
    time.sleep(0.3)
    assert [push_receiver.received_by(s) for s in subs[:2]] == [[], []], "the two oldest were forgotten"


def test_signing_a_guest_in_keeps_the_cap(
    chat: ChatappProcess, admin: Api, anon: Api, new_guest: Callable[..., Api], push_receiver: PushReceiver
) -> None:
    email, password = f"push.{chat.port}.{time.time_ns()}@example.com", "long enough password"
    member = anon.ok("POST", "/api/auth/register", {"email": email, "password": password, "name": "Member"})
    account = Api(chat.base_url, member["token"], member["user"])
    at_home = [push_receiver.new_subscription() for _ in range(3)]
    for sub in at_home:
        account.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)
    guest = new_guest("Later Member")
    room_id = guest.send("started as a guest")["room"]["id"]
    on_the_go = [push_receiver.new_subscription() for _ in range(4)]
    for sub in on_the_go:
        guest.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)

    signed_in = anon.request("POST", "/api/auth/login", json={"email": email, "password": password},
                             headers=guest.headers())
    assert signed_in.status_code == 200 and signed_in.json()["moved_rooms"] == 1, signed_in.text
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "welcome back"})
    for sub in [*at_home[2:], *on_the_go]:
        assert decrypt_push(sub, push_receiver.wait_for(sub)[0])["body"] == "welcome back"
    time.sleep(0.3)
    assert [push_receiver.received_by(s) for s in at_home[:2]] == [[], []], "the two oldest of seven were forgotten"


def test_subscribing_is_rate_limited_per_user(new_guest: Callable[..., Api], push_receiver: PushReceiver) -> None:
    eager, other = new_guest("Eager"), new_guest("Other")
    for _ in range(10):
        eager.ok("POST", "/api/push/subscriptions", push_receiver.new_subscription().to_json(), status=201)
    response = eager.post("/api/push/subscriptions", push_receiver.new_subscription().to_json())
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited" and response.json()["retry_after"] >= 1
    other.ok("POST", "/api/push/subscriptions", push_receiver.new_subscription().to_json(), status=201)


def test_an_endpoint_of_another_user_is_refused_and_stays_with_its_owner(
    admin: Api, new_guest: Callable[..., Api], push_receiver: PushReceiver
) -> None:
    owner, thief = new_guest("Owner Olga"), new_guest("Thief Theo")
    room_id = owner.send("my order")["room"]["id"]
    sub = push_receiver.new_subscription()
    owner.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)

    response = thief.post("/api/push/subscriptions", sub.to_json())
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "push_endpoint_taken" and response.json()["field"] == "endpoint"
    assert thief.ok("DELETE", "/api/push/subscriptions", {"endpoint": sub.endpoint})["removed"] == 0
    owner.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)  # its owner may refresh it

    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "for Olga"})
    payload = decrypt_push(sub, push_receiver.wait_for(sub)[0])
    assert payload["room_id"] == room_id and payload["body"] == "for Olga"


def test_delivery_counters_are_for_admins_only(anon: Api, admin: Api, new_guest: Callable[..., Api]) -> None:
    health = anon.ok("GET", "/up")
    assert health["status"] == "ok" and "push" not in health, "the public health check tells nothing about targets"
    counters = admin.ok("GET", "/api/admin/status")["push"]
    assert set(counters) == {"delivered", "skipped_online", "gone", "failed", "refused"}
    assert anon.get("/api/admin/status").status_code == 401
    assert new_guest().get("/api/admin/status").status_code == 403


# ------------------------------------------------------------------------ nobody waits for pushes

FANOUT = 200


async def latencies(base_url: str, seconds: float, every: float = 0.01) -> list[float]:
    """Seconds each ``GET /api/config`` took, one sent every ``every`` s whether or not the last came back."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=500)) as client:

        async def one() -> float:
            started = time.perf_counter()
            response = await client.get("/api/config")
            assert response.status_code == 200
            return time.perf_counter() - started

        probes = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            probes.append(asyncio.create_task(one()))
            await asyncio.sleep(every)
        return list(await asyncio.gather(*probes))


@pytest.fixture
def slow_receiver() -> Iterator[PushReceiver]:
    receiver = PushReceiver(delay=0.2)
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture
def busy_chat(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatappProcess]:
    env = {"CHATAPP_PUSH_MAX_SUBSCRIPTIONS": str(FANOUT), "CHATAPP_RATE_PUSH_SUBSCRIPTIONS": "100000/60"}
    with own_stack(database_url, tmp_path_factory.mktemp("push-busy"), env) as app:
        yield app


@pytest.mark.slow
async def test_a_reply_with_many_subscriptions_does_not_delay_other_requests(
    busy_chat: ChatappProcess, slow_receiver: PushReceiver
) -> None:
    admin, visitor = admin_api(busy_chat, ADMIN_PASSWORD), guest_api(busy_chat, "Many Tabs")
    room_id = visitor.send("hi")["room"]["id"]
    subs = [slow_receiver.new_subscription() for _ in range(FANOUT)]
    for sub in subs:
        visitor.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)

    async def replies() -> None:
        for n in range(3):
            await asyncio.to_thread(admin.ok, "POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": f"reply {n}"})

    replying = asyncio.create_task(replies())
    busy = await latencies(busy_chat.base_url, 2.0)
    await replying
    p50 = statistics.median(busy)
    assert p50 < 0.1 * TIME_FACTOR, f"p50 {p50 * 1000:.0f} ms while {3 * FANOUT} pushes were in flight"
    assert len(slow_receiver.received) < 3 * FANOUT, "the pushes were still in flight while measuring"
    slow_receiver.wait_for(subs[-1], timeout=60, count=3)  # and every push still arrives
