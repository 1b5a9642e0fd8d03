"""Browser tests: Debian's chromium driven by Playwright against a real chatapp + pyreverb.

Each module shares one browser and one chatapp + pyreverb pair; each test opens its own
browser contexts (separate storage, like separate people) and closes them afterwards.
An uncaught exception or a Content-Security-Policy violation in any page fails the test.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from chatapp.pages import VENDOR_FILES, WEB_DIR
from tests.chatapp.procs import Api, ChatappProcess, chatapp_reverb
from tests.helpers.procs import ROOT, TIME_FACTOR, ReverbProcess
from tests.helpers.smtp import SmtpSink, running_smtp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
ADMIN_PASSWORD = "panel-password-1"
USER_PASSWORD = "customer-password-1"
TIMEOUT_MS = int(10_000 * TIME_FACTOR)
# expect() waits as long as any other page call (its own default, 5 s, is short for a machine
# running the rest of the suite beside the browser tests)
expect.set_options(timeout=TIMEOUT_MS)
_ids = itertools.count(1)


def ensure_web_assets() -> None:
    """pusher-js and laravel-echo in chatapp/web/static/vendor (``make web``), and the widget
    built from the current sources: build.mjs rebuilds only when a source is newer (~1 s)."""
    vendor = WEB_DIR / "static" / "vendor"
    if not all((vendor / name).is_file() for name in VENDOR_FILES):
        subprocess.run(["make", "-s", "web"], cwd=ROOT, check=True, timeout=300)
    subprocess.run(["node", "build.mjs"], cwd=WEB_DIR, check=True, timeout=120)


@dataclass
class Stack:
    """One pyreverb and one chatapp (SQLite), plus a support admin."""

    reverb: ReverbProcess
    chat: ChatappProcess
    admin_email: str
    admin: Api
    screenshots: Path = SCREENSHOTS

    @property
    def url(self) -> str:
        return self.chat.base_url

    def stop_reverb(self) -> None:
        self.reverb.stop()

    def start_reverb_again(self) -> None:
        """A new pyreverb process on the same port (clients reconnect to it by themselves)."""
        self.reverb = chatapp_reverb(port=self.reverb.port)

    def new_user(self, name: str = "Customer") -> tuple[str, Api]:
        email = f"customer{next(_ids)}-{self.chat.port}@shop.test"
        doc = Api(self.url).ok("POST", "/api/auth/register", {"email": email, "password": USER_PASSWORD, "name": name})
        return email, Api(self.url, doc["token"], doc["user"])

    def new_admin(self, name: str) -> tuple[str, Api]:
        email = f"agent{next(_ids)}-{self.chat.port}@support.test"
        self.chat.cli("create-admin", "--email", email, "--name", name, "--password", ADMIN_PASSWORD)
        doc = Api(self.url).ok("POST", "/api/auth/login", {"email": email, "password": ADMIN_PASSWORD})
        return email, Api(self.url, doc["token"], doc["user"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Tests seed long histories through the API faster than the default per-user limit allows.
    yield from running_stack(tmp_path_factory, {"CHATAPP_RATE_MESSAGES": "1000/10"})


def running_stack(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str], reverb_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """A pyreverb (with ``reverb_env``) and a chatapp (SQLite, with ``env``), and a signed-in admin, until closed."""
    ensure_web_assets()
    workdir = tmp_path_factory.mktemp("chatapp-browser")
    reverb = chatapp_reverb(env=reverb_env)
    chat = ChatappProcess(f"sqlite:///{workdir / 'chat.sqlite3'}", reverb.port, workdir, env=env)
    s = Stack(reverb, chat, "", Api(""))
    try:
        chat.start()
        s.admin_email, s.admin = s.new_admin("Alice Agent")
        yield s
    finally:
        chat.stop()
        s.reverb.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) for a module whose stack sends mail (:func:`mail_env`)."""
    with running_smtp() as sink:
        yield sink


def mail_env(smtp: SmtpSink, **extra: str) -> dict[str, str]:
    """chatapp's settings for e-mail through ``smtp``, due mail looked for every 0.3 s."""
    return {"CHATAPP_SMTP_URL": smtp.url, "CHATAPP_MAIL_FROM": "Support <support@shop.test>",
            "CHATAPP_MAIL_INTERVAL": "0.3", **extra}


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Pages:
    """Opens pages in fresh contexts; records uncaught page errors and CSP violations."""

    browser: Browser
    stack: Stack
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def context(self, **options: Any) -> BrowserContext:
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context

    def page(self, path: str | None = None, context: BrowserContext | None = None, **options: Any) -> Page:
        page = (context or self.context(**options)).new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: self.errors.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text else None)
        if path is not None:
            page.goto(self.stack.url + path)
        return page

    def admin(self, path: str = "/admin/chat", api: Api | None = None, **options: Any) -> Page:
        """An admin page already signed in (the login form itself has its own test)."""
        context = self.context(**options)
        token = (api or self.stack.admin).token
        context.add_init_script(f"localStorage.setItem('chatapp.admin.token', {token!r});")
        page = self.page(path, context)
        page.wait_for_selector("#inbox[data-ready='true']")
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, stack: Stack) -> Iterator[Pages]:
    opened = Pages(browser, stack)
    try:
        yield opened
    finally:
        opened.close()
    assert not opened.errors, f"uncaught errors in the page: {opened.errors}"


def visitor_page(pages: Pages, user: Api, context: BrowserContext | None = None, **context_options: Any) -> Page:
    """The demo store with this customer signed in (the store keeps its session in localStorage)."""
    context = context or pages.context(**context_options)
    session = json.dumps({"token": user.token, "name": user.user["name"]})
    context.add_init_script(f"localStorage.setItem('northwind.session', {json.dumps(session)});")
    page = pages.page("/", context)
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    return page


def send(page: Page, text: str) -> float:
    """Type into the page's message box and press Enter; returns when Enter was pressed."""
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    started = time.monotonic()
    box.press("Enter")
    return started


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    from tests.chatapp.procs import wait_until as wait

    return wait(predicate, timeout, what)
