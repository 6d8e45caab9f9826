"""Find the addresses other machines can use to reach this one.

Only local look-ups: the host name's addresses, and on Linux each network
interface's IPv4 address.  No packet is sent anywhere.
"""

import ipaddress
import socket
import struct
import sys

SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


def _linux_interface_addresses():
    try:
        import fcntl
    except ImportError:
        return []
    found = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, ifname in socket.if_nameindex():
            request = struct.pack("256s", ifname.encode("utf-8")[:15])
            try:
                reply = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # the interface has no IPv4 address
            found.append(socket.inet_ntoa(reply[20:24]))
    finally:
        probe.close()
    return found


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
    candidates = _host_name_addresses()
    if sys.platform.startswith("linux"):
        candidates += _linux_interface_addresses()
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
