"""Browser costs that must not grow with history: the inbox keeps its loaded pages when an
event moves a room, and a closed widget with a live socket does not poll."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
import pytest
from playwright.sync_api import APIResponse, Page, Request, Route, WebSocket, expect

from tests.browser.conftest import Pages, Stack, running_stack, visitor_page, wait_until
from tests.chatapp.procs import Api

pytestmark = pytest.mark.browser

POLLED = re.compile(r"/api/chat/rooms/\d+(/messages)?(\?|$)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's own chatapp: a one-second live poll, so a minute of polling fits in seconds."""
    yield from running_stack(tmp_path_factory, {"CHATAPP_LIVE_POLL_INTERVAL": "1"})


def guest(stack: Stack, name: str) -> Api:
    doc = Api(stack.url).ok("POST", "/api/auth/guest", {"name": name})
    return Api(stack.url, doc["token"], doc["user"])


def listed_ids(page: Page) -> list[int]:
    return [int(x) for x in page.locator("#rooms .room-item").evaluate_all("(items) => items.map((i) => i.dataset.id)")]


def test_a_message_on_page_two_moves_its_room_to_the_top_and_keeps_the_loaded_pages(
    pages: Pages, stack: Stack
) -> None:
    visitors = [guest(stack, f"Pager {i:02d}") for i in range(40)]
    rooms = [v.send(f"question {i}")["room"]["id"] for i, v in enumerate(visitors)]
    page = pages.admin("/admin/chat?filter=open")
    expect(page.locator("#rooms .room-item")).to_have_count(30)
    page.locator("#rooms-more").click()
    expect(page.locator("#rooms .room-item")).to_have_count(40)
    expect(page.locator("#rooms-more")).to_be_hidden()
    loaded = listed_ids(page)
    assert loaded == list(reversed(rooms)), "newest first, no room twice"
    moved = rooms[3]
    assert loaded.index(moved) >= 30, "the room is on the second page"

    visitors[3].send("any news?")
    wait_until(lambda: listed_ids(page)[:1] == [moved], what="the room moved to the top")
    after = listed_ids(page)
    assert len(after) == 40 and sorted(after) == sorted(loaded), "the loaded pages stay"
    assert after == [moved] + [r for r in loaded if r != moved]
    expect(page.locator(f".room-item[data-id='{moved}']")).to_contain_text("any news?")


def test_a_resync_answered_before_a_live_event_does_not_undo_it(pages: Pages, stack: Stack) -> None:
    """The list's resync asks the server; a message moves a room meanwhile; the server's older
    answer then arrives. The inbox asks again rather than put the room back where it was."""
    visitors = [guest(stack, f"Racer {i}") for i in range(3)]
    rooms = [v.send(f"question {i}")["room"]["id"] for i, v in enumerate(visitors)]
    page = pages.admin("/admin/chat?filter=open")
    expect(page.locator(".connection")).to_have_text("Live")
    page.wait_for_timeout(1000)  # the reload that follows "connected" is done
    assert listed_ids(page)[:3] == rooms[::-1]

    held: list[tuple[Route, APIResponse]] = []

    def hold_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # the server's answer now, handed to the page later

    page.route(re.compile(r"/api/admin/chat/rooms\?"), hold_first)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # a resync
    wait_until(lambda: held or page.wait_for_timeout(50), what="the resync's request")
    visitors[0].send("still there?")  # the oldest room moves to the top, live
    wait_until(lambda: listed_ids(page)[:1] == [rooms[0]], what="the room moved to the top")
    route, stale = held[0]
    route.fulfill(response=stale)  # an answer from before the message
    page.wait_for_timeout(1500)
    assert listed_ids(page)[:3] == [rooms[0], rooms[2], rooms[1]]
    page.unroute(re.compile(r"/api/admin/chat/rooms\?"))


def test_a_closed_widget_with_a_live_socket_does_not_poll(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Idle Ida")
    room_id = user.send("an old question")["room"]["id"]
    context = pages.context()
    frames: list[str] = []

    def watch_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else ""))

    context.on("page", lambda opened: opened.on("websocket", watch_socket))
    polled: list[tuple[float, str]] = []

    def on_request(request: Request) -> None:
        if request.method == "GET" and POLLED.search(request.url):
            polled.append((time.monotonic(), request.url))

    context.on("request", on_request)
    page = visitor_page(pages, user, context)
    deadline = time.monotonic() + 10
    while not any("subscription_succeeded" in f and f"private-chat.{room_id}" in f for f in frames):
        assert time.monotonic() < deadline, "the widget never subscribed to its room"
        page.wait_for_timeout(50)  # lets Playwright deliver the socket's frames

    quiet_from = time.monotonic()
    page.wait_for_timeout(4000)  # four live-poll intervals (waiting in Playwright delivers its events)
    assert [url for at, url in polled if at >= quiet_from] == [], "a closed widget polled"

    launcher = page.locator("chatapp-widget .launcher")
    launcher.click()
    opened_at = time.monotonic()
    page.wait_for_timeout(3500)
    while_open = [url for at, url in polled if at >= opened_at + 0.5]
    assert len(while_open) >= 2, f"an open widget checks on its timer: {while_open}"

    launcher.click()  # close it again
    expect(launcher).to_have_attribute("aria-expanded", "false")
    closed_at = time.monotonic()
    page.wait_for_timeout(3000)
    assert [url for at, url in polled if at >= closed_at + 0.2] == [], "polling stops when it closes"
