"""``pyreverb start`` and friends: flags map one-to-one onto Settings."""

from __future__ import annotations

import logging
import os
import sys

import click
import uvicorn

from pyreverb.config import ConfigError, Settings

__all__ = ["main", "serve"]


def serve(settings: Settings) -> None:
    """Run one node until SIGTERM/SIGINT, then drain (clients get 4200)."""
    from pyreverb.app import create_app
    from pyreverb.transport import PusherWebSocket

    logging.basicConfig(
        level=logging.INFO if settings.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pyreverb").setLevel(logging.INFO)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws=PusherWebSocket,
        lifespan="on",
        log_level="info" if settings.debug else "warning",
        access_log=settings.debug,
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        server_header=False,
    )
    server = uvicorn.Server(config)
    scheme = "https" if settings.tls_cert else "http"
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host

    @contextlib_started(server)
    def _announce() -> None:
        port = _bound_port(server) or settings.port
        click.echo(f"pyreverb listening on {scheme}://{shown_host}:{port}{settings.prefix} (apps: {len(settings.apps)})", err=True)

    server.run()


def contextlib_started(server: uvicorn.Server):  # type: ignore[no-untyped-def]
    """Print once uvicorn is listening (so a parent process can wait on it)."""

    def decorator(fn):  # type: ignore[no-untyped-def]
        original = server.startup

        async def startup(sockets=None):  # type: ignore[no-untyped-def]
            await original(sockets=sockets)
            if server.started:
                fn()

        server.startup = startup  # type: ignore[method-assign]
        return fn

    return decorator


def _bound_port(server: uvicorn.Server) -> int | None:
    for s in getattr(server, "servers", []):
        for sock in s.sockets:
            return int(sock.getsockname()[1])
    return None


@click.group()
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
    serve(settings)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
