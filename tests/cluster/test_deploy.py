"""deploy/compose/docker-compose.yml (Docker cannot run here): its structure, every variable it
sets is one the programs read, and the settings it gives chatapp pass chatapp's own checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from chatapp.config import Settings
from tests.helpers.procs import ROOT

COMPOSE = ROOT / "deploy" / "compose" / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "compose" / ".env.example"
CLUSTER_SITE = ROOT / "deploy" / "nginx" / "chatapp-cluster.conf"


def names_read_by(*sources: Path) -> set[str]:
    """Every upper-case string literal in the settings modules: the variables they read."""
    return {name for src in sources for name in re.findall(r'"([A-Z][A-Z0-9_]{2,})"', src.read_text())}


def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]  # type: ignore[no-any-return]


def of_kind(prefix: str) -> dict[str, Any]:
    return {name: s for name, s in services().items() if re.fullmatch(rf"{prefix}\d+", name)}


def substituted(environment: dict[str, Any]) -> dict[str, str]:
    """The environment with ${VAR} filled from .env.example (empty secrets get sample values)."""
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                   if line and not line.startswith("#"))
    values = {k: v or f"sample-{k.lower()}-0123456789abcdef" for k, v in example.items()}
    return {k: re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], str(v)) for k, v in environment.items()}


def test_the_stack_has_every_part() -> None:
    found = services()
    assert {"postgres", "redis", "minio", "minio-bucket", "migrate", "nginx"} <= set(found)
    assert len(of_kind("chatapp")) >= 2 and len(of_kind("reverb")) >= 2
    for name, service in of_kind("chatapp").items():
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services()["migrate"]["command"] == ["migrate"]


def test_every_variable_set_is_read() -> None:
    chatapp_names = names_read_by(ROOT / "chatapp" / "config.py")
    reverb_names = names_read_by(ROOT / "pyreverb" / "config.py")
    for name, service in {**of_kind("chatapp"), "migrate": services()["migrate"]}.items():
        unknown = set(service["environment"]) - chatapp_names
        assert not unknown, f"{name} sets variables chatapp does not read: {unknown}"
    for name, service in of_kind("reverb").items():
        unknown = set(service["environment"]) - reverb_names
        assert not unknown, f"{name} sets variables pyreverb does not read: {unknown}"


def test_chatapp_accepts_the_settings() -> None:
    for name, service in of_kind("chatapp").items():
        settings = Settings.from_env(substituted(service["environment"]))
        assert settings.storage == "s3" and settings.s3_path_style and settings.redis_url, name
        assert settings.reverb_configured and settings.database_url.startswith("postgresql://")
    assert len({s["environment"]["REVERB_HOST"] for s in of_kind("chatapp").values()}) == len(of_kind("chatapp"))


def test_nginx_uses_the_cluster_site_and_its_upstreams_are_the_containers() -> None:
    nginx = services()["nginx"]
    mounted = [v.split(":")[0] for v in nginx["volumes"]]
    assert "../nginx/chatapp-cluster.conf" in mounted and (COMPOSE.parent / "../nginx/chatapp-cluster.conf").is_file()
    site = CLUSTER_SITE.read_text()
    for prefix, port in (("chatapp", 8000), ("reverb", 8080)):
        addresses = {s["networks"]["chat"]["ipv4_address"] for s in of_kind(prefix).values()}
        assert addresses == set(re.findall(rf"server (10\.0\.0\.\d+):{port}", site)), prefix
    proxy = nginx["networks"]["chat"]["ipv4_address"]
    assert all(s["environment"]["CHATAPP_TRUSTED_PROXIES"] == proxy for s in of_kind("chatapp").values())
