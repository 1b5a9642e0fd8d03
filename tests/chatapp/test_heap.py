"""``chatapp serve`` sets the garbage collector for a long run; an app built for a test does not."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatapp.app import create_app
from chatapp.config import Settings
from chatapp.db import connect
from chatapp.heap import YOUNG_THRESHOLD
from chatapp.schema import migrate


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector's settings as they were, whatever the test did to them."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def _started(tmp_path: Path, *, serving: bool) -> tuple[int, int]:
    """The young threshold and the frozen object count while the app runs."""
    url = f"sqlite:///{tmp_path / 'heap.sqlite3'}"
    db = await connect(url)
    try:
        await migrate(db)
    finally:
        await db.close()
    app = create_app(Settings.from_env({"DATABASE_URL": url, "CHATAPP_UPLOAD_DIR": str(tmp_path / "uploads")}),
                     serving=serving)
    async with app.router.lifespan_context(app):
        return gc.get_threshold()[0], gc.get_freeze_count()


async def test_the_served_app_freezes_start_up_and_collects_less_often(tmp_path: Path, collector: None) -> None:
    assert gc.get_threshold()[0] < YOUNG_THRESHOLD
    young, frozen = await _started(tmp_path, serving=True)
    assert young == YOUNG_THRESHOLD
    assert frozen > 10_000  # the modules and the app, out of the generations


async def test_an_app_built_for_tests_keeps_the_defaults(tmp_path: Path, collector: None) -> None:
    before = gc.get_threshold()[0]
    young, frozen = await _started(tmp_path, serving=False)
    assert (young, frozen) == (before, 0)
