"""Addresses: the ones other machines can use to reach this one, and the ones people type.

Only local look-ups: the host name's addresses, and each network
interface's IPv4 address (interfaces.py).  No packet is sent anywhere.
"""

import argparse
import ipaddress
import socket

from .interfaces import local_interfaces

# The highest TCP port there is.
MAX_PORT = 65535


def _interface_addresses():
    """Return the IPv4 address of each network interface (interfaces.py asks the system)."""
    return [interface.address for interface in local_interfaces()]


def _host_name_addresses():
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [info[4][0] for info in infos]


def ranged(kind, low, high=None, what="a number"):
    """Return an argparse type: `kind` of the text, from `low` (to `high`), else why not."""
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not %s" % (text, what))
        if value < low or (high is not None and value > high):
            bounds = "from %s to %s" % (low, high) if high is not None else "at least %s" % low
            raise argparse.ArgumentTypeError("%s must be %s" % (text, bounds))
        return value
    return convert


connect_port = ranged(int, 1, MAX_PORT, "a port number")


def split_address(text):
    """Return (host, port or None) from HOST, HOST:PORT, [IPv6] or [IPv6]:PORT.

    A bare IPv6 address ("::1") is a host without a port; with a port it
    goes in brackets ("[::1]:1234").  Raise argparse.ArgumentTypeError,
    whose words say what is wrong, for anything else.
    """
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not host or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError(
                "%r is not an address: write an IPv6 address with a port as [::1]:1234" % text)
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, None  # a name, IPv4, or a bare IPv6 address
    if not host:
        raise argparse.ArgumentTypeError("%r has no host: give the server's address, "
                                         "for example 192.168.1.23:1234" % text)
    return host, None if port_text is None else connect_port(port_text)


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
