"""Outbound HTTP that can only reach public addresses (no SSRF into the server's own network).

Web Push endpoints come from browsers, that is from anyone; chatapp then POSTs to them. A
check of the URL when it is stored is not enough: DNS may answer differently when the
request is made (rebinding). So the check sits in the network backend: it resolves the host
itself, refuses unless every address is public, and connects to the very address it checked;
the peer of the opened socket is verified once more before any byte is sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

__all__ = ["AddressRefused", "PublicAddressBackend", "is_public_address", "public_only_transport"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(httpcore.ConnectError):
    """The host resolves to a loopback, private, link-local, multicast or reserved address."""


def is_public_address(address: str | IPAddress) -> bool:
    """True for a globally routable unicast address; IPv4 inside IPv6 is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``, without duplicates, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PublicAddressBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to public addresses (unless told otherwise)."""

    def __init__(
        self,
        allow_private: bool = False,
        resolve: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    def _check(self, host: str, address: str) -> None:
        if not self.allow_private and not is_public_address(address):
            raise AddressRefused(f"{host} resolves to {address}, which is not a public address")

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # one bad answer refuses the host: never pick around it
            self._check(host, address)
        error: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            peer = stream.get_extra_info("server_addr")
            try:
                self._check(host, str(peer[0]) if peer else "")
            except (AddressRefused, ValueError):
                await stream.aclose()
                raise AddressRefused(f"{host}: the connected peer {peer!r} is not a public address") from None
            return stream
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("Unix sockets are not reachable from here")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request mapping, error mapping) over a :class:`PublicAddressBackend` pool."""

    def __init__(self, backend: PublicAddressBackend, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def public_only_transport(
    allow_private: bool = False, resolve: Resolver = system_resolver, limits: httpx.Limits | None = None
) -> httpx.AsyncBaseTransport:
    """A transport for ``httpx.AsyncClient(transport=...)``; ``allow_private`` is for local testing only."""
    return _GuardedTransport(PublicAddressBackend(allow_private, resolve), limits or httpx.Limits())
