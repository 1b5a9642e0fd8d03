"""Which Web Push endpoints chatapp will store and post to.

Browsers only ever hand out endpoints of their vendor's push service, so by default only
those hosts are accepted (``CHATAPP_PUSH_HOSTS`` changes the list). An endpoint whose host
is an IP address must be a public one; a host name is resolved and checked again when
chatapp connects (:mod:`chatapp.egress`), since DNS can change after registration.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from chatapp.config import Settings
from chatapp.egress import is_public_address
from chatapp.errors import ChatError

__all__ = ["EndpointRefused", "check_endpoint", "host_allowed"]


class EndpointRefused(ChatError):  # noqa: N818 (an answer, like the HTTP errors in chatapp.errors)
    status = 400
    code = "push_endpoint_refused"


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """``host`` equals a pattern, or a ``*.example.com`` pattern covers it (subdomains only)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def check_endpoint(url: object, settings: Settings) -> str:
    """``url`` when chatapp may post to it, else :class:`EndpointRefused` naming the field."""
    if not isinstance(url, str) or len(url) > 2000:
        raise EndpointRefused("'endpoint' must be the push service URL (at most 2000 characters)", field="endpoint")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise EndpointRefused("'endpoint' is not a valid URL", field="endpoint") from None
    insecure_ok = settings.push_allow_insecure and parts.scheme == "http"
    if not (parts.scheme == "https" or insecure_ok) or not host:
        raise EndpointRefused("'endpoint' must be an https:// push service URL", field="endpoint")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("'endpoint' must not carry a user name or password", field="endpoint")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not settings.push_allow_private_addresses and not is_public_address(literal):
        raise EndpointRefused(f"'endpoint' points at {host}, which is not a public address", field="endpoint")
    if not host_allowed(host, settings.push_hosts):
        allowed = ", ".join(settings.push_hosts)
        raise EndpointRefused(f"'endpoint' must be on a known push service ({allowed}); {host} is not",
                              field="endpoint")
    return url
