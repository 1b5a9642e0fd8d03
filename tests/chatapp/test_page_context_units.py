"""The parts of page context that need no server: User-Agent reading, addresses, languages, site attributes."""

from __future__ import annotations

import logging

import pytest

from chatapp.errors import BadRequest
from chatapp.page_context import language_of, web_address
from chatapp.site_attributes import MAX_ATTRIBUTES, clean_attributes, load_attributes
from chatapp.user_agents import Platform, platform_of

AGENTS = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36": ("Chrome", "131", "Windows", "10"),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 Edg/120.0.2210.91": ("Edge", "120", "Windows", "10"),
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0": ("Firefox", "121", "Linux", None),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Safari/605.1.15": ("Safari", "17", "macOS", "10.15"),
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
    "Mobile/15E148 Safari/604.1": ("Safari", "17", "iOS", "17.1"),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 OPR/106.0.0.0": ("Opera", "106", "Windows", "10"),
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 "
    "Chrome/115.0.0.0 Mobile Safari/537.36": ("Samsung Internet", "23", "Android", "14"),
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
    "Safari/537.36": ("Chrome", "131", "Linux", None),
}


@pytest.mark.parametrize(("header", "expected"), AGENTS.items(), ids=[v[0] + "-" + str(v[2]) for v in AGENTS.values()])
def test_the_browser_and_os_come_from_the_user_agent(header: str, expected: tuple[str | None, ...]) -> None:
    assert platform_of(header) == Platform(*expected)


@pytest.mark.parametrize("header", ["", "   ", None, "python-httpx/0.28.1", "x" * 10_000])
def test_headers_that_name_no_browser_give_nothing(header: str | None) -> None:
    assert platform_of(header) == Platform(None, None, None, None)


@pytest.mark.parametrize("url", ["https://shop.example/cart?item=1#top", "http://127.0.0.1:8000/", "HTTPS://A.EXAMPLE"])
def test_web_addresses_accepted(url: str) -> None:
    assert web_address(f"  {url} ", "url") == url


@pytest.mark.parametrize("url", ["", "javascript:alert(1)", "data:text/html,hi", "//shop.example/", "https://",
                                 "https://shop.example/a b", "https://shop.example/\u00fc", "https://[::1",
                                 "https://shop.example/" + "a" * 2048])
def test_web_addresses_refused_name_the_field(url: str) -> None:
    with pytest.raises(BadRequest) as refused:
        web_address(url, "referrer")
    assert refused.value.extra == {"field": "referrer"} and refused.value.status == 422


def test_the_language_is_the_widgets_else_the_browsers() -> None:
    assert language_of("fr-CA", "uk-UA,uk;q=0.9") == "fr-CA"
    assert language_of("", "uk-UA,uk;q=0.9,en;q=0.5") == "uk-UA"
    assert language_of("", "*;q=0.1, de") == "de"
    assert language_of("", "") is None
    with pytest.raises(BadRequest):
        language_of("<script>", "")


def test_site_attributes_keep_flat_scalars_and_log_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    raw = {"plan": " Pro ", "orders": 12, "vip": False, "ltv": 99.5, "nested": {"a": 1}, "tags": ["a"],
           "huge": 2**60, "nan": float("nan"), "null": None, "long": "x" * 201, "": 1, "k" * 51: 1}
    with caplog.at_level(logging.WARNING, "chatapp.identity"):
        kept = clean_attributes(raw)
    assert kept == {"plan": "Pro", "orders": 12, "vip": False, "ltv": 99.5}
    assert "8 attribute(s) dropped" in caplog.text and "nested" in caplog.text
    many = clean_attributes({f"field{n}": n for n in range(MAX_ATTRIBUTES + 5)})
    assert many is not None and len(many) == MAX_ATTRIBUTES
    assert clean_attributes(None) is None
    assert clean_attributes(["plan"]) is None
    assert load_attributes(None) == {} and load_attributes('{"plan": "Pro"}') == {"plan": "Pro"}
