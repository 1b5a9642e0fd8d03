"""Socket-free pieces of chatapp: SQL placeholders, migrations, identity, sniffing, limits, config."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatapp.auth import _DUMMY_HASH, Passwords, Tokens
from chatapp.broadcasting import fit_text
from chatapp.config import ConfigError, RateLimit, Settings
from chatapp.db import sqlite_path, to_dollar_placeholders
from chatapp.errors import Unauthorized
from chatapp.identity import LEEWAY_SECONDS, IdentityError, sign_identity_token, verify_identity_token
from chatapp.openapi import build_openapi
from chatapp.routes import ENDPOINTS, starlette_routes
from chatapp.schema import load_migrations, render
from chatapp.uploads import UploadStore, clean_filename, sniff

SECRET = "a-long-enough-shared-secret"


def test_placeholders_skip_quoted_text() -> None:
    sql = "SELECT '?', \"a?\" FROM t WHERE a = ? AND b LIKE ? ESCAPE '\\' AND c = 'it''s ?' AND d = ?"
    assert to_dollar_placeholders(sql) == (
        "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b LIKE $2 ESCAPE '\\' AND c = 'it''s ?' AND d = $3"
    )


def test_sqlite_urls() -> None:
    assert sqlite_path("sqlite:///var/chat.db") == "var/chat.db"
    assert sqlite_path("sqlite:////srv/chat.db") == "/srv/chat.db"
    with pytest.raises(ValueError):
        sqlite_path("sqlite://relative.db")


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_migrations_render_for_each_database(dialect: str) -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    statements = render(migrations[0].sql, dialect)  # type: ignore[arg-type]
    text = "\n".join(statements)
    assert "{{" not in text and "--" not in text
    for table in ("support_chat_rooms", "support_chat_messages", "chat_typing_indicators", "users"):
        assert f"CREATE TABLE {table}" in text
    assert ("TIMESTAMPTZ" in text) == (dialect == "postgres")


def test_identity_round_trip_and_tampering() -> None:
    now = time.time()
    token = sign_identity_token(SECRET, {"sub": 42, "name": "Ada", "email": "ada@example.com", "exp": now + 60})
    who = verify_identity_token(token, SECRET, max_age=3600)
    assert (who.subject, who.name, who.email) == ("42", "Ada", "ada@example.com")
    header, payload, signature = token.split(".")
    forged_claims = orjson.dumps({"sub": "1", "exp": now + 60})
    forged = base64.urlsafe_b64encode(forged_claims).rstrip(b"=").decode()
    with pytest.raises(IdentityError, match="signature"):
        verify_identity_token(f"{header}.{forged}.{signature}", SECRET, 3600)
    with pytest.raises(IdentityError, match="future"):
        verify_identity_token(sign_identity_token(SECRET, {"sub": "1", "iat": now + 600, "exp": now + 700}),
                              SECRET, 3600)
    late = sign_identity_token(SECRET, {"sub": "1", "exp": now - LEEWAY_SECONDS // 2})
    assert verify_identity_token(late, SECRET, 3600).subject == "1", "clock skew within the leeway is forgiven"
    pinned = sign_identity_token(SECRET, {"sub": "1", "exp": now + 60, "aud": ["chat", "other"], "iss": "shop"})
    assert verify_identity_token(pinned, SECRET, 3600, audience="chat", issuer="shop").subject == "1"
    with pytest.raises(IdentityError, match="'aud' claim"):
        verify_identity_token(sign_identity_token(SECRET, {"sub": "1", "exp": now + 60}), SECRET, 3600,
                              audience="chat")


@given(st.text(max_size=300))
def test_identity_never_raises_anything_else(garbage: str) -> None:
    try:
        verify_identity_token(garbage, SECRET, 3600)
    except IdentityError:
        pass


def test_sniffing_decides_by_content() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff(b"GIF89a") == "image/gif"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"%PDF-1.4") == "application/pdf"
    assert sniff("plain ünïcode text\n".encode()) == "text/plain"
    assert sniff(b"\xef\xbb\xbf  <svg onload=alert(1)>") is None
    assert sniff(b"MZ\x90\x00") is None
    assert sniff(b"text with \x1b escape") is None
    # A multi-byte character cut by the sniffing window is still text.
    assert sniff(("a" * 8190 + "ї").encode()[:8192]) == "text/plain"


def test_upload_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\me\\photo.png") == "photo.png"
    assert clean_filename("\x00\x1f...") == "file"
    store = UploadStore(tmp_path, 100)
    saved = asyncio.run(store.save(io.BytesIO(b"\x89PNG\r\n\x1a\n"), "x.png"))
    assert (tmp_path / saved.stored_name).read_bytes() == b"\x89PNG\r\n\x1a\n"
    assert asyncio.run(store.open("../" + saved.stored_name)) is None


def test_tokens_are_opaque_and_resist_tampering() -> None:
    tokens = Tokens("secret-key-of-enough-length", max_ttl=100)
    token, issued = tokens.issue()
    claims = tokens.verify(token)
    assert claims.session_id == issued.session_id == hashlib.sha256(token.encode()).hexdigest()
    assert claims.legacy_user_id is None and tokens.issue()[0] != token, "every token is new and random"
    assert abs((datetime.now(timezone.utc) - claims.signed_at).total_seconds()) < 5
    with pytest.raises(Unauthorized):
        tokens.verify(token[:-2] + "xx")
    with pytest.raises(Unauthorized):
        Tokens("another-secret-of-enough-length", 100).verify(token)


def test_a_checked_token_is_remembered_but_still_ages(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify() checks a token's signature once; later uses skip the HMAC but not the age limit."""
    tokens = Tokens("secret-key-of-enough-length", max_ttl=1)
    token, issued = tokens.issue()
    assert tokens.verify(token).session_id == issued.session_id

    def no_second_check(*args: object, **kwargs: object) -> object:
        raise AssertionError("the signature was checked again")

    monkeypatch.setattr(tokens._serializer, "loads", no_second_check)
    assert tokens.verify(token).session_id == issued.session_id
    with pytest.raises(AssertionError):  # a token never seen is checked, and a forged one never kept
        tokens.verify(token[:-2] + "xx")
    monkeypatch.undo()
    time.sleep(2.2)
    with pytest.raises(Unauthorized) as expired:
        tokens.verify(token)
    assert expired.value.code == "token_expired"
    with pytest.raises(Unauthorized):  # forgotten when it expired: checked (and refused) again
        tokens.verify(token)


def test_remembered_tokens_are_bounded() -> None:
    tokens = Tokens("secret-key-of-enough-length", max_ttl=100)
    tokens.VERIFIED_KEPT = 2
    issued = [tokens.issue() for _ in range(3)]
    for token, claims in issued * 2:
        assert tokens.verify(token).session_id == claims.session_id
    assert len(tokens._verified) == 2


def test_fit_text_respects_the_byte_budget() -> None:
    text, cut = fit_text('"ї"' * 3000, 5000)
    assert cut and len(orjson.dumps(text)) <= 5000 and ('"ї"' * 3000).startswith(text)
    assert fit_text("short", 100) == ("short", False)


def test_settings_from_env() -> None:
    s = Settings.from_env({"REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s",
                           "REVERB_PORT": "9000", "CHATAPP_RATE_MESSAGES": "5/2"})
    assert s.reverb_configured and s.reverb_base_url == "http://127.0.0.1:9000"
    assert s.rate_messages == RateLimit(5, 2.0) and s.max_message_length == 5000
    for bad in ({"REVERB_APP_ID": "1"}, {"CHATAPP_RATE_MESSAGES": "lots"}, {"DATABASE_URL": "mysql://x"},
                {"CHATAPP_ALLOW_GUESTS": "maybe"}, {"REVERB_SCHEME": "ftp"}, {"CHATAPP_SECRET_KEY": "short"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)


def test_registration_is_off_by_default_with_host_site_identity() -> None:
    assert Settings.from_env({}).allow_registration is True
    assert Settings.from_env({"CHATAPP_IDENTITY_SECRET": SECRET}).allow_registration is False
    assert Settings.from_env({"CHATAPP_IDENTITY_SECRET": SECRET, "CHATAPP_ALLOW_REGISTRATION": ""}).allow_registration is False
    assert Settings.from_env({"CHATAPP_IDENTITY_SECRET": SECRET, "CHATAPP_ALLOW_REGISTRATION": "yes"}).allow_registration
    assert not Settings.from_env({"CHATAPP_ALLOW_REGISTRATION": "false"}).allow_registration


def test_trusted_proxies_are_checked_addresses() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    s = Settings.from_env({"CHATAPP_TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8,::1 ,192.168.1.7/32"})
    assert s.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1", "192.168.1.7")
    with pytest.raises(ConfigError, match="CHATAPP_TRUSTED_PROXIES.*nginx"):
        Settings.from_env({"CHATAPP_TRUSTED_PROXIES": "127.0.0.1,nginx"})


def test_openapi_and_routes_come_from_one_table() -> None:
    doc = build_openapi()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {(e.method, e.path) for e in ENDPOINTS}
    assert documented == served
    assert len(starlette_routes()) == len(ENDPOINTS)
    refs = orjson.dumps(doc).decode().split('"$ref":"#/components/schemas/')[1:]
    names = {r.split('"', 1)[0] for r in refs}
    assert names <= set(doc["components"]["schemas"]), "every $ref resolves"


def test_the_example_env_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "chatapp.env.example"
    env = {}
    for line in example.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    settings = Settings.from_env(env)
    assert settings.max_message_length == 5000 and settings.max_upload_bytes == 10 * 1024 * 1024
    assert settings.reverb_configured and settings.push_allow_insecure is False


def test_the_unknown_accounts_hash_costs_what_a_real_one_does() -> None:
    """Login spends the same argon2 work on an unknown account: its stand-in hash must carry the
    parameters new hashes get, and fail every password."""
    from argon2 import PasswordHasher, extract_parameters

    assert extract_parameters(_DUMMY_HASH) == extract_parameters(PasswordHasher().hash("x"))
    passwords = Passwords()
    assert asyncio.run(passwords.verify(None, "not-a-real-password")) is False
    assert asyncio.run(passwords.verify(_DUMMY_HASH, "anything")) is False
