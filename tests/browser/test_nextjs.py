"""The seed's own front end on our stack: the Next.js example (examples/nextjs) built with
``next build``, served by ``next start`` on its own origin, talking cross-origin to a real
chatapp (CORS) and pyreverb (Laravel Echo, ``broadcaster: 'reverb'``), driven in Chromium.

The site sends a nonce-based Content-Security-Policy naming chatapp and pyreverb; the ``pages``
fixture fails a test on any CSP violation or uncaught error in a page.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ADMIN_PASSWORD, Pages, Stack, running_stack, screenshot, send, wait_until
from tests.browser.nextjs_site import NextjsSite, ensure_built
from tests.chatapp.procs import IDENTITY_SECRET, Api
from tests.helpers.procs import TIME_FACTOR, free_port

# The first test may wait for a cold `next build` (up to two minutes; `make test` builds first).
pytestmark = [pytest.mark.browser, pytest.mark.timeout(int(420 * TIME_FACTOR))]

LIVE_S = 1.0  # the brief: a message shows on the other side "instantly"


SITE_HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def site_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def gated_site_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, site_port: int, gated_site_port: int) -> Iterator[Stack]:
    """chatapp allows the Next.js sites' origins (and only them) for cross-origin calls, and
    pyreverb accepts WebSocket connections from the sites' host only (Reverb's host patterns)."""
    origins = f"http://127.0.0.1:{site_port},http://127.0.0.1:{gated_site_port}"
    yield from running_stack(tmp_path_factory, {"CHATAPP_CORS_ORIGINS": origins},
                             reverb_env={"REVERB_APP_ALLOWED_ORIGINS": SITE_HOST})


def site_env(stack: Stack, **extra: str) -> dict[str, str]:
    """The example's .env.example, filled in for this stack."""
    return {
        "NEXT_PUBLIC_CHAT_API_URL": stack.url,
        "NEXT_PUBLIC_REVERB_APP_KEY": stack.reverb.key,
        "NEXT_PUBLIC_REVERB_HOST": "127.0.0.1",
        "NEXT_PUBLIC_REVERB_PORT": str(stack.reverb.port),
        "NEXT_PUBLIC_REVERB_SCHEME": "http",
        "CHATAPP_IDENTITY_SECRET": IDENTITY_SECRET,
        "SITE_SESSION_SECRET": secrets.token_hex(16),
        "SITE_INSECURE_COOKIES": "true",  # plain http on loopback
        **extra,
    }


@pytest.fixture(scope="module")
def site(stack: Stack, site_port: int) -> Iterator[NextjsSite]:
    seconds = ensure_built()
    print(f"next build: {'cached' if seconds is None else f'{seconds:.1f} s'}")
    running = NextjsSite(env=site_env(stack), port=site_port).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def gated_site(stack: Stack, site: NextjsSite, gated_site_port: int) -> Iterator[NextjsSite]:
    """The same build with the seed's "only for signed-in users" switch on."""
    running = NextjsSite(env=site_env(stack, CHAT_REQUIRE_LOGIN="true"), port=gated_site_port).start()
    try:
        yield running
    finally:
        running.stop()


def site_page(pages: Pages, site: NextjsSite, path: str, context: BrowserContext | None = None) -> Page:
    """A page of the Next.js site; its CSP must let the browser reach chatapp and pyreverb only."""
    page = pages.page(None, context)
    response = page.goto(site.base_url + path)
    assert response is not None and response.ok, response
    csp = response.headers["content-security-policy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
    assert connect[1:] == ["'self'", pages.stack.url, f"ws://127.0.0.1:{pages.stack.reverb.port}"], csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    return page


def sign_in_to_site(page: Page, site: NextjsSite, name: str, email: str) -> None:
    """The host site's own sign-in form (the chat learns who this is from the identity token)."""
    page.goto(site.base_url + "/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(site.base_url + "/")
    expect(page.locator(".site-user")).to_have_text(f"Signed in as {name}")


def open_chat(page: Page) -> None:
    page.wait_for_selector(".chat-widget[data-ready=true]")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()


def admin_page(pages: Pages, site: NextjsSite, path: str, api: Api) -> Page:
    """The Next.js admin panel, already signed in (the sign-in form has its own test below)."""
    context = pages.context()
    session = json.dumps({"token": api.token, "user": api.user, "siteUserId": None})
    context.add_init_script(f"localStorage.setItem('chat.admin.session', {json.dumps(session)});")
    page = site_page(pages, site, path, context)
    page.wait_for_selector("[data-ready=true]:is(.admin-panel, .admin-room)")
    return page


def rooms_of(stack: Stack, email: str) -> list[dict[str, Any]]:
    rooms = stack.admin.ok("GET", "/api/admin/chat/rooms?filter=all&per_page=100")["data"]
    return [r for r in rooms if r["user"]["email"] == email]


def test_signed_in_user_presses_the_button_and_sends_a_room_is_created(
        pages: Pages, site: NextjsSite, stack: Stack) -> None:
    """The seed's test 1, through the site's identity token (POST /api/auth/identity)."""
    email = f"olena-{secrets.token_hex(3)}@shop.test"
    page = site_page(pages, site, "/")
    sign_in_to_site(page, site, "Olena Site", email)
    assert rooms_of(stack, email) == []

    open_chat(page)
    send(page, "Hello, where is my order #1042?")
    expect(page.locator(".chat-message.from-user p")).to_have_text("Hello, where is my order #1042?")

    [room] = wait_until(lambda: rooms_of(stack, email), what="the room, in the admin API")
    assert room["user"]["name"] == "Olena Site" and room["status"] == "open"
    expect(page.locator(".chat-messages")).to_have_attribute("data-room-id", str(room["id"]))
    detail = stack.admin.ok("GET", f"/api/admin/chat/rooms/{room['id']}")
    assert [m["body"] for m in detail["messages"]["data"]] == ["Hello, where is my order #1042?"]

    # Another page of the site: the same chat user, the conversation still there.
    page.goto(site.base_url + "/login")
    open_chat(page)
    expect(page.locator(".chat-message.from-user p")).to_have_text("Hello, where is my order #1042?")

    # Signing out of the site signs the chat token out too; the next visitor starts afresh.
    token = json.loads(page.evaluate("localStorage.getItem('chat.session')"))["token"]
    assert Api(stack.url, token).get("/api/auth/me").status_code == 200
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.wait_for_selector(".chat-widget[data-ready=true]")
    wait_until(lambda: Api(stack.url, token).get("/api/auth/me").status_code == 401, what="the chat token revoked")
    assert page.evaluate("localStorage.getItem('chat.session')") is None


def test_admin_signs_in_lists_opens_and_replies_live_with_typing_and_unread(
        pages: Pages, site: NextjsSite, stack: Stack) -> None:
    """The seed's test 2: the reply reaches the visitor's widget; typing and unread along the way."""
    visitor = site_page(pages, site, "/")
    open_chat(visitor)
    question = f"Do you ship to Norway? {secrets.token_hex(2)}"
    send(visitor, question)
    expect(visitor.locator(".chat-message.from-user p")).to_have_text(question)
    # The message may show from the socket before the send's answer names its room.
    expect(visitor.locator(".chat-messages")).to_have_attribute("data-room-id", re.compile(r"^\d+$"))
    room_id = int(visitor.locator(".chat-messages").get_attribute("data-room-id") or 0)
    assert room_id

    admin = site_page(pages, site, "/admin/chat")
    admin.get_by_label("E-mail").fill(stack.admin_email)
    admin.get_by_label("Password").fill(ADMIN_PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    row = admin.locator(f".admin-rooms li[data-room-id='{room_id}']")
    expect(row).to_contain_text(question)
    row.get_by_role("link").click()
    admin.wait_for_url(f"{site.base_url}/admin/chat/{room_id}")
    expect(admin.locator(".chat-message.from-user p")).to_have_text(question)

    visitor.get_by_role("textbox", name="Message").press_sequentially("Also to Sw")
    expect(admin.locator(".chat-typing")).to_have_text("Visitor is typing…")
    admin.get_by_role("textbox", name="Message").press_sequentially("Yes, we d")
    expect(visitor.locator(".chat-typing")).to_have_text("Support is typing…")
    send(admin, "Yes, we ship to Norway in 3 days.")
    expect(visitor.locator(".chat-message.from-admin p")).to_have_text("Yes, we ship to Norway in 3 days.")
    expect(visitor.locator(".chat-typing")).to_be_hidden()
    screenshot(visitor, "nextjs-widget")
    screenshot(admin, "nextjs-admin-room")

    # The unread count on the button while the chat is hidden; opening it reads them.
    visitor.get_by_role("button", name="Hide chat").click()
    send(admin, "Free shipping over 50 EUR, too.")
    badge = visitor.locator(".chat-launcher .chat-unread")
    expect(badge).to_have_text("1")
    send(admin, "Anything else?")
    expect(badge).to_have_text("2")
    visitor.get_by_role("button", name="Open chat").click()
    expect(visitor.locator(".chat-message.from-admin p")).to_have_text(
        ["Yes, we ship to Norway in 3 days.", "Free shipping over 50 EUR, too.", "Anything else?"])
    expect(badge).to_be_hidden()


def test_two_tabs_of_one_visitor_and_support_see_each_others_messages_within_a_second(
        pages: Pages, site: NextjsSite, stack: Stack) -> None:
    """The seed's test 3: two tabs of one visitor (one browser profile), and support beside them."""
    context = pages.context()
    tab_a = site_page(pages, site, "/", context)
    tab_b = site_page(pages, site, "/login", context)
    open_chat(tab_a)
    send(tab_a, "First, from tab A")
    expect(tab_a.locator(".chat-message.from-user p")).to_have_text("First, from tab A")
    room_id = int(tab_a.locator(".chat-messages").get_attribute("data-room-id") or 0)
    open_chat(tab_b)
    expect(tab_b.locator(".chat-message.from-user p")).to_have_text("First, from tab A")
    admin = admin_page(pages, site, f"/admin/chat/{room_id}", stack.admin)
    expect(admin.locator(".chat-message.from-user p")).to_have_text("First, from tab A")
    # Both Echo connections subscribed before timing starts.
    for page in (tab_a, tab_b, admin):
        page.wait_for_function("() => [...(window.Pusher?.instances ?? [])].some((p) => "
                               f"p.channel('private-chat.{room_id}')?.subscribed)")

    timings: dict[str, float] = {}

    def deliver(name: str, sender: Page, receiver: Page, text: str) -> None:
        started = send(sender, text)
        expect(receiver.locator(".chat-message p", has_text=text)).to_be_visible(timeout=5000)
        timings[name] = time.monotonic() - started

    deliver("tab A -> tab B", tab_a, tab_b, "Ping from A")
    deliver("tab B -> tab A", tab_b, tab_a, "Pong from B")
    deliver("visitor -> admin", tab_a, admin, "Hello support")
    deliver("admin -> both tabs", admin, tab_b, "Hello from support")
    expect(tab_a.locator(".chat-message.from-admin p")).to_have_text("Hello from support")
    print(", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in timings.items()) + " (Enter to shown)")
    assert all(seconds < LIVE_S for seconds in timings.values()), timings
    # Each tab shows each message once (its own from the answer, the other's from Echo).
    for tab in (tab_a, tab_b):
        expect(tab.locator(".chat-message p")).to_have_text(
            ["First, from tab A", "Ping from A", "Pong from B", "Hello support", "Hello from support"])


def test_admin_filters_assigns_resolves_and_closes_with_the_stats(pages: Pages, site: NextjsSite, stack: Stack) -> None:
    """The seed's admin flow: filters open, assigned, urgent, unread; assign; resolve; close; statistics."""
    plain = Api.guest(stack.url, "Petro Plain")
    urgent = Api.guest(stack.url, "Uliana Urgent")
    plain_id = plain.send("My parcel is late")["room"]["id"]
    urgent_id = urgent.send("I was charged twice!")["room"]["id"]
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{urgent_id}/priority", {"priority": "urgent"})

    admin = admin_page(pages, site, "/admin/chat", stack.admin)
    rows = admin.locator(".admin-rooms li[data-room-id]")
    expect(admin.locator(".chat-launcher")).to_have_count(0)  # the visitor's button stays out of the panel

    def shown(*filters: str) -> None:
        for name in filters:
            admin.get_by_role("button", name=name, exact=True).click()
            expect(admin.get_by_role("button", name=name, exact=True)).to_have_attribute("aria-pressed", "true")

    def listed(room_id: int) -> Any:
        return rows.and_(admin.locator(f"[data-room-id='{room_id}']"))

    def stats_match() -> bool:
        api = stack.admin.ok("GET", "/api/admin/chat/stats")["stats"]
        keys = ("open", "assigned", "unassigned", "urgent", "unread_messages")
        ui = {k: admin.locator(f".admin-stats [data-stat={k}] dd").inner_text() for k in keys}
        return ui == {k: str(api[k]) for k in keys}

    shown("Urgent")
    expect(listed(urgent_id)).to_be_visible()
    expect(listed(plain_id)).to_have_count(0)
    shown("Unread")
    expect(listed(plain_id)).to_be_visible()
    expect(listed(urgent_id)).to_be_visible()
    shown("Assigned")
    expect(listed(plain_id)).to_have_count(0)
    shown("Open")
    expect(listed(plain_id)).to_be_visible()
    expect(listed(urgent_id)).to_have_class("urgent")
    wait_until(stats_match, what="the statistics as the API counts them")
    screenshot(admin, "nextjs-admin-panel")

    listed(plain_id).get_by_role("link").click()
    admin.wait_for_url(f"{site.base_url}/admin/chat/{plain_id}")
    status = admin.locator(".admin-room .room-status")
    admin.get_by_role("button", name="Assign to me").click()
    expect(status).to_have_text("assigned")
    expect(admin.get_by_role("button", name="Assign to me")).to_be_disabled()
    room = stack.admin.ok("GET", f"/api/admin/chat/rooms/{plain_id}")["room"]
    assert room["assigned_admin"]["id"] == stack.admin.id

    admin.get_by_role("link", name="All chats").click()
    shown("Assigned")
    expect(listed(plain_id)).to_be_visible()
    expect(listed(urgent_id)).to_have_count(0)
    wait_until(stats_match, what="the statistics after the assignment")

    listed(plain_id).get_by_role("link").click()
    admin.get_by_role("button", name="Resolve").click()
    expect(status).to_have_text("resolved")
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{plain_id}")["room"]["status"] == "resolved"
    admin.get_by_role("button", name="Close").click()
    expect(status).to_have_text("closed")
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{plain_id}")["room"]["status"] == "closed"
    expect(admin.get_by_role("textbox", name="Message")).to_be_disabled()


def test_a_guests_conversation_moves_to_the_account_on_site_sign_in(
        pages: Pages, site: NextjsSite, stack: Stack) -> None:
    """The widget sends its guest token along with the identity token: nothing is lost."""
    email = f"taras-{secrets.token_hex(3)}@shop.test"
    page = site_page(pages, site, "/")
    open_chat(page)
    send(page, "Asked before signing in")
    expect(page.locator(".chat-message.from-user p")).to_have_text("Asked before signing in")
    room_id = int(page.locator(".chat-messages").get_attribute("data-room-id") or 0)

    sign_in_to_site(page, site, "Taras Account", email)
    open_chat(page)
    expect(page.locator(".chat-message.from-user p")).to_have_text("Asked before signing in")
    [room] = rooms_of(stack, email)
    assert room["id"] == room_id and room["user"]["name"] == "Taras Account"


def test_only_signed_in_users_get_the_chat_button_when_the_site_asks(
        pages: Pages, gated_site: NextjsSite, stack: Stack) -> None:
    """The seed's variant 3.2 (CHAT_REQUIRE_LOGIN=true): no button, and no guest made, for visitors."""
    page = site_page(pages, gated_site, "/")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".chat-widget")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('chat.session')") is None

    email = f"maria-{secrets.token_hex(3)}@shop.test"
    sign_in_to_site(page, gated_site, "Maria Member", email)
    open_chat(page)
    send(page, "Members-only question")
    [room] = wait_until(lambda: rooms_of(stack, email), what="the member's room")
    assert room["user"]["name"] == "Maria Member"


def first_frame(page: Page, url: str) -> dict[str, Any]:
    """The first Pusher frame the browser gets on a WebSocket to ``url`` opened by ``page``."""
    raw = page.evaluate(
        """url => new Promise((resolve, reject) => {
            const socket = new WebSocket(url);
            socket.onmessage = event => { resolve(event.data); socket.close(); };
            socket.onerror = () => reject(new Error('the WebSocket failed before its first frame'));
        })""",
        url,
    )
    frame: dict[str, Any] = json.loads(raw)
    return frame


def test_pyreverb_lets_only_the_sites_pages_connect(pages: Pages, site: NextjsSite, stack: Stack) -> None:
    """REVERB_APP_ALLOWED_ORIGINS as a real site sets it: the browser's Origin decides, not the client."""
    url = f"ws://127.0.0.1:{stack.reverb.port}/app/{stack.reverb.key}?protocol=7&client=js&version=8.4.0"
    assert first_frame(site_page(pages, site, "/"), url)["event"] == "pusher:connection_established"

    # Another site on this machine: chatapp's own address under the name "localhost" (a public
    # origin would be stopped by Chromium's local-network rules before pyreverb could answer).
    elsewhere = pages.page()
    elsewhere.goto(f"http://localhost:{stack.chat.port}/up")
    refused = first_frame(elsewhere, url)
    assert refused["event"] == "pusher:error", refused
    assert json.loads(refused["data"])["code"] == 4009, refused
