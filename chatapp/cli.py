"""``chatapp migrate | create-admin | deactivate | serve | identity-token``; settings come from env."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from chatapp.config import ConfigError, Settings
from pyreverb import __version__  # chatapp ships in the pyreverb distribution

if TYPE_CHECKING:
    from chatapp.db import Database

__all__ = ["main"]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(__version__, prog_name="chatapp")
def main() -> None:
    """chatapp: the live support chat, publishing through pyreverb."""


@main.command()
def migrate() -> None:
    """Apply pending database migrations (the brief's `php artisan migrate`)."""
    from chatapp.db import connect
    from chatapp.schema import migrate as run_migrations

    settings = _settings()

    async def run() -> list[str]:
        db = await connect(settings.database_url)
        try:
            return [f"{m.version:03d}_{m.name}" for m in await run_migrations(db)]
        finally:
            await db.close()

    applied = asyncio.run(run())
    click.echo(f"applied: {', '.join(applied)}" if applied else "nothing to migrate")


async def _revoke_all(db: Database, settings: Settings, user_id: int, **changes: Any) -> int:
    """Change an account's access through the one function that revokes its tokens and ends its sockets."""
    from chatapp.broadcasting import Broadcaster
    from chatapp.sessions import revoke_all

    broadcaster = Broadcaster(settings)
    await broadcaster.start()
    try:
        return await revoke_all(db, broadcaster, user_id, **changes)
    finally:
        await broadcaster.stop()


@main.command("create-admin")
@click.option("--email", required=True, help="Sign-in e-mail of the support admin.")
@click.option("--name", default=None, help="Shown to visitors (default: the e-mail's local part).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters.")
@click.option("--role", type=click.Choice(["owner", "admin", "agent"]), default=None,
              help="The role in the team (default: owner while the team has none, else admin; kept on an update).")
def create_admin(email: str, name: str | None, password: str, role: str | None) -> None:
    """Create a support admin, or make the admin (or site user) with this e-mail an admin with this password.

    The first account is the team's owner; later ones are admins unless ``--role`` says
    otherwise (the rest of the team is invited from the panel). A customer who signed up
    with the address is not promoted: their address is unverified.
    """
    from chatapp import repository as repo
    from chatapp.auth import Passwords, validate_email, validate_name, validate_password
    from chatapp.db import connect
    from chatapp.errors import ChatError
    from chatapp.schema import pending

    settings = _settings()
    try:
        email = validate_email(email)
        password = validate_password(password)
        name = validate_name(name, default=email.split("@")[0])
    except ChatError as exc:
        raise click.ClickException(exc.message) from None

    async def run() -> str:
        db = await connect(settings.database_url)
        try:
            if await pending(db):
                raise click.ClickException("database schema is behind: run `chatapp migrate` first")
            password_hash = await Passwords().hash(password)
            # Only an account whose address is proven may become an admin: anyone can sign up
            # with this address, unverified, and must not be promoted by it.
            user = await repo.get_verified_user_by_email(db, email)
            staff_role = role or ("admin" if await repo.has_owner(db) else "owner")
            if user:
                revoked = await _revoke_all(db, settings, user.id, role="admin", password_hash=password_hash)
                if role is not None or not user.is_admin:
                    await repo.set_staff_role(db, user.id, staff_role)
                found = await repo.get_user(db, user.id)
                assert found is not None
                return (f"updated: {email} (id {user.id}) is an admin; {revoked} sessions signed out; "
                        f"role {found.team_role}")
            user = await repo.create_user(db, role="admin", name=name, email=email, password_hash=password_hash,
                                          email_verified=True, staff_role=staff_role)
            return f"created admin {email} (id {user.id}, {staff_role})"
        finally:
            await db.close()

    click.echo(asyncio.run(run()))


@main.command()
@click.option("--email", required=True, help="Sign-in e-mail of the account.")
@click.option("--reactivate", is_flag=True, help="Let a deactivated account sign in again.")
def deactivate(email: str, reactivate: bool) -> None:
    """Stop an account from signing in (its conversations stay); every session of it ends now."""
    from chatapp import repository as repo
    from chatapp.db import connect

    settings = _settings()

    async def run() -> str:
        db = await connect(settings.database_url)
        try:
            found = await repo.get_login(db, email.strip().lower())
            if not found:
                raise click.ClickException(f"no account signs in with {email}")
            user = found[0]
            revoked = await _revoke_all(db, settings, user.id, deactivated=not reactivate)
            state = "reactivated" if reactivate else "deactivated"
            return f"{state}: {user.email} (id {user.id}); {revoked} sessions signed out"
        finally:
            await db.close()

    click.echo(asyncio.run(run()))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--migrate", "run_migrations", is_flag=True, help="Apply pending migrations before starting.")
@click.option("--workers", default=1, show_default=True, type=int, help="Processes (PostgreSQL only).")
def serve(host: str, port: int, run_migrations: bool, workers: int) -> None:
    """Run the HTTP API until SIGTERM/SIGINT."""
    import uvicorn

    from chatapp.db import connect
    from chatapp.schema import migrate as apply
    from chatapp.schema import pending
    from pyreverb.listening import listening_address

    settings = _settings()
    logging.basicConfig(
        level=logging.DEBUG if settings.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise click.ClickException("--workers > 1 needs PostgreSQL (DATABASE_URL=postgresql://...)")

    async def check() -> list[str]:
        db = await connect(settings.database_url)
        try:
            if run_migrations:
                await apply(db)
            return [f"{m.version:03d}_{m.name}" for m in await pending(db)]
        finally:
            await db.close()

    missing = asyncio.run(check())
    if missing:
        raise click.ClickException(f"database schema is behind ({', '.join(missing)}): run `chatapp migrate`")
    if not settings.reverb_configured:
        click.echo("warning: REVERB_APP_ID/KEY/SECRET not set: realtime events are disabled", err=True)
    # X-Forwarded-For is the app's decision (CHATAPP_TRUSTED_PROXIES), never uvicorn's loopback default.
    common = dict(host=host, port=port, lifespan="on", proxy_headers=False, server_header=False,
                  log_level="info" if settings.debug else "warning")
    if workers > 1:
        uvicorn.run("chatapp.app:create_served_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]
        return
    started = time.monotonic()
    server = uvicorn.Server(uvicorn.Config("chatapp.app:create_served_app", factory=True, **common))  # type: ignore[arg-type]
    original = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets=sockets)
        if server.started:
            address = listening_address(server)
            click.echo(f"chatapp listening on http://{address} ({time.monotonic() - started:.2f}s)", err=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    sys.exit(0 if server.started else 3)


@main.command("prune-guests")
@click.option("--days", default=30, show_default=True, type=int, help="Keep guests younger than this.")
def prune_guests(days: int) -> None:
    """Delete guest visitors who never started a chat, and sessions that ended (run daily from cron)."""
    from datetime import timedelta

    from chatapp import repository as repo
    from chatapp.db import connect, utcnow

    settings = _settings()

    async def run() -> tuple[int, int]:
        db = await connect(settings.database_url)
        try:
            cutoff = utcnow() - timedelta(days=max(0, days))
            return await repo.delete_idle_guests(db, cutoff), await repo.delete_dead_sessions(db, cutoff)
        finally:
            await db.close()

    guests, sessions = asyncio.run(run())
    click.echo(f"deleted {guests} idle guests")
    click.echo(f"forgot {sessions} ended sessions")


@main.command("identity-token")
@click.option("--sub", required=True, help="The site's user id.")
@click.option("--name", default=None)
@click.option("--email", default=None)
@click.option("--ttl", default=3600, show_default=True, type=int, help="Seconds until the token expires.")
def identity_token(sub: str, name: str | None, email: str | None, ttl: int) -> None:
    """Sign a host-site identity token with CHATAPP_IDENTITY_SECRET (for trying the widget)."""
    from chatapp.identity import sign_identity_token

    settings = _settings()
    if not settings.identity_secret:
        raise click.ClickException("set CHATAPP_IDENTITY_SECRET first")
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "iat": now, "exp": now + ttl}
    if name:
        claims["name"] = name
    if email:
        claims["email"] = email
    click.echo(sign_identity_token(settings.identity_secret, claims))
