"""``pyreverb start`` and friends: flags map one-to-one onto Settings."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import logging
import os
import signal
import socket
import sys
from collections.abc import Generator
from typing import Any

import click
import uvicorn

from pyreverb import __version__
from pyreverb.config import ConfigError, Settings
from pyreverb.listening import listening_address

__all__ = ["main", "serve"]

LISTEN_BACKLOG = 65_535


class _Node(uvicorn.Server):
    """uvicorn's server, announcing its address and exiting 0 after a drain."""

    def __init__(self, config: uvicorn.Config, banner: str) -> None:
        super().__init__(config)
        self.banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            # Imported modules, the app and its config live as long as the node: move
            # them out of the collector's generations so full collections (which run
            # while connections pile up) do not rescan them and stall the loop.
            gc.collect()
            gc.freeze()
            click.echo(self.banner.format(address=listening_address(self)), err=True)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn re-raises SIGTERM after shutdown (exit status -15); a node that
        # drained cleanly exits 0 instead, so supervisors treat it as a restart.
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(settings: Settings) -> None:
    """Run one node until SIGTERM/SIGINT, then drain (clients get 4200)."""
    from pyreverb.app import create_app
    from pyreverb.http_transport import PusherHttp
    from pyreverb.speedups import load as load_speedups
    from pyreverb.transport import PusherWebSocket

    logging.basicConfig(
        level=logging.INFO if settings.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pyreverb").setLevel(logging.INFO)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http=PusherHttp,
        ws=PusherWebSocket,
        lifespan="on",
        log_level="info" if settings.debug else "warning",
        access_log=settings.debug,
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
        timeout_keep_alive=settings.http_keep_alive,  # type: ignore[arg-type]  # uvicorn accepts a float
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        server_header=False,
        # A reconnect storm arrives faster than any loop accepts: a short accept queue drops
        # SYNs, and those clients wait out TCP's 1, 3, 7 s retransmissions. The kernel
        # caps this at net.core.somaxconn.
        backlog=LISTEN_BACKLOG,
    )
    scheme = "https" if settings.tls_cert else "http"
    trigger_path = "compiled" if load_speedups(settings.speedups) is not None else "pure Python"
    banner = (
        f"pyreverb listening on {scheme}://{{address}}{settings.prefix} "
        f"(apps: {len(settings.apps)}; trigger path: {trigger_path})"
    )
    _Node(config, banner).run()


@click.group()
@click.version_option(__version__, prog_name="pyreverb")
def main() -> None:
    """pyreverb: a Pusher-protocol realtime server (Laravel Reverb compatible)."""


@main.command()
@click.option("--host", default=None, help="Bind address [REVERB_SERVER_HOST, 0.0.0.0]")
@click.option("--port", type=int, default=None, help="Bind port [REVERB_SERVER_PORT, 8080]")
@click.option("--path", default=None, help="Path prefix for every route [REVERB_SERVER_PATH]")
@click.option("--hostname", default=None, help="Public host name (accepted for Reverb compatibility)")
@click.option("--debug", is_flag=True, default=False, help="Log every frame in and out")
@click.option("--redis", "redis_url", default=None, help="Scale over Redis at this URL (enables scaling)")
@click.option("--tls-cert", default=None, help="PEM certificate for wss:// [REVERB_TLS_CERT]")
@click.option("--tls-key", default=None, help="PEM private key [REVERB_TLS_KEY]")
def start(
    host: str | None,
    port: int | None,
    path: str | None,
    hostname: str | None,
    debug: bool,
    redis_url: str | None,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Start a node (the shape of `php artisan reverb:start`)."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    settings = settings.with_overrides(
        host=host,
        port=port,
        path=path,
        debug=debug or None,
        redis_url=redis_url,
        scaling_enabled=True if redis_url else None,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if settings.scaling_enabled and importlib.util.find_spec("redis") is None:
        raise click.UsageError("scaling over Redis needs the redis extra: pip install 'pyreverb[redis]'")
    serve(settings)


def _settings_or_exit() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _node_settings_or_exit() -> Settings:
    """The settings of the node itself (address, path, TLS, scaling): no app credentials needed."""
    try:
        return Settings.from_env(
            {
                **os.environ,
                "REVERB_APP_ID": "-",
                "REVERB_APP_KEY": "-",
                "REVERB_APP_SECRET": "-",
                "PYREVERB_APPS_FILE": "",
            }
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
def restart() -> None:
    """Ask every running node to drain (4200 to clients) and exit 0, as `reverb:restart` does.

    Run nodes under a supervisor (systemd, supervisord) so they start again.
    """
    from pyreverb.restart import RestartError, request_restart

    settings = _node_settings_or_exit()
    try:
        places = request_restart(settings)
    except RestartError as exc:
        raise click.ClickException(str(exc)) from exc
    for where in places:
        click.echo(f"restart requested via {where}; nodes drain within ~1 s")


@main.command()
@click.option("--timeout", type=float, default=3.0, help="Seconds to wait for the answer")
def health(timeout: float) -> None:
    """Exit 0 when the node on this machine answers `{path}/up` with 200 (a container health check).

    The address, path prefix and scheme come from the same settings `pyreverb start` reads
    (REVERB_SERVER_PORT, REVERB_SERVER_PATH, REVERB_TLS_CERT). The certificate is not
    verified: it names the public host, and the probe goes over the loopback.
    """
    import httpx

    settings = _node_settings_or_exit()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "", "::", "localhost") else settings.host
    host = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.tls_cert else "http"
    url = f"{scheme}://{host}:{settings.port}{settings.prefix}/up"
    try:
        response = httpx.get(url, timeout=timeout, verify=False)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"{url}: {exc}") from exc
    if response.status_code != 200:
        raise click.ClickException(f"{url} answered {response.status_code}: {response.text}")
    click.echo(f"{url}: {response.text}")


@main.command()
@click.option("--host", default="127.0.0.1", help="Node to ask")
@click.option("--port", type=int, default=None, help="Its port [REVERB_SERVER_PORT, 8080]")
@click.option("--interval", type=float, default=1.0, help="Seconds between the two samples")
@click.option("--tls", is_flag=True, default=False, help="The node serves https (REVERB_TLS_CERT)")
@click.option("--insecure", is_flag=True, default=False, help="With --tls: do not verify the certificate")
def status(host: str, port: int | None, interval: float, tls: bool, insecure: bool) -> None:
    """Print connections, channels and messages per second of a running node."""
    import time

    import httpx

    from pyreverb.protocol.auth import sign_request

    settings = _settings_or_exit()
    app = settings.apps[0]
    port = port or settings.port
    path = f"{settings.prefix}/apps/{app.app_id}/status"
    scheme = "https" if tls or settings.tls_cert else "http"

    def sample() -> dict[str, Any]:
        params = {"auth_key": app.key, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
        params["auth_signature"] = sign_request(app.secret, "GET", path, params)
        try:
            response = httpx.get(f"{scheme}://{host}:{port}{path}", params=params, timeout=5, verify=not insecure)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach a node at {host}:{port}: {exc}") from exc
        if response.status_code != 200:
            raise click.ClickException(f"node answered {response.status_code}: {response.text}")
        doc: dict[str, Any] = response.json()
        return doc

    first = sample()
    time.sleep(interval)
    second = sample()

    def rate(key: str) -> float:
        return (float(second[key]) - float(first[key])) / interval

    bus_state = "ok" if second["backend_healthy"] else "DEGRADED"
    click.echo(f"node {second['node_id']} up {second['uptime_seconds']}s  bus {bus_state}")
    click.echo(f"connections        {second['connections']} (app {app.app_id}: {second['app_connections']})")
    click.echo(f"channels           {second['app_channels']}")
    click.echo(f"messages in/s      {rate('messages_in'):.1f}")
    click.echo(f"messages out/s     {rate('messages_out'):.1f}")
    click.echo(f"api messages/s     {rate('api_messages'):.1f}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
