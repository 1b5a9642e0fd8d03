"""Keep the operator docs and deploy files honest about the code.

Every environment variable pyreverb reads, every error code and HTTP status it sends and
every metric it exports must be documented; the deploy files must carry the settings that
make restarts, WebSockets and many connections work, and must parse with the real tools
(nginx, HAProxy, systemd) when those are installed.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyreverb.config import AppConfig, Settings
from tests.helpers.tools import debian_tool, make_tls_pair

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pyreverb"
DOCS = ROOT / "docs"
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = ROOT / "config" / "pyreverb.env.example"

ENV_NAME = re.compile(r"""["']((?:PYREVERB|REVERB|REDIS)_[A-Z0-9_]+)["']""")
# Codes the server puts on the wire: class attributes of the PusherError tree, explicit
# code= arguments, and literal codes handed to Close / encode_error / close_frame.
WIRE_CODE = re.compile(r"(?:\bcode\s*=\s*|Close\(|encode_error\(|close_frame\()(\d{4})\b")
API_STATUS = re.compile(r"ApiError\((\d{3})")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _package_sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, _read(path)


def env_names_read_by_pyreverb() -> set[str]:
    return {name for _, text in _package_sources() for name in ENV_NAME.findall(text)}


def test_env_scan_finds_the_known_names() -> None:
    names = env_names_read_by_pyreverb()
    assert {"REVERB_APP_SECRET", "REVERB_SERVER_PORT", "REDIS_URL", "PYREVERB_APPS_FILE", "PYREVERB_RESTART_FILE"} <= names
    assert len(names) >= 40, sorted(names)


def test_every_env_name_is_in_the_configuration_reference() -> None:
    doc = _read(DOCS / "configuration.md")
    missing = sorted(n for n in env_names_read_by_pyreverb() if f"`{n}`" not in doc)
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_every_env_name_is_in_the_env_example() -> None:
    example = _read(ENV_EXAMPLE)
    missing = sorted(
        n for n in env_names_read_by_pyreverb() if not re.search(rf"^#?\s*{n}=", example, re.MULTILINE)
    )
    assert not missing, f"add these (with their defaults) to config/pyreverb.env.example: {missing}"


def test_env_example_loads_into_valid_settings() -> None:
    env = {}
    for line in _read(ENV_EXAMPLE).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    settings = Settings.from_env(env)
    assert settings.port == Settings.port and settings.apps[0].ping_interval == AppConfig.ping_interval


def test_every_app_field_is_in_the_configuration_reference() -> None:
    doc = _read(DOCS / "configuration.md")
    missing = sorted(f for f in AppConfig.__dataclass_fields__ if f"`{f}`" not in doc and f"`{f}[]" not in doc)
    assert not missing, f"apps-file fields missing from docs/configuration.md: {missing}"


def _documented_codes(doc: str) -> set[str]:
    return set(re.findall(r"^\| \*\*(\d{4})\*\* \|", doc, re.MULTILINE))


def wire_codes() -> set[str]:
    return {code for _, text in _package_sources() for code in WIRE_CODE.findall(text)}


def test_error_code_table_matches_the_codes_pyreverb_sends() -> None:
    sent = wire_codes()
    assert {"4001", "4009", "4100", "4200", "4301", "1009"} <= sent, sorted(sent)
    documented = _documented_codes(_read(DOCS / "error-codes.md"))
    assert sent - documented == set(), f"undocumented codes: {sorted(sent - documented)}"
    assert documented - sent == set(), f"documented but never sent: {sorted(documented - sent)}"


def test_every_error_class_code_is_documented() -> None:
    errors = _read(PACKAGE / "protocol" / "errors.py")
    codes = set(re.findall(r"^\s+code(?:: int)? = (\d{4})$", errors, re.MULTILINE))
    assert len(codes) >= 8
    assert codes <= _documented_codes(_read(DOCS / "error-codes.md"))


def test_every_http_api_status_is_documented() -> None:
    statuses = set(API_STATUS.findall(_read(PACKAGE / "http_api.py"))) | {"200", "404", "405"}
    doc = _read(DOCS / "error-codes.md")
    documented = set(re.findall(r"^\| (\d{3}) \|", doc, re.MULTILINE))
    assert statuses <= documented, f"undocumented statuses: {sorted(statuses - documented)}"


def test_every_metric_is_documented() -> None:
    from collections import Counter

    from pyreverb.config import AppConfig, Settings
    from pyreverb.metrics import node_registry, render
    from pyreverb.server import PusherServer

    node = PusherServer(Settings(apps=(AppConfig(app_id="1", key="k", secret="s"),)))
    node.backend.bus_lag_seconds = 0.0  # type: ignore[attr-defined]  # a scaled node's gauge, shown here too
    exposition, _ = render(node_registry(node, Counter()))
    names = set(re.findall(r"^# TYPE (pyreverb_[a-z_]+) ", exposition.decode(), re.MULTILINE))
    assert len(names) >= 15
    doc = _read(DOCS / "operations.md")
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"metrics missing from docs/operations.md: {missing}"


def test_security_policy_names_real_settings_and_every_rate_limit() -> None:
    """SECURITY.md's settings exist, and every chatapp rate limit is in its table."""
    policy = _read(ROOT / "SECURITY.md")
    named = set(re.findall(r"`((?:CHATAPP|REVERB|PYREVERB)_[A-Z0-9_]+)", policy))
    chatapp_config = _read(ROOT / "chatapp" / "config.py")
    known = env_names_read_by_pyreverb() | set(re.findall(r'"(CHATAPP_[A-Z0-9_]+)"', chatapp_config))
    assert named - known == set(), f"SECURITY.md names settings nothing reads: {sorted(named - known)}"
    rate_limits = set(re.findall(r'"(CHATAPP_RATE_[A-Z_]+)"', chatapp_config))
    assert len(rate_limits) >= 5 and rate_limits <= named, sorted(rate_limits - named)
    for secret in ("REVERB_APP_SECRET", "CHATAPP_SECRET_KEY", "CHATAPP_IDENTITY_SECRET", "CHATAPP_VAPID_PRIVATE_KEY", "CHATAPP_TRUSTED_PROXIES"):
        assert f"`{secret}`" in policy, secret


def test_migration_guide_shows_the_laravel_env() -> None:
    doc = _read(DOCS / "migrating-from-reverb.md")
    for line in (
        "BROADCAST_CONNECTION=reverb",
        "REVERB_APP_ID=",
        "REVERB_APP_KEY=",
        "REVERB_APP_SECRET=",
        "REVERB_HOST=",
        "REVERB_PORT=",
        "REVERB_SCHEME=",
        'VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"',
        'VITE_REVERB_HOST="${REVERB_HOST}"',
        'VITE_REVERB_PORT="${REVERB_PORT}"',
        'VITE_REVERB_SCHEME="${REVERB_SCHEME}"',
    ):
        assert re.search(rf"^{re.escape(line)}", doc, re.MULTILINE), line


# -- deploy files: cheap static checks ------------------------------------------------

DRAIN_WORST_CASE = 2 * Settings.shutdown_timeout + 4  # uvicorn's wait, the node's wait, flushes
KEEPALIVE_SILENCE = AppConfig.ping_interval + AppConfig.pong_timeout


def _seconds(raw: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m|h)?", raw.strip())
    assert match, raw
    return int(match.group(1)) * {None: 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _nginx_sites() -> list[Path]:
    sites = sorted((DEPLOY / "nginx").glob("*.conf"))
    assert len(sites) >= 2
    return sites


@pytest.mark.parametrize("site", _nginx_sites(), ids=lambda p: p.name)
def test_nginx_site_proxies_websockets(site: Path) -> None:
    text = _read(site)
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert re.search(r"map \$http_upgrade \$(\w+) \{\s*default upgrade;", text)
    assert re.search(r"proxy_set_header Connection \$\w+;", text)
    assert "proxy_http_version 1.1;" in text
    timeouts = [_seconds(t) for t in re.findall(r"proxy_read_timeout (\S+);", text)]
    assert timeouts and min(timeouts) > KEEPALIVE_SILENCE
    assert re.search(r"location = \S*/metrics \{ return 404; \}", text), "never expose /metrics through the proxy"


CHATAPP_PATHS = ("/", "/widget.js", "/widget-sw.js", "/static/", "/admin", "/admin/", "/api/", "/broadcasting/", "/up")
CLIENT_HEADERS = (
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
)


def _nginx_locations(text: str) -> dict[str, str]:
    """``location`` path (``= /up`` for an exact match) -> its block, for the flat blocks of the example sites."""
    found = re.finditer(r"location ((?:= )?\S+) \{(.*?)\}", text, re.DOTALL)
    return {m.group(1): m.group(2) for m in found}


def test_chatapp_nginx_site_routes_every_path_and_passes_the_client() -> None:
    text = _read(DEPLOY / "nginx" / "chatapp.conf")
    tls_server = text.split("listen 443 ssl;", 1)[1]
    locations = _nginx_locations(tls_server)
    for path in CHATAPP_PATHS:
        blocks = (locations.get(path, ""), locations.get(f"= {path}", ""))
        assert any("proxy_pass http://chatapp;" in block for block in blocks), f"{path} must reach chatapp"
    assert "proxy_pass http://chatapp_reverb;" in locations["/app/"]
    assert "return 404;" in locations["/apps/"], "pyreverb's HTTP API stays on the loopback"
    # the server-level headers, and again where a location sets its own (nginx inherits none then)
    for header in CLIENT_HEADERS:
        assert header in tls_server.split("location", 1)[0] and header in locations["/app/"]
    assert "gzip on;" in text and re.search(r"gzip_types [^;]*application/javascript[^;]*text/css|gzip_types [^;]*text/css[^;]*application/javascript", text)
    assert "CHATAPP_TRUSTED_PROXIES=127.0.0.1" in text


def test_chatapp_docs_quote_the_checked_nginx_site() -> None:
    """docs/chatapp.md's nginx example is deploy/nginx/chatapp.conf, line for line."""
    doc = _read(DOCS / "chatapp.md").split("## Deploying", 1)[1]
    block = re.search(r"```nginx\n(.*?)```", doc, re.DOTALL)
    assert block, "docs/chatapp.md's Deploying section shows the nginx site"
    site = {line.strip() for line in _read(DEPLOY / "nginx" / "chatapp.conf").splitlines()}
    missing = [line for line in block.group(1).splitlines() if line.strip() and line.strip() not in site]
    assert not missing, f"not in deploy/nginx/chatapp.conf: {missing}"
    assert "CHATAPP_TRUSTED_PROXIES" in doc and "deploy/haproxy/chatapp.cfg" in doc


def test_chatapp_haproxy_passes_the_client_and_routes_every_path() -> None:
    text = _read(DEPLOY / "haproxy" / "chatapp.cfg")
    assert "option forwardfor" in text and "http-request set-header X-Real-IP %[src]" in text
    assert "http-request set-header X-Forwarded-Proto https if { ssl_fc }" in text
    exact = set(re.search(r"acl chatapp_path path (.+)", text).group(1).split())  # type: ignore[union-attr]
    prefixes = set(re.search(r"acl chatapp_path path_beg (.+)", text).group(1).split())  # type: ignore[union-attr]
    assert set(CHATAPP_PATHS) <= exact | prefixes and all(p.endswith("/") for p in prefixes)
    assert "use_backend chat_reverb if websocket" in text and "acl websocket path_beg /app/" in text
    assert re.search(r"deny\b.*\{ path /metrics \}.*\{ path_beg /apps/ \}", text)
    assert "compression algo gzip" in text and "application/javascript" in text
    assert _seconds(re.search(r"timeout tunnel (\S+)", text).group(1)) > KEEPALIVE_SILENCE  # type: ignore[union-attr]


def test_nginx_site_has_app_and_api_locations() -> None:
    text = _read(DEPLOY / "nginx" / "pyreverb.conf")
    assert "location /app/ {" in text and "location /apps/ {" in text
    assert re.search(r"listen 443 ssl;", text) and "ssl_certificate " in text
    assert re.search(r"proxy_pass http://pyreverb;", text), "pass the URI unchanged: signatures cover the path"


def test_haproxy_balances_and_health_checks() -> None:
    text = _read(DEPLOY / "haproxy" / "haproxy.cfg")
    assert "balance leastconn" in text
    assert re.search(r"http-check send meth GET uri /up\b", text)
    assert len(re.findall(r"^\s+server node\d+ ", text, re.MULTILINE)) >= 2
    assert _seconds(re.search(r"timeout tunnel (\S+)", text).group(1)) > KEEPALIVE_SILENCE  # type: ignore[union-attr]
    assert re.search(r"deny\b.*\{ path /metrics \}", text)


@pytest.mark.parametrize("unit", sorted((DEPLOY / "systemd").glob("*.service")), ids=lambda p: p.name)
def test_systemd_unit_restarts_and_raises_limits(unit: Path) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_read(unit))
    service = parser["Service"]
    assert service["Restart"] == "always", "a drained node exits 0; only Restart=always brings it back"
    assert int(service["LimitNOFILE"]) >= 65536
    assert service["User"] not in ("", "root")
    assert service["EnvironmentFile"].startswith("/")
    assert service["KillSignal"] == "SIGTERM"
    assert _seconds(service["TimeoutStopSec"]) >= DRAIN_WORST_CASE
    assert "pyreverb start" in service["ExecStart"]


def test_supervisor_program_restarts_after_a_drain() -> None:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    parser.read_string(_read(DEPLOY / "supervisor" / "pyreverb.conf"))
    program = parser["program:pyreverb"]
    assert program["autorestart"] == "true", "autorestart=unexpected leaves a drained node (exit 0) stopped"
    assert program["stopsignal"] == "TERM"
    assert int(program["stopwaitsecs"]) >= DRAIN_WORST_CASE
    assert program["user"] not in ("", "root")
    assert "pyreverb start" in program["command"] and "exec " in program["command"]
    assert int(parser["supervisord"]["minfds"]) >= 65536


# -- deploy files: validated by the real tools when available ---------------------------


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway certificate so the configs' TLS lines can be loaded."""
    return make_tls_pair(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("site", _nginx_sites(), ids=lambda p: p.name)
def test_nginx_accepts_the_site(site: Path, tls_pair: tuple[Path, Path], tmp_path: Path) -> None:
    nginx = debian_tool("nginx", "nginx-light")
    cert, key = tls_pair
    text = re.sub(r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(cert), _read(site))
    text = re.sub(r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(key), text)
    (tmp_path / "site.conf").write_text(text)
    temp_paths = "".join(f"    {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp_paths}    include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", f"{tmp_path}/", "-e", f"{tmp_path}/error.log", "-c", f"{tmp_path}/nginx.conf"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted((DEPLOY / "haproxy").glob("*.cfg")), ids=lambda p: p.name)
def test_haproxy_accepts_the_config(config: Path, tls_pair: tuple[Path, Path], tmp_path: Path) -> None:
    haproxy = debian_tool("haproxy", "haproxy")
    cert, key = tls_pair
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(cert.read_text() + key.read_text())
    text = re.sub(r"/etc/haproxy/certs/\S+\.pem", str(bundle), _read(config))
    (tmp_path / "haproxy.cfg").write_text(text)
    result = subprocess.run([haproxy, "-c", "-q", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit", sorted((DEPLOY / "systemd").glob("*.service")), ids=lambda p: p.name)
def test_systemd_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    env_file = tmp_path / "pyreverb.env"
    env_file.write_text(_read(ENV_EXAMPLE))
    text = _read(unit).replace("/opt/pyreverb/.venv/bin/pyreverb", str(ROOT / "bin" / "pyreverb"))
    text = text.replace("/etc/pyreverb/pyreverb.env", str(env_file)).replace("WorkingDirectory=/opt/pyreverb", f"WorkingDirectory={tmp_path}")
    copy = tmp_path / unit.name
    copy.write_text(text)
    target = copy.with_name(unit.name.replace("@.", "@8080.")) if "@." in unit.name else copy
    result = subprocess.run([analyze, "verify", str(target)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if unit.name.split("@")[0] in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr
