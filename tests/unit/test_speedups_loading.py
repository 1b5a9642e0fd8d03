"""Which trigger path a node runs: the compiled one only when built and wanted."""

from __future__ import annotations

import sys

import pytest

import pyreverb
from pyreverb.config import AppConfig, Settings
from pyreverb.server import PusherServer
from pyreverb.speedups import load

APP = AppConfig(app_id="1", key="k", secret="s")


def test_turned_off_means_pure_python() -> None:
    assert load(wanted=False) is None
    assert PusherServer(Settings(apps=(APP,), speedups=False)).speedups is None


def test_a_missing_build_means_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(pyreverb, "_speedups", raising=False)  # as if never imported...
    monkeypatch.setitem(sys.modules, "pyreverb._speedups", None)  # ...and not importable
    assert load() is None
    assert PusherServer(Settings(apps=(APP,))).speedups is None


def test_env_switch() -> None:
    env = {"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s"}
    assert Settings.from_env(env).speedups is True
    assert Settings.from_env({**env, "PYREVERB_SPEEDUPS": "false"}).speedups is False
