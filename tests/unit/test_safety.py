"""URL safety (SSRF) table tests. IP literals and numeric host forms resolve without a network."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from scraper.errors import DNSError, UnsafeURL
from scraper.fetch.safety import check_peer_address, check_url_safe, is_public_address

NON_PUBLIC = [
    "http://127.0.0.1/",
    "http://127.1/",  # short form: getaddrinfo expands it
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f.0.0.1/",  # hex octet
    "http://localhost:8080/admin",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0/",
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:10.0.0.1]/",
    "http://[2002:7f00:1::1]/",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "https://127.0.0.1:8443/feed",
]

PUBLIC = [
    "http://8.8.8.8/",
    "https://1.1.1.1:443/dns-query",
    "http://[2001:4860:4860::8888]/",
    "http://[2002:808:808::1]/",  # 6to4 around a public address
]

ALWAYS_REFUSED = [
    "ftp://8.8.8.8/file",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "gopher://8.8.8.8:70/",
    "http://user:pass@8.8.8.8/",
    "http://user@8.8.8.8/",
    "http:///no-host",
    "http://8.8.8.8:99999/",  # port out of range
    "//8.8.8.8/no-scheme",
]


def check(url: str, allow_private: bool) -> None:
    asyncio.run(check_url_safe(url, allow_private))


@pytest.mark.parametrize("url", NON_PUBLIC)
def test_non_public_refused(url: str) -> None:
    with pytest.raises(UnsafeURL, match="not a public address"):
        check(url, allow_private=False)


@pytest.mark.parametrize("url", NON_PUBLIC)
def test_non_public_allowed_when_private_allowed(url: str) -> None:
    check(url, allow_private=True)


@pytest.mark.parametrize("url", PUBLIC)
def test_public_literals_pass(url: str) -> None:
    check(url, allow_private=False)


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_scheme_credentials_and_syntax_refused_always(url: str, allow_private: bool) -> None:
    with pytest.raises(UnsafeURL):
        check(url, allow_private)


def test_unresolvable_host_is_dns_error() -> None:
    with pytest.raises(DNSError, match=r"cannot resolve no-such-host\.invalid"):
        check("http://no-such-host.invalid/", allow_private=False)


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2606:4700::1111", True), ("224.0.0.251", False), ("198.18.0.1", False),
    ("192.0.2.1", False), ("::ffff:8.8.8.8", True), ("::ffff:192.168.0.1", False),
    ("2001::1", False),  # Teredo prefix itself is not global
])
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(("peer", "allow", "refused"), [
    ("127.0.0.1", False, True), ("10.0.0.5", False, True), ("8.8.8.8", False, False),
    ("127.0.0.1", True, False), (None, False, False),
])
def test_check_peer_address(peer: str | None, allow: bool, refused: bool) -> None:
    if refused:
        with pytest.raises(UnsafeURL, match="connected to non-public address"):
            check_peer_address(peer, "http://example.com/", allow)
    else:
        check_peer_address(peer, "http://example.com/", allow)
