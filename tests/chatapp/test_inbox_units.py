"""Socket-free pieces of the inbox: its cursor, the search box's words, its settings."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatapp.config import ConfigError, Settings
from chatapp.inbox_queries import MAX_SEARCH_TERMS, InboxCursor, search_terms


def test_a_cursor_round_trips() -> None:
    cursor = InboxCursor(0, datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=timezone.utc), 42)
    assert InboxCursor.decode(cursor.encode()) == cursor


@given(st.text(max_size=80))
def test_anything_else_is_not_a_cursor(garbage: str) -> None:
    try:
        cursor = InboxCursor.decode(garbage)
    except ValueError:
        return
    assert cursor.rank in (0, 1) and cursor.id >= 1 and cursor.at.tzinfo is not None


def test_search_words_are_letters_and_digits_only() -> None:
    assert search_terms('"Олена" NEAR(ґанок*) -élodie 100%_x') == ["Олена", "NEAR", "ґанок", "élodie", "100", "x"]
    assert search_terms("e\u0301cole") == ["école"]  # a decomposed accent is one word
    assert search_terms("%_-*\"'") == []
    assert len(search_terms("a " * 50)) == MAX_SEARCH_TERMS


def test_housekeeping_settings() -> None:
    settings = Settings.from_env({"CHATAPP_AUTO_CLOSE_DAYS": "0.5", "CHATAPP_LIVE_POLL_INTERVAL": "2"})
    assert (settings.auto_close_days, settings.auto_close_interval, settings.live_poll_interval) == (0.5, 300.0, 2.0)
    assert Settings.from_env({}).auto_close_days == 7
    for name, value in (("CHATAPP_AUTO_CLOSE_DAYS", "-1"), ("CHATAPP_AUTO_CLOSE_INTERVAL", "0"),
                        ("CHATAPP_LIVE_POLL_INTERVAL", "0.1"), ("CHATAPP_AUTO_CLOSE_DAYS", "soon")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})
