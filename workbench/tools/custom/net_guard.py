"""The SSRF guard of HTTP tools and MCP-over-HTTP servers: a host may be reached only when
every address it resolves to is public (not loopback, private, link-local, shared,
unspecified, multicast or reserved; IPv4 inside IPv6 is unwrapped first), unless the
workbench's settings name the host in WORKBENCH_TOOL_ALLOWED_HOSTS.

The check runs after DNS resolution and returns the address it checked, so the caller can
connect to exactly that address (http_tool pins it); a second lookup could answer otherwise
(DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from ...errors import WorkbenchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(WorkbenchError):
    default_message = "The tool may not reach that address."


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo client, NAT64)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        if ip.ipv4_mapped:  # the same host as its IPv4 address
            return is_public(inner)
        if not is_public(inner):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified
                                 or ip.is_loopback or ip.is_link_local or ip.is_private)


def _normal(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    return _normal(host) in {_normal(h) for h in allowed_hosts}


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(_normal(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise UnsafeDestination(f"The host {host} could not be resolved ({err.strerror}).") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))
    if not addresses:
        raise UnsafeDestination(f"The host {host} has no address.")
    return addresses


def checked_address(host: str, port: int, allowed_hosts: Iterable[str]) -> IPAddress:
    """The address to connect to for `host`, after the check (raises UnsafeDestination)."""
    addresses = resolve(host, port)
    if host_allowed(host, allowed_hosts):
        return addresses[0]
    refused = [a for a in addresses if not is_public(a)]
    if refused:
        what = host if str(refused[0]) == _normal(host) else f"{host} (which resolves to {refused[0]})"
        raise UnsafeDestination(
            f"Refused to reach {what}: it is a loopback, private, link-local or otherwise non-public "
            "address. An administrator can allow the host with WORKBENCH_TOOL_ALLOWED_HOSTS.")
    return addresses[0]


def check_url(url: str, allowed_hosts: Iterable[str]) -> IPAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination(f"Only http:// and https:// URLs can be reached, not {url[:100]!r}.")
    return checked_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                           allowed_hosts)
