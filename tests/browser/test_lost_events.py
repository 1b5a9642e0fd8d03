"""An event that never reaches a browser: the inbox and the conversation still show the chat.

chatapp reaches pyreverb through a gate this module can shut, and its outbox gives up
on an event after three seconds, so an event can really be lost while the page's own
socket stays connected. The page must notice (a skipped feed number, a message whose
predecessor it lacks, the tab becoming visible again) and fetch what it missed,
without a reload.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages, Stack, ensure_web_assets, wait_until
from tests.chatapp.gate import Gate
from tests.chatapp.procs import Api, ChatappProcess, chatapp_reverb

pytestmark = pytest.mark.browser

MAX_AGE_S = 3
POLL_LIVE_S = 30  # shared/conversation.js: POLL_LIVE_MS


@pytest.fixture(scope="module")
def gate_and_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gate, Stack]]:
    ensure_web_assets()
    workdir = tmp_path_factory.mktemp("chatapp-lost-events")
    reverb = chatapp_reverb()
    gate = Gate(reverb.port)
    chat = ChatappProcess(f"sqlite:///{workdir / 'chat.sqlite3'}", gate.port, workdir,
                          env={"CHATAPP_OUTBOX_MAX_AGE": str(MAX_AGE_S),
                               # browsers reach pyreverb directly; only chatapp's API calls pass the gate
                               "CHATAPP_PUBLIC_REVERB_HOST": "127.0.0.1",
                               "CHATAPP_PUBLIC_REVERB_PORT": str(reverb.port)})
    s = Stack(reverb, chat, "", Api(""))
    try:
        chat.start()
        s.admin_email, s.admin = s.new_admin("Lena Lost")
        yield gate, s
    finally:
        chat.stop()
        gate.close()
        s.reverb.stop()


@pytest.fixture(scope="module")
def stack(gate_and_stack: tuple[Gate, Stack]) -> Stack:
    return gate_and_stack[1]


@pytest.fixture
def gate(gate_and_stack: tuple[Gate, Stack]) -> Iterator[Gate]:
    yield gate_and_stack[0]
    gate_and_stack[0].open()


def lose_events_of(stack: Stack, gate: Gate, action: str, call: object) -> None:
    """Run ``call`` while pyreverb is unreachable for chatapp, until the outbox gave its events up."""
    status = lambda: stack.admin.ok("GET", "/api/admin/status")["outbox"]  # noqa: E731
    expired = status()["expired"]
    gate.shut()
    try:
        call()  # type: ignore[operator]
        wait_until(lambda: status()["expired"] > expired and status()["depth"] == 0, timeout=30,
                   what=f"the events of {action} given up")
    finally:
        gate.open()


def new_visitor(stack: Stack, name: str) -> Api:
    return Api.guest(stack.url, name)


def live_inbox(pages: Pages) -> Page:
    page = pages.admin("/admin/chat?filter=all")
    expect(page.locator(".connection")).to_have_text("Live")
    page.wait_for_timeout(1000)  # the reload that follows "connected" is done: what comes later is live only
    return page


def test_inbox_shows_a_lost_chat_when_the_tab_becomes_visible(pages: Pages, stack: Stack, gate: Gate) -> None:
    inbox = live_inbox(pages)
    visitor = new_visitor(stack, "Vanished Vera")
    holder: dict[str, int] = {}
    lose_events_of(stack, gate, "a new chat",
                   lambda: holder.setdefault("room", visitor.send("Is this thing on?")["room"]["id"]))
    row = inbox.locator(f".room-item[data-id='{holder['room']}']")
    expect(inbox.locator(".connection")).to_have_text("Live")  # the socket never dropped
    expect(row).to_have_count(0)

    # The agent comes back to the tab (headless Chromium keeps every tab "visible", so the
    # browser's visibilitychange is sent by hand; document.visibilityState is "visible").
    inbox.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(row).to_be_visible(timeout=5000)
    expect(row).to_contain_text("Is this thing on?")


def test_inbox_resyncs_when_the_feed_skips_a_number(pages: Pages, stack: Stack, gate: Gate) -> None:
    inbox = live_inbox(pages)
    lost = new_visitor(stack, "Skipped Sam")
    holder: dict[str, int] = {}
    lose_events_of(stack, gate, "a new chat",
                   lambda: holder.setdefault("room", lost.send("You will not hear this")["room"]["id"]))
    expect(inbox.locator(f".room-item[data-id='{holder['room']}']")).to_have_count(0)

    # The next chat's events arrive with a feed number one too far: the inbox reloads its list.
    seen = new_visitor(stack, "Next Nora").send("Hello there")["room"]["id"]
    expect(inbox.locator(f".room-item[data-id='{seen}']")).to_be_visible(timeout=5000)
    expect(inbox.locator(f".room-item[data-id='{holder['room']}']")).to_be_visible(timeout=5000)


def test_conversation_fetches_a_message_whose_event_was_lost(pages: Pages, stack: Stack, gate: Gate) -> None:
    visitor = new_visitor(stack, "Gap Gina")
    room_id = visitor.send("First question")["room"]["id"]
    sent = ["First question"]
    for attempt in range(3):
        page = pages.admin(f"/admin/chat/{room_id}")
        loaded = time.monotonic()
        expect(page.locator(".connection")).to_have_text("Live")
        messages = page.locator("#room .msg .body")
        expect(messages).to_have_text(sent)
        # The room's channel is subscribed, and the catch-up that follows its subscription is
        # answered, before an event is lost: else that catch-up may fetch the lost message itself
        # (a slow machine in a full run did), which is right but not what is tested here.
        live = f"Still there {attempt + 1}?"
        visitor.send(live)
        sent.append(live)
        expect(messages).to_have_text(sent)
        page.wait_for_load_state("networkidle")
        lost = f"Lost question {attempt + 1}"
        lose_events_of(stack, gate, "a message", lambda: visitor.send(lost))  # noqa: B023
        sent.append(lost)
        # An open conversation also asks for its messages every 30 s while visible: only a loss
        # noticed well before that shows that the next event's predecessor is what fetched it.
        if time.monotonic() - loaded < POLL_LIVE_S - 5:
            break
        page.close()
    else:
        pytest.fail("losing an event took longer than the conversation's own resync three times")
    assert messages.all_inner_texts() == sent[:-1], "the lost message is not on the page yet"
    visitor.send("Next question")  # its event names the lost one as its predecessor
    expect(messages).to_have_text([*sent, "Next question"], timeout=5000)
