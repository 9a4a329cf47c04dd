"""URL safety: refuse URLs that would make the daemon reach into its own network (SSRF).

Sources and the links found in them come from the outside world, so a feed could point us at
``http://169.254.169.254/`` (cloud metadata), ``http://localhost:8080/admin`` or a LAN printer. Every URL,
and every redirect hop, is checked here before it is fetched: only http(s), no credentials, and every
address the host resolves to must be public. ``allow_private`` (a source's ``allow_private`` or
``SCRAPER_ALLOW_PRIVATE_NETWORKS``) lets private and loopback addresses through, for intranets and tests.

The check resolves DNS itself, so a name that resolves to a private address is refused even though the
URL looks public. Between this check and the connection a hostile DNS server could change its answer
(rebinding); the fetcher therefore also checks the peer address of the connection it actually used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from scraper.errors import DNSError, UnsafeURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64 well-known prefix: 64:ff9b::a.b.c.d reaches IPv4 a.b.c.d through a translator.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), which is what is reached."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address. ``is_global`` alone lets multicast through."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return is_public_address(inner)
    return ip.is_global and not ip.is_multicast and not ip.is_reserved and not ip.is_unspecified


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
    except ValueError:
        return None


def check_url_syntax(url: str) -> str:
    """Scheme, credentials and host checks that need no network. Returns the host name."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL {url!r}: {exc}", url) from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeURL(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}: {url}", url)
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL would be sent to whoever the URL (or a redirect) names, and logged.
        raise UnsafeURL(f"URL carries credentials: {parts.scheme}://...@{parts.hostname}", url)
    if not parts.hostname:
        raise UnsafeURL(f"URL has no host: {url!r}", url)
    return parts.hostname


async def resolve_host(host: str, port: int, url: str) -> list[IPAddress]:
    """All addresses ``host`` resolves to, through the event loop's resolver (non-blocking)."""
    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DNSError(f"cannot resolve {host}: {exc.strerror or exc}", url) from exc
    except UnicodeError as exc:
        raise UnsafeURL(f"invalid host name {host!r}: {exc}", url) from exc
    out: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = _parse_ip(str(sockaddr[0]))
        if ip is not None:
            out.append(ip)
    if not out:
        raise DNSError(f"cannot resolve {host}: no addresses", url)
    return out


async def check_url_safe(url: str, allow_private: bool) -> None:
    """Raise UnsafeURL unless ``url`` is http(s), carries no credentials and, unless ``allow_private``,
    resolves only to public addresses. A name that does not resolve raises DNSError."""
    host = check_url_syntax(url)
    if allow_private:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    # getaddrinfo also turns "2130706433", "0x7f.1" and "127.1" into 127.0.0.1, so the check below
    # sees what the connection would reach, not what the string looks like.
    for ip in await resolve_host(host, port, url):
        if not is_public_address(ip):
            what = f"address {ip}" if str(ip) == host else f"{host} resolves to {ip}, which"
            raise UnsafeURL(f"{what} is not a public address; refused (allow_private is off): {url}", url)


def check_peer_address(peer: str | None, url: str, allow_private: bool) -> None:
    """Refuse a connection whose remote address is not public (DNS rebinding after check_url_safe)."""
    if allow_private or peer is None:
        return
    ip = _parse_ip(peer)
    if ip is not None and not is_public_address(ip):
        raise UnsafeURL(f"connected to non-public address {ip} for {url}; refused", url)
