"""The widget never loses typed text: failed session starts and sends, reloads, ordering."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.conftest import Pages, Stack, send, visitor_page, wait_until

pytestmark = pytest.mark.browser

RATE_LIMITED = {"error": "rate_limited", "message": "Too many new chats from this address", "retry_after": 1}


class RefusedGuests:
    """Answers every guest-session request with 429 while installed, counting them."""

    def __init__(self, page: Page, stack: Stack) -> None:
        self.page = page
        self.url = f"{stack.url}/api/auth/guest"
        self.count = 0
        page.route(self.url, self.refuse)

    def refuse(self, route: Route) -> None:
        self.count += 1
        route.fulfill(status=429, headers={"Retry-After": "1"}, content_type="application/json",
                      body=json.dumps(RATE_LIMITED))

    def lift(self) -> None:
        self.page.unroute(self.url, self.refuse)


def first_message_refused(pages: Pages, stack: Stack, text: str) -> tuple[Page, RefusedGuests, Locator]:
    """A new guest writes ``text`` while the server refuses to start its chat session."""
    page = pages.page("/")
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    refused = RefusedGuests(page, stack)
    page.locator("chatapp-widget .launcher").click()
    send(page, text)
    mine = page.locator("chatapp-widget .msg.ours")
    expect(mine.locator(".body")).to_have_text(text)
    expect(mine.locator(".status")).to_have_text(" · Not sent")
    return page, refused, mine


def stored_bodies(stack: Stack, text: str) -> list[str]:
    """Every message body in every room that contains ``text`` (a doubled send would show twice)."""
    rooms = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": text})["data"]
    return [m["body"] for r in rooms for m in stack.admin.ok("GET", f"/api/admin/chat/rooms/{r['id']}")["messages"]["data"]]


def test_text_survives_a_failed_session_start_and_arrives_once_on_retry(pages: Pages, stack: Stack) -> None:
    page, refused, mine = first_message_refused(pages, stack, "My parcel never arrived")
    # What the visitor reads is the catalogue's text for the error code, not the API's message.
    expect(mine.locator(".error-text")).to_contain_text("Cannot start the chat: Too many attempts.")
    assert refused.count >= 3, "a refused session start is retried by itself before the message shows as not sent"

    refused.lift()
    mine.get_by_role("button", name="Retry").click()
    expect(mine.locator(".status")).to_have_text(" · Sent")
    assert stored_bodies(stack, "My parcel never arrived") == ["My parcel never arrived"]
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('chatapp.widget.outbox'))") == []


def test_a_failed_message_survives_a_reload_and_is_sent_after_it(pages: Pages, stack: Stack) -> None:
    page, refused, mine = first_message_refused(pages, stack, "Written before the reload")
    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    expect(mine.locator(".body")).to_have_text("Written before the reload")
    expect(mine.locator(".status")).to_have_text(" · Not sent")

    refused.lift()
    mine.get_by_role("button", name="Retry").click()
    expect(mine.locator(".status")).to_have_text(" · Sent")
    assert stored_bodies(stack, "Written before the reload") == ["Written before the reload"]
    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    expect(mine).to_have_count(1)
    expect(mine.locator(".status")).to_have_text(" · Sent")


def test_a_send_whose_answer_is_lost_is_retried_and_stored_once(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Lou Lossy")
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    attempts: list[str] = []

    def lose_first_answer(route: Route) -> None:
        attempts.append(json.loads(route.request.post_data or "{}").get("idempotency_key", ""))
        if len(attempts) == 1:
            route.fetch()  # the server stores the message...
            route.abort("connectionreset")  # ...and the answer never reaches the page
        else:
            route.continue_()

    page.route(f"{stack.url}/api/chat/messages", lose_first_answer)
    send(page, "Stored although the answer was lost")
    expect(page.locator("chatapp-widget .msg.ours .status")).to_have_text(" · Sent")
    assert len(attempts) == 2 and attempts[0] == attempts[1], "the retry carries the same idempotency key"
    room = user.ok("GET", "/api/chat/room")["room"]
    bodies = [m["body"] for m in user.ok("GET", f"/api/chat/rooms/{room['id']}/messages")["data"]]
    assert bodies == ["Stored although the answer was lost"]


def test_a_file_then_a_text_sent_quickly_are_stored_in_that_order(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Fay Files")
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()

    held: list[Route] = []  # the upload waits (a large file on a slow line) until released below
    page.route(f"{stack.url}/api/chat/upload", lambda route: held.append(route))
    page.locator("chatapp-widget input[type=file]").set_input_files(
        {"name": "receipt.txt", "mimeType": "text/plain", "buffer": b"Order 1234, paid 19.99\n"})
    page.get_by_role("textbox", name="Message").press("Enter")
    send(page, "Here is the receipt")
    wait_until(lambda: held, what="the upload started")
    page.wait_for_timeout(700)  # time enough for the text to overtake the file, were it sent alongside
    held[0].continue_()
    mine = page.locator("chatapp-widget .msg.ours")
    expect(mine).to_have_count(2)
    expect(mine.locator(".status").last).to_have_text(" · Sent")

    room = wait_until(lambda: user.ok("GET", "/api/chat/room")["room"], what="room created")
    stored = user.ok("GET", f"/api/chat/rooms/{room['id']}/messages")["data"]
    assert [(m["body"], (m["attachment"] or {}).get("name")) for m in stored] == [
        ("", "receipt.txt"), ("Here is the receipt", None)]
    assert len(user.ok("GET", "/api/chat/rooms")["data"]) == 1
