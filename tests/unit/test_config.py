from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pyreverb.config import AppConfig, ConfigError, Settings
from pyreverb.webhook_endpoint import WebhookEndpoint


def test_default_app_from_reverb_env_names() -> None:
    s = Settings.from_env(
        {
            "REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s",
            "REVERB_SERVER_PORT": "9000", "REVERB_APP_MAX_CONNECTIONS": "5",
            "REVERB_APP_ALLOWED_ORIGINS": "example.com, *.example.org",
            "REVERB_SCALING_ENABLED": "true", "REDIS_HOST": "10.0.0.1", "REDIS_PASSWORD": "pw",
        }
    )
    app = s.apps[0]
    assert (app.app_id, app.key, app.secret, app.max_connections) == ("1", "k", "s", 5)
    assert app.allowed_origins == ("example.com", "*.example.org")
    assert s.port == 9000 and s.scaling_enabled
    assert s.redis_url == "redis://:pw@10.0.0.1:6379/0"


def test_apps_file_adds_more_apps(tmp_path: Path) -> None:
    f = tmp_path / "apps.json"
    f.write_text(json.dumps({"apps": [{"app_id": "2", "key": "k2", "secret": "s2", "max_message_size": 500}]}))
    s = Settings.from_env({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "PYREVERB_APPS_FILE": str(f)})
    assert [a.app_id for a in s.apps] == ["1", "2"]
    assert s.apps[1].max_message_size == 500


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({}, "no app configured"),
        ({"REVERB_APP_ID": "1"}, "must be set together"),
        ({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "REVERB_SERVER_PORT": "x"}, "REVERB_SERVER_PORT"),
        ({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM": "some"}, "accept_client_events_from"),
    ],
)
def test_bad_config_names_the_problem(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Settings.from_env(env)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "apps.json"
    f.write_text(json.dumps([{"app_id": "2", "key": "k", "secret": "s"}]))
    with pytest.raises(ConfigError, match="same key"):
        Settings.from_env({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "PYREVERB_APPS_FILE": str(f)})


def test_path_prefix_normalised() -> None:
    base = Settings.from_env({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s"})
    assert base.prefix == ""
    assert base.with_overrides(path="ws/").prefix == "/ws"


@pytest.mark.parametrize(
    "name, value",
    [("REVERB_APP_PING_INTERVAL", "soon"), ("PYREVERB_SHUTDOWN_TIMEOUT", "-1"), ("REVERB_APP_MAX_CONNECTIONS", "many")],
)
def test_bad_numbers_are_config_errors_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", name: value})


def test_empty_values_fall_back_to_defaults() -> None:
    s = Settings.from_env({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "REVERB_APP_PING_INTERVAL": "", "REVERB_APP_MAX_CONNECTIONS": ""})
    assert s.apps[0].ping_interval == 60 and s.apps[0].max_connections is None


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ({"allowed_origins": "example.com"}, "allowed_origins"),
        ({"max_message_size": "big"}, "max_message_size"),
        ({"enabled": "yes"}, "enabled"),
        ({"webhooks": [{"url": "ftp://x"}]}, "url"),
        ({"webhooks": [{"url": "http://x", "event_types": ["nope"]}]}, "event type"),
        ({"webhooks": [{"url": "http://x", "retries": 3}]}, "unknown webhook setting"),
    ],
)
def test_apps_file_values_are_type_checked(tmp_path: Path, entry: dict[str, object], fragment: str) -> None:
    f = tmp_path / "apps.json"
    f.write_text(json.dumps([{"app_id": "2", "key": "k2", "secret": "s2", **entry}]))
    with pytest.raises(ConfigError, match=fragment):
        Settings.from_env({"PYREVERB_APPS_FILE": str(f)})


def test_redis_password_is_url_encoded() -> None:
    s = Settings.from_env({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s", "REDIS_PASSWORD": "p@ss/word"})
    assert s.redis_url == "redis://:p%40ss%2Fword@127.0.0.1:6379/0"


APP_ENV = {"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s"}


@pytest.mark.parametrize(
    "name, value",
    [
        ("REVERB_SCALING_ENABLED", "ture"),
        ("REVERB_DEBUG", "maybe"),
        ("PYREVERB_SPEEDUPS", "of"),
        ("REVERB_APP_RATE_LIMITING_ENABLED", "enabled"),
        ("REDIS_PORT", "63 79"),
    ],
)
def test_misspelt_values_are_errors_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} must be .*{value!r}"):
        Settings.from_env({**APP_ENV, name: value})


def test_boolean_words_both_ways() -> None:
    assert Settings.from_env({**APP_ENV, "REVERB_SCALING_ENABLED": " Yes "}).scaling_enabled is True
    assert Settings.from_env({**APP_ENV, "PYREVERB_SPEEDUPS": "off"}).speedups is False
    assert Settings.from_env({**APP_ENV, "PYREVERB_SPEEDUPS": " "}).speedups is True


def test_webhook_endpoints_are_parsed_once_into_typed_settings(tmp_path: Path) -> None:
    f = tmp_path / "apps.json"
    hook = {"url": "https://hooks.example/pusher", "events": ["member_added"], "batch_ms": 250, "max_attempts": 2}
    f.write_text(json.dumps([{"app_id": "2", "key": "k2", "secret": "s2", "webhooks": [hook]}]))
    env = {**APP_ENV, "PYREVERB_APPS_FILE": str(f), "PYREVERB_APP_WEBHOOK_URL": "http://127.0.0.1:9/in",
           "PYREVERB_APP_WEBHOOK_EVENTS": "channel_occupied, channel_vacated"}
    default_app, file_app = Settings.from_env(env).apps
    assert file_app.webhooks == (
        WebhookEndpoint(url=hook["url"], event_types=frozenset({"member_added"}), batch_ms=250, max_attempts=2),
    )
    assert default_app.webhooks == (
        WebhookEndpoint(url="http://127.0.0.1:9/in", event_types=frozenset({"channel_occupied", "channel_vacated"})),
    )


def test_cluster_timings_and_restart_file_are_settings(tmp_path: Path) -> None:
    s = Settings.from_env({**APP_ENV, "PYREVERB_NODE_TTL": "3", "PYREVERB_REDIS_TIMEOUT": "0.5",
                           "PYREVERB_RESTART_FILE": str(tmp_path / "restart")})
    assert (s.cluster.node_ttl, s.cluster.heartbeat, s.cluster.redis_timeout) == (3.0, 1.0, 0.5)
    assert s.restart_file == tmp_path / "restart"
    defaults = Settings.from_env(APP_ENV)
    assert defaults.cluster == Settings(apps=()).cluster and defaults.restart_file == Settings(apps=()).restart_file
    with pytest.raises(ConfigError, match="PYREVERB_NODE_HEARTBEAT"):
        Settings.from_env({**APP_ENV, "PYREVERB_NODE_TTL": "3", "PYREVERB_NODE_HEARTBEAT": "3"})


def test_unset_env_gives_the_dataclass_defaults() -> None:
    """Defaults are written once: reading an empty environment changes nothing but the app."""
    from_env = Settings.from_env(APP_ENV)
    assert replace(from_env, apps=()) == Settings(apps=())
    app = from_env.apps[0]
    assert app == AppConfig(app_id="1", key="k", secret="s")


def test_start_refuses_a_misspelt_boolean() -> None:
    env = {
        **os.environ,
        **APP_ENV,
        "REVERB_SERVER_PORT": "0",
        "PYREVERB_APPS_FILE": "",
        "REVERB_SCALING_ENABLED": "ture",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pyreverb", "start"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "REVERB_SCALING_ENABLED must be true or false, got 'ture'" in done.stderr


def test_handshake_pacing_settings() -> None:
    assert Settings.from_env(APP_ENV).handshakes_per_second == Settings.handshakes_per_second > 0
    paced = Settings.from_env({**APP_ENV, "PYREVERB_HANDSHAKES_PER_SECOND": "0", "PYREVERB_HANDSHAKE_QUEUE": "5"})
    assert (paced.handshakes_per_second, paced.handshake_queue) == (0, 5)
    with pytest.raises(ConfigError, match="PYREVERB_HANDSHAKE_QUEUE"):
        Settings.from_env({**APP_ENV, "PYREVERB_HANDSHAKE_QUEUE": "-1"})
