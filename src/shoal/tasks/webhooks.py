"""Where a callback may go, and the HTTP client that takes it there and nowhere else.

A callback URL is chosen by the caller, so without these checks a task could make the
server POST to its own admin endpoints, a database on the private network or the cloud
metadata service (SSRF). Addresses that are not publicly routable are refused unless an
administrator allowlisted their network (``tasks.callback_allow_networks``; tests allowlist
loopback). The check runs at submission, for a prompt 400, and again inside every
delivery's connect (see delivery.py), on the very addresses the socket then connects to,
so a name re-pointed at an internal address after submission (DNS rebinding) gets nowhere.

``CallbackClient`` is httpcore with a network backend that resolves and vets each host
itself and connects to a vetted IP; the URL keeps its host name, so the Host header, TLS
SNI and certificate check are the name's. It reads no proxy settings from the environment
(a proxy would connect on our behalf, unvetted) and follows no redirects.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpcore
import httpx

from shoal import __version__
from shoal.errors import InvalidRequest

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

MAX_URL_LENGTH = 2048

_RFC1918 = (ip_network("10.0.0.0/8"), ip_network("172.16.0.0/12"), ip_network("192.168.0.0/16"))
_CGNAT = ip_network("100.64.0.0/10")
_ULA = ip_network("fc00::/7")
_NAT64 = ip_network("64:ff9b::/96")
_METADATA = ip_address("169.254.169.254")
_ALLOW_HINT = "an administrator can allow its network with tasks.callback_allow_networks"


class InvalidCallbackUrl(InvalidRequest):
    code = "invalid_callback_url"
    param = "callback_url"


class CallbackBlocked(InvalidCallbackUrl):
    """The host resolves only to addresses a callback may not reach."""


class CallbackUnresolvable(InvalidCallbackUrl):
    """The host does not resolve (now): at submission a 400, at delivery a retry."""


@lru_cache(maxsize=32)
def _parse_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ip_network(cidr, strict=False) for cidr in cidrs)


def allowed_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The allowlist as networks (raises ValueError on a malformed CIDR)."""
    return _parse_networks(tuple(cidrs))


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), which is where it leads."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a callback may not reach ``address`` (ignoring any allowlist), or None when it may."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and (reason := forbidden_reason(embedded)) is not None:
            return f"{reason}, embedded in an IPv6 address"
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d, and that one is public
            return None
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address == _METADATA:
        return "the cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _CGNAT:
        return "a carrier-grade NAT address (100.64.0.0/10)"
    if any(address in network for network in _RFC1918) or address in _ULA:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a special-purpose address that is not publicly routable"
    return None


def _allowlisted(address: IPAddress, allow: Sequence[Network]) -> bool:
    candidates: list[IPAddress] = [address]
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(candidate in network for candidate in candidates for network in allow)


def address_allowed(address: IPAddress, allow: Sequence[Network]) -> str | None:
    """None when a callback may connect to ``address``; else why not."""
    if _allowlisted(address, allow):
        return None
    return forbidden_reason(address)


def _literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_callback_url(url: str, allow_networks: Iterable[str] = ()) -> None:
    """Refuse a callback URL that is malformed or names a forbidden IP address outright.

    Raises InvalidCallbackUrl (an InvalidRequest, param ``callback_url``) saying what to fix.
    A host name is only resolved by ``resolve_safely``.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidCallbackUrl(f"callback_url is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidCallbackUrl("callback_url must not contain spaces or control characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InvalidCallbackUrl(f"callback_url is not a valid URL: {error}") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidCallbackUrl(
            "callback_url must be an absolute http:// or https:// URL, e.g. https://example.com/hooks/shoal"
        )
    if not parsed.host:
        raise InvalidCallbackUrl(
            "callback_url has no host; give an absolute URL such as https://example.com/hook"
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidCallbackUrl(f"callback_url has port {parsed.port}; a port is 1 to 65535")
    if parsed.userinfo:
        raise InvalidCallbackUrl(
            "callback_url must not contain credentials (user:password@); verify callbacks by their "
            "webhook-signature header instead"
        )
    literal = _literal(parsed.host)
    if literal is not None:
        reason = address_allowed(literal, allowed_networks(allow_networks))
        if reason is not None:
            raise CallbackBlocked(
                f"callback_url points at {literal}, {reason}; callbacks must go to a public address "
                f"({_ALLOW_HINT})"
            )


def callback_host_port(url: str) -> tuple[str, int]:
    """The host and port a (checked) callback URL connects to, parsed as the deliverer parses it."""
    parsed = httpx.URL(url)
    return parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)


async def vet_callback_url(url: str, allow_networks: Iterable[str] = ()) -> None:
    """Everything a submission checks: ``check_callback_url``, then ``resolve_safely`` on its host."""
    check_callback_url(url, allow_networks)
    await resolve_safely(*callback_host_port(url), allow_networks)


async def resolve_safely(host: str, port: int, allow_networks: Iterable[str] = ()) -> list[IPAddress]:
    """The addresses of ``host`` that a callback may connect to, in resolver order.

    Addresses that are not publicly routable and not allowlisted are dropped; if none is
    left, raises CallbackBlocked. Raises CallbackUnresolvable when the name does not resolve.
    """
    allow = allowed_networks(allow_networks)
    literal = _literal(host)
    if literal is not None:
        found: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise CallbackUnresolvable(
                f"callback_url host {host!r} does not resolve ({error}); check the host name"
            ) from None
        found = []
        for info in infos:
            address = ip_address(str(info[4][0]).split("%", 1)[0])  # drop an IPv6 zone id
            if address not in found:
                found.append(address)
    usable = [address for address in found if address_allowed(address, allow) is None]
    if not usable:
        reasons = "; ".join(f"{address} is {address_allowed(address, allow)}" for address in found)
        raise CallbackBlocked(
            f"callback_url host {host!r} resolves only to addresses callbacks may not reach ({reasons}); "
            f"use a publicly reachable host ({_ALLOW_HINT})"
        )
    return usable


USER_AGENT = f"Shoal-Webhooks/{__version__}"
_KEEP_BYTES = 1024
"""Of a receiver's answer, only this much is read (for the delivery log)."""


class _VettingBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses ``resolve_safely`` allows, trying each in turn."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self._allow = allow
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,  # noqa: ASYNC109
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        async with asyncio.timeout(timeout):
            addresses = await resolve_safely(host, port, self._allow)
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )  # fmt: skip
            except httpcore.ConnectError as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,  # noqa: ASYNC109
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        raise CallbackBlocked("callbacks do not go to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@dataclass(frozen=True, slots=True)
class CallbackResponse:
    status: int
    headers: dict[str, str]
    """Lower-cased names; a repeated header keeps its last value."""
    text: str
    """The start of the body, for the delivery log."""


class CallbackClient:
    """POSTs callbacks to vetted addresses only. One per deliverer; close it with ``aclose``."""

    def __init__(self, allow_networks: Iterable[str] = (), *, max_connections: int = 50) -> None:
        self.allow_networks = tuple(allow_networks)
        allowed_networks(self.allow_networks)  # a malformed CIDR fails here, not at the first callback
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=_VettingBackend(self.allow_networks),
        )

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, *, timeout_seconds: float
    ) -> CallbackResponse:
        """One POST, redirects not followed, all of it (DNS included) within ``timeout_seconds``.

        Raises InvalidCallbackUrl (CallbackBlocked, CallbackUnresolvable) when the URL or its
        addresses are refused, TimeoutError, or httpcore's transport errors.
        """
        check_callback_url(url, self.allow_networks)
        parsed = httpx.URL(url)  # IDNA-encodes the host, as the check above saw it
        target = httpcore.URL(
            scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
        )
        # The Host header from httpx's netloc: httpcore's own leaves an IPv6 literal unbracketed.
        sent = [("host", parsed.netloc.decode("ascii")), *headers.items()]
        limits = dict.fromkeys(("connect", "read", "write", "pool"), timeout_seconds)
        async with asyncio.timeout(timeout_seconds):
            async with self._pool.stream(
                "POST", target, headers=sent, content=body, extensions={"timeout": limits}
            ) as response:
                kept = b""
                async for chunk in response.aiter_stream():
                    kept += chunk
                    if len(kept) >= _KEEP_BYTES:
                        break
        return CallbackResponse(
            status=response.status,
            headers={
                name.decode("latin-1").lower(): value.decode("latin-1") for name, value in response.headers
            },
            text=kept[:_KEEP_BYTES].decode("utf-8", "replace"),
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
