"""The visitor widget and revoked sessions: its socket is signed in, so the server can end it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.browser.conftest import TIMEOUT_MS, Pages, Stack, send
from tests.chatapp.procs import Api

pytestmark = pytest.mark.browser


class Sockets:
    """The page's WebSockets: frames received and whether they closed."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.received: list[str] = []
        self.closed: list[str] = []
        page.on("websocket", self.opened)

    def opened(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.received.append(str(payload)))
        ws.on("close", lambda socket: self.closed.append(socket.url))

    def wait(self, predicate: Callable[[], object], what: str) -> None:
        """Wait in the page's own time, so Playwright keeps delivering the socket events."""
        for _ in range(TIMEOUT_MS // 50):
            if predicate():
                return
            self.page.wait_for_timeout(50)
        raise TimeoutError(f"{what}: not within {TIMEOUT_MS} ms")


def guest_chatting(pages: Pages, stack: Stack, text: str) -> tuple[Page, Sockets, Api]:
    page = pages.page()
    sockets = Sockets(page)
    page.goto(stack.url + "/")
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.locator("chatapp-widget .launcher").click()
    send(page, text)
    expect(page.locator("chatapp-widget .msg.ours .status")).to_have_text(" · Sent")
    token = page.evaluate(f"() => JSON.parse(localStorage.getItem('chatapp.widget:{stack.url}')).token")
    return page, sockets, Api(stack.url, token)


def test_signing_out_everywhere_ends_the_visitor_widget(pages: Pages, stack: Stack) -> None:
    page, sockets, visitor = guest_chatting(pages, stack, "Can I return these boots?")
    sockets.wait(lambda: any("pusher:signin_success" in f for f in sockets.received), "the socket signed in")
    assert not sockets.closed

    visitor.ok("POST", "/api/auth/logout-all")
    sockets.wait(lambda: sockets.closed, "the widget's socket ended by the server")
    # Reconnecting with the revoked token is refused: the widget forgets the session.
    sockets.wait(lambda: page.evaluate(f"() => localStorage.getItem('chatapp.widget:{stack.url}')") is None,
                 "the widget dropped its revoked token")
    expect(page.locator("chatapp-widget .msg")).to_have_count(0)


def test_widget_logout_revokes_its_token_on_the_server(pages: Pages, stack: Stack) -> None:
    page, _, visitor = guest_chatting(pages, stack, "Thanks, that is all")
    page.evaluate("() => window.ChatWidget.logout()")
    response = visitor.get("/api/auth/me")
    assert response.status_code == 401 and response.json()["error"] == "token_revoked", response.text
