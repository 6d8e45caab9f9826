"""Find the addresses other machines can use to reach this one.

Only local look-ups: the host name's addresses, and each network
interface's IPv4 address (interfaces.py).  No packet is sent anywhere.
"""

import ipaddress
import socket

from .interfaces import local_interfaces


def _interface_addresses():
    """Return the IPv4 address of each network interface (interfaces.py asks the system)."""
    return [interface.address for interface in local_interfaces()]


def _host_name_addresses():
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [info[4][0] for info in infos]


def host_port(host, port):
    """Write an address as people type it: HOST, HOST:PORT, or [IPv6]:PORT (port None: none)."""
    if port is None:
        return host
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def reachable_addresses():
    """Return this machine's non-loopback addresses, IPv4 first."""
    candidates = _host_name_addresses() + _interface_addresses()
    seen, result = set(), []
    for text in candidates:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if address.is_loopback or address.is_link_local or address.is_unspecified:
            continue
        if text not in seen:
            seen.add(text)
            result.append(text)
    return sorted(result, key=lambda text: ":" in text)


def _addresses_of(host):
    """Return the addresses `host` (a name or an address) stands for; none if unknown."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [info[4][0].split("%")[0] for info in infos]


def is_this_computer(host):
    """Tell whether `host` is this computer: a loopback name or address, or one of its own."""
    addresses = _addresses_of(host)
    if not addresses:
        return False
    own = None
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        if address.is_loopback:
            continue
        if own is None:
            own = set(_host_name_addresses() + _interface_addresses())
        if text not in own:
            return False
    return True
