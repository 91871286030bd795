"""Where our servers may send a request on a merchant's behalf (SSRF guard).

A merchant's webhook URL must be https and resolve only to public addresses:
never private, loopback, link-local (the 169.254.169.254 metadata service
included), carrier-grade NAT, multicast or reserved ones. Plain-http loopback
URLs are allowed only where the stage allows them (dev), for local testing.
The check runs when the URL is saved and again right before every delivery, and the
delivery connects to the very address that check approved (the name is not looked up
again), so a name that resolves somewhere private a moment later (DNS rebinding) never
receives our request.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class BlockedDestination(ValueError):
    pass


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_link_local)


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise BlockedDestination(f"{host} does not resolve") from e
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_url(url: str, allow_loopback_http: bool) -> list[Address]:
    """The addresses ``url``'s host resolved to, all allowed; BlockedDestination otherwise.

    A request must then connect to one of these (``webhooks.send`` does): resolving the
    name again would let it answer differently (DNS rebinding) after the check.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if not host or parts.username or parts.password:
        raise BlockedDestination("the URL needs a host and no user info")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise BlockedDestination("the URL has an invalid port") from e
    addresses = resolve(host, port)
    loopback_only = all(a.is_loopback for a in addresses)
    if allow_loopback_http and loopback_only and parts.scheme in ("http", "https"):
        return addresses
    if parts.scheme != "https":
        raise BlockedDestination("the URL must be https")
    blocked = [str(a) for a in addresses if not _is_public(a)]
    if blocked:
        raise BlockedDestination(f"{host} resolves to a non-public address")
    return addresses
