"""The widget on the demo store page, as a visitor uses it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from chatapp.identity import sign_identity_token
from tests.browser.conftest import USER_PASSWORD, Pages, Stack, screenshot, visitor_page, wait_until
from tests.chatapp.procs import IDENTITY_SECRET
from tests.helpers.procs import ROOT

pytestmark = pytest.mark.browser


def test_logged_in_user_clicks_chat_button_and_first_message_creates_room(pages: Pages, stack: Stack) -> None:
    """The brief's test 1."""
    email, user = stack.new_user("Olena Customer")
    page = pages.page("/")
    page.fill("#signin-email", email)
    page.fill("#signin-password", USER_PASSWORD)
    page.click("#signin-button")
    expect(page.locator("#signed-in-name")).to_have_text("Olena Customer")

    launcher = page.locator("chatapp-widget .launcher")
    expect(launcher).to_have_accessible_name("Open support chat")
    launcher.click()
    panel = page.get_by_role("dialog", name="Northwind support")
    expect(panel).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert user.ok("GET", "/api/chat/room")["room"] is None

    box = panel.get_by_role("textbox", name="Message")
    expect(box).to_be_focused()
    box.fill("Hello, where is my order #1234?")
    box.press("Enter")
    expect(box).to_have_value("")
    mine = panel.locator(".msg.ours")
    expect(mine).to_have_count(1)
    expect(mine.locator(".body")).to_have_text("Hello, where is my order #1234?")
    expect(mine.locator(".status")).to_have_text(" · Sent")

    room = wait_until(lambda: user.ok("GET", "/api/chat/room")["room"], what="room created")
    assert room["status"] == "open"
    history = user.ok("GET", f"/api/chat/rooms/{room['id']}/messages")["data"]
    assert [(m["body"], m["sender_role"], m["user_id"]) for m in history] == [
        ("Hello, where is my order #1234?", "user", user.id)
    ]
    screenshot(page, "widget-open")


HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
<meta name="csrf-token" content="host-site-csrf-token">
<style>
  /* A careless host stylesheet: none of it may reach into the widget. */
  button { background: rgb(255, 255, 0) !important; width: 7px !important; border-radius: 0 !important; }
  p, ol, li, section, textarea { color: rgb(255, 0, 0) !important; font-size: 30px !important; }
  chatapp-widget { color: rgb(0, 0, 255) !important; font-family: serif !important; letter-spacing: 9px !important; }
  .panel, .badge, .launcher { position: static; margin: 3px; }
</style></head>
<body>
  <h1>Plain shop page</h1>
  <p class="badge" id="host-badge">The host page's own .badge</p>
  <button id="host-button" type="button">Host button</button>
  <script src="%(base)s/widget.js" async data-title="Shop help" data-color="#0a7d34"></script>
</body></html>
"""


class ShopSite:
    """Another site (own origin: localhost on its own port) whose page embeds the widget.

    ``files``: path -> an HTML page, or (its Content-Type, its text) for anything else (a service worker)."""

    def __init__(self, files: dict[str, str | tuple[str, str]]) -> None:
        served = {
            path: ("text/html; charset=utf-8", body) if isinstance(body, str) else body
            for path, body in files.items()
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                found = served.get(self.path.split("?")[0])
                if found is None:
                    self.send_error(404)
                    return
                kind, body = found[0], found[1].encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Iterator[ShopSite]:
    example = (ROOT / "examples" / "plain-html" / "index.html").read_text()
    site = ShopSite({
        "/products": HOST_PAGE % {"base": stack.url},
        "/example": example.replace("http://127.0.0.1:8000", stack.url),
    })
    try:
        yield site
    finally:
        site.close()


def shop_page(pages: Pages, shop: ShopSite) -> Page:
    page = pages.page()
    page.goto(f"{shop.url}/products")
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    return page


def test_guest_on_another_site_then_site_login_keeps_the_conversation(pages: Pages, stack: Stack, shop: ShopSite) -> None:
    page = shop_page(pages, shop)
    launcher = page.locator("chatapp-widget .launcher")

    # Style isolation, both ways.
    assert launcher.evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(10, 125, 52)"
    assert launcher.evaluate("(b) => getComputedStyle(b).width") == "60px"
    assert page.locator("#host-button").evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(255, 255, 0)"
    assert page.locator("#host-badge").evaluate("(p) => getComputedStyle(p).position") == "static"
    assert page.locator("#host-badge").evaluate("(p) => getComputedStyle(p).fontSize") == "30px"

    launcher.click()
    panel = page.get_by_role("dialog", name="Shop help")
    expect(panel).to_be_visible()
    box = panel.get_by_role("textbox", name="Message")
    box.fill("Hi, do you ship to Lviv?")
    box.press("Enter")
    expect(panel.locator(".msg.ours .status")).to_have_text(" · Sent")
    body = panel.locator(".msg.ours .body")
    assert body.evaluate("(p) => getComputedStyle(p).fontSize") == "15px"
    assert body.evaluate("(p) => getComputedStyle(p).letterSpacing") == "normal"
    assert box.evaluate("(t) => getComputedStyle(t).color") == "rgb(31, 41, 55)"
    session = page.evaluate(f"() => JSON.parse(localStorage.getItem('chatapp.widget:{stack.url}'))")
    assert session["kind"] == "guest"
    rooms = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": "ship to Lviv"})["data"]
    assert len(rooms) == 1 and rooms[0]["user"]["role"] == "guest"
    room_id = rooms[0]["id"]

    # The same guest after a reload: the same conversation, no new guest account.
    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    expect(page.locator("chatapp-widget .msg.ours .body")).to_have_text("Hi, do you ship to Lviv?")
    assert page.evaluate(f"() => JSON.parse(localStorage.getItem('chatapp.widget:{stack.url}')).token") == session["token"]

    # The visitor signs in on the shop: its backend signs who they are; the chat moves along.
    now = int(time.time())
    identity = sign_identity_token(IDENTITY_SECRET, {
        "sub": "shop-user-42", "name": "Sofia Shopper", "email": "sofia@shop.example", "iat": now, "exp": now + 600})
    page.evaluate("(token) => window.ChatWidget.identify(token)", identity)
    expect(page.locator("chatapp-widget .msg.ours .body")).to_have_text("Hi, do you ship to Lviv?")
    room = stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]
    assert room["user"]["name"] == "Sofia Shopper" and room["user"]["role"] == "user"
    assert room["user"]["email"] == "sofia@shop.example"
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Yes, 2-3 days to Lviv."})
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("Yes, 2-3 days to Lviv.")
    stored = page.evaluate(f"() => JSON.parse(localStorage.getItem('chatapp.widget:{stack.url}'))")
    assert stored["kind"] == "identity" and stored["sub"] == "shop-user-42"

    # Signing out of the shop ends the chat session in this browser.
    page.evaluate("() => window.ChatWidget.logout()")
    expect(page.locator("chatapp-widget .msg")).to_have_count(0)
    assert page.evaluate(f"() => localStorage.getItem('chatapp.widget:{stack.url}')") is None


def test_sound_mute_and_keyboard_only_use(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Kira Keys")
    room_id = user.send("Hello from the API")["room"]["id"]
    page = visitor_page(pages, user)
    page.evaluate("() => { window.__sounds = 0; window.ChatWidget.on('sound', () => { window.__sounds += 1; }); }")
    launcher = page.locator("chatapp-widget .launcher")

    # Keyboard: focus the button, Enter opens and focuses the box, Enter sends, Escape closes.
    launcher.focus()
    page.keyboard.press("Enter")
    box = page.locator("chatapp-widget textarea")
    expect(box).to_be_focused()
    expect(page.locator("chatapp-widget .msg.ours .body")).to_have_text("Hello from the API")
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    expect(page.locator("chatapp-widget .msg.ours .body").last).to_have_text("Typed without a mouse\nsecond line")
    log = page.locator("chatapp-widget [role=log]")
    expect(log).to_have_attribute("aria-live", "polite")

    # A support reply chimes; muted, it does not; the choice survives a reload.
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "First answer"})
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("First answer")
    assert page.evaluate("() => window.__sounds") == 1
    mute = page.locator("chatapp-widget button.mute")
    expect(mute).to_have_accessible_name("Mute new message sound")
    mute.focus()
    page.keyboard.press("Enter")
    expect(mute).to_have_attribute("aria-pressed", "true")
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Second answer"})
    expect(page.locator("chatapp-widget .msg.theirs .body").last).to_have_text("Second answer")
    assert page.evaluate("() => window.__sounds") == 1
    page.keyboard.press("Escape")
    expect(page.locator("chatapp-widget .panel")).to_be_hidden()
    expect(launcher).to_be_focused()
    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    assert page.evaluate("() => window.ChatWidget.isMuted()") is True


def test_mobile_full_screen_panel(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Mo Bile")
    user.send("Sent from my phone")
    page = visitor_page(pages, user, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                        device_scale_factor=2)
    launcher = page.locator("chatapp-widget .launcher")
    box = launcher.bounding_box()
    assert box and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844 and box["width"] >= 44
    launcher.tap()
    panel = page.locator("chatapp-widget .panel")
    expect(panel.locator(".msg.ours .body")).to_have_text("Sent from my phone")
    assert panel.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
    assert page.locator("chatapp-widget textarea").evaluate("(t) => getComputedStyle(t).fontSize") == "16px"
    screenshot(page, "widget-mobile")
    page.locator("chatapp-widget button.close").tap()
    expect(panel).to_be_hidden()
    expect(launcher).to_be_visible()


def test_offline_banner_and_a_message_written_offline_is_sent_when_back(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Olga Offline")
    room_id = user.send("Hello")["room"]["id"]
    page = visitor_page(pages, user)
    context = page.context
    page.locator("chatapp-widget .launcher").click()
    banner = page.locator("chatapp-widget .banner")
    expect(banner).to_be_hidden()

    context.set_offline(True)
    expect(banner).to_have_text("You are offline. Messages you send are delivered when the connection returns.")
    box = page.get_by_role("textbox", name="Message")
    box.fill("Written on the train")
    box.press("Enter")
    expect(page.locator("chatapp-widget .msg.ours .status").last).to_have_text(" · Sending…")
    screenshot(page, "widget-offline")

    context.set_offline(False)
    expect(page.locator("chatapp-widget .msg.ours .status").last).to_have_text(" · Sent")
    expect(banner).to_be_hidden()
    bodies = [m["body"] for m in user.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]]
    assert bodies == ["Hello", "Written on the train"]


def test_ending_a_chat_and_writing_again_starts_a_new_one(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Eve Ending")
    first_room = user.send("Quick question")["room"]["id"]
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg.ours .body")).to_have_text("Quick question")

    page.get_by_role("button", name="End chat").click()
    note = page.locator("chatapp-widget .note")
    expect(note.locator(".note-text")).to_have_text("This conversation was closed.")
    expect(note.get_by_role("button", name="Start a new conversation")).to_be_visible()
    expect(page.locator("chatapp-widget .msg.system")).to_contain_text("Eve Ending closed the chat")
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{first_room}")["room"]["status"] == "closed"

    box = page.get_by_role("textbox", name="Message")
    box.fill("One more thing")
    box.press("Enter")
    expect(page.locator("chatapp-widget .msg .body")).to_have_text(["One more thing"])
    expect(note).to_be_hidden()
    second_room = user.ok("GET", "/api/chat/room")["room"]["id"]
    assert second_room != first_room
    stack.admin.post(f"/api/admin/chat/rooms/{second_room}/messages", {"body": "Sure, go ahead"})
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("Sure, go ahead")


def test_the_plain_html_example_works_as_documented(pages: Pages, stack: Stack, shop: ShopSite) -> None:
    page = pages.page()
    page.goto(f"{shop.url}/example")
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.click("#help")
    panel = page.get_by_role("dialog", name="My shop support")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("We reply within minutes, 9:00-18:00")
    assert page.locator("chatapp-widget .launcher").evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(15, 118, 110)"
    box = panel.get_by_role("textbox", name="Message")
    box.fill("Is my order shipped?")
    box.press("Enter")
    expect(panel.locator(".msg.ours .status")).to_have_text(" · Sent")
    room_id = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": "Is my order shipped"})["data"][0]["id"]
    page.keyboard.press("Escape")
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Yes, this morning."})
    expect(page).to_have_title("(1) My shop")


def test_long_history_pages_in_on_demand(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Hana History")
    bodies = [f"message {i:02d}" for i in range(57)]
    for body in bodies:
        user.send(body)
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    shown = page.locator("chatapp-widget .msg .body")
    expect(shown).to_have_count(50)
    expect(shown.first).to_have_text("message 07")
    older = page.get_by_role("button", name="Show earlier messages")
    older.click()
    expect(shown).to_have_count(57)
    assert shown.all_text_contents() == bodies
    expect(older).to_be_hidden()
