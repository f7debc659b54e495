"""Where a module may send an account's API key: public hosts only (or an allow-list).

The register request names the account (``systemUrl``) the module then calls
with the ``apiKey`` it received. The request is signed with the module's
secret, but a module must still never post a key to a machine of its own
network: the loopback, private ranges, link-local addresses (the cloud
metadata service at 169.254.169.254), or a name that resolves to one of them.

- :func:`host_problem` is the check on the host as written: an IP literal in
  any spelling the C library accepts (``127.1``, ``2130706433``, ``0x7f.1``,
  ``::ffff:127.0.0.1``, 6to4 and NAT64 forms) must be global; names such as
  ``localhost``, ``*.internal``, ``*.local`` or any name without a dot are
  refused; an allow-list (``*.retailcrm.ru``), when given, must match.
- :func:`resolved_problem` resolves the name and refuses it when any address
  it resolves to is not global (the check a ``systemUrl`` of
  ``https://127.0.0.1.nip.io`` needs). A resolver that re-answers differently
  at connect time (DNS rebinding) is beyond this check: pass an allow-list of
  the CRM's own domains to close that door too.

Loopback (never private ranges) is let through only when the caller allows
plain http for a local sandbox.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

__all__ = ["Resolver", "host_problem", "resolved_problem", "system_resolver"]

#: ``(host, port) -> the IP addresses it resolves to``.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_LOCAL_NAMES = ("localhost", "metadata", "metadata.google.internal")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _as_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" not in host:
        try:  # the legacy spellings browsers and libc accept: 127.1, 2130706433, 0x7f.1
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    return None


def _embedded(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _is_public(ip: IPAddress) -> bool:
    ip = _embedded(ip)
    return ip.is_global and not ip.is_multicast


def _is_loopback(ip: IPAddress) -> bool:
    return _embedded(ip).is_loopback


def host_problem(
    host: str, *, allowed_hosts: Sequence[str] | None = None, allow_loopback: bool = False
) -> str | None:
    """Why the module must not send a key to ``host`` as written; None when it may."""
    name = host.strip("[]").rstrip(".").lower()
    if allowed_hosts is not None:
        if any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in allowed_hosts):
            return None
        return "the host is not in the module's allowed_hosts"
    ip = _as_ip(name)
    if ip is not None:
        if allow_loopback and _is_loopback(ip):
            return None
        if not _is_public(ip):
            return "the host is a loopback, private, link-local or reserved address"
        return None
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        if allow_loopback and (name == "localhost" or name.endswith(".localhost")):
            return None
        return "the host is a local name"
    if "." not in name:
        return "the host is a single-label (intranet) name"
    return None


async def resolved_problem(
    host: str, port: int, resolve: Resolver, *, allow_loopback: bool = False
) -> str | None:
    """Why ``host`` must not be called, judged by the addresses it resolves to."""
    name = host.strip("[]")
    if _as_ip(name) is not None:
        return None  # judged as written by host_problem
    try:
        addresses = await resolve(name, port)
    except OSError:
        return "the host name cannot be resolved"
    if not addresses:
        return "the host name cannot be resolved"
    for address in addresses:
        ip = _as_ip(address.split("%", 1)[0])
        if ip is None:
            return "the host name resolves to an unreadable address"
        if allow_loopback and _is_loopback(ip):
            continue
        if not _is_public(ip):
            return "the host name resolves to a loopback, private or link-local address"
    return None


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The addresses the system resolver gives for ``host`` (as a connection would use)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]
