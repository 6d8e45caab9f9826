"""This machine's IPv4 addresses, each with its netmask and directed broadcast address.

`find` asks every network this machine is on, from an address on it, so
it needs each address and where that network's broadcasts go.  Standard
library only: on Linux and macOS the kernel is asked with ioctl
(SIOCGIFCONF lists the addresses, SIOCGIFFLAGS / SIOCGIFNETMASK /
SIOCGIFBRDADDR describe each); on Windows `ipconfig` is read (English and
most translations: the label holds "IPv4", the mask is the next line whose
value is a netmask), else each address of the host name is guessed to be
on a /24.  Whatever cannot be known is None: the finder then sends only
the limited broadcast (255.255.255.255) from that address.  Loopback
interfaces are left out (the finder asks 127.0.0.1 by unicast).  The
parsing parts take bytes or text and are tested without a network.
"""

import array
import collections
import ipaddress
import re
import socket
import struct
import subprocess
import sys

Interface = collections.namedtuple("Interface", "name address netmask broadcast")
Interface.__doc__ = "One IPv4 address of this machine; netmask and broadcast None if unknown."

# Interface flags, the same numbers on Linux and macOS (<net/if.h>).
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8

IFNAMSIZ = 16  # an interface name's field in struct ifreq, NUL included

# The buffer SIOCGIFCONF fills: room for 400 Linux entries, or on macOS for
# the link-level and IPv6 entries it lists too (a Mac has a dozen adapters,
# tunnels included); what does not fit is left out by the kernel.
IFCONF_BUFFER_BYTES = 16384

# How each system's kernel is asked: ioctl numbers, struct ifreq's size and
# how SIOCGIFCONF's entries are laid out ("fixed": every entry one ifreq;
# "sa_len": BSD, the name then a sockaddr as long as its first byte says).
IOCTL_LAYOUTS = {
    "linux": dict(conf=0x8912, flags=0x8913, netmask=0x891B, broadcast=0x8919,
                  # ifreq: 16 bytes of name + a union as big as struct ifmap
                  # (24 bytes where a long is 8 bytes, 16 where it is 4).
                  ifreq=IFNAMSIZ + (24 if struct.calcsize("P") == 8 else 16),
                  entries="fixed", ifconf="iP"),
    "darwin": dict(conf=0xC00C6924, flags=0xC0206911, netmask=0xC0206925,
                   broadcast=0xC0206923, ifreq=32, entries="sa_len",
                   ifconf="=iQ"),  # struct ifconf is packed to 4 bytes on macOS: 12 bytes
}

MIN_SOCKADDR_BYTES = 16  # a BSD entry's sockaddr takes at least this much room

# `ipconfig` gets this long to answer before the /24 guess is used instead.
IPCONFIG_SECONDS = 5.0

LIMITED_BROADCAST = "255.255.255.255"
GUESSED_NETMASK = "255.255.255.0"  # most school and home networks are /24


# --- the parsing parts: bytes or text in, Interfaces out --------------------

def parse_ifconf(buffer, layout):
    """Return [(name, address)] of the IPv4 entries in a SIOCGIFCONF reply.

    `layout` is an IOCTL_LAYOUTS value ("fixed" entries of ifreq bytes on
    Linux, variable-length "sa_len" entries on macOS).
    """
    found, offset = [], 0
    while offset + IFNAMSIZ + 2 <= len(buffer):
        name = buffer[offset:offset + IFNAMSIZ].split(b"\0", 1)[0].decode("utf-8", "replace")
        sockaddr = buffer[offset + IFNAMSIZ:]
        if layout["entries"] == "sa_len":
            family = sockaddr[1]
            length = IFNAMSIZ + max(MIN_SOCKADDR_BYTES, sockaddr[0])
        else:
            family = struct.unpack("=H", sockaddr[:2])[0]
            length = layout["ifreq"]
        if family == socket.AF_INET and len(sockaddr) >= 8:
            found.append((name, socket.inet_ntoa(sockaddr[4:8])))
        offset += length
    return found


def ifreq_address(reply):
    """Return the IPv4 address a SIOCGIFNETMASK/SIOCGIFBRDADDR reply (struct ifreq) holds."""
    return socket.inet_ntoa(reply[IFNAMSIZ + 4:IFNAMSIZ + 8])


def ifreq_flags(reply):
    """Return the interface flags a SIOCGIFFLAGS reply holds."""
    return struct.unpack("=H", reply[IFNAMSIZ:IFNAMSIZ + 2])[0]


def directed_broadcast(address, netmask):
    """Return the broadcast address of address's network, or None if it has none (/31, /32)."""
    try:
        network = ipaddress.IPv4Network("%s/%s" % (address, netmask), strict=False)
    except ValueError:
        return None
    if network.prefixlen >= 31:
        return None
    return str(network.broadcast_address)


def is_netmask(text):
    """Tell whether text is a dotted IPv4 netmask (contiguous ones, not 0.0.0.0)."""
    try:
        network = ipaddress.IPv4Network("0.0.0.0/" + text)
    except ValueError:
        return False
    return network.prefixlen > 0 and str(network.netmask) == text  # not a host mask


IPCONFIG_LINE = re.compile(r"^\s*(?P<label>[^:]*?)[\s.]*:\s*(?P<value>\S+)")
IPV4_VALUE = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})(?:\(.*\))?$")


def parse_ipconfig(text):
    """Return the Interfaces `ipconfig` output describes.

    An address is a line whose label says IPv4 (or "IP Address", older
    English Windows) and whose value is an IPv4 address, "(Preferred)" or
    its translation after it; its netmask is the next line whose value is
    a netmask.  Loopback addresses are left out.
    """
    found, pending = [], None
    for line in text.splitlines():
        match = IPCONFIG_LINE.match(line)
        value = IPV4_VALUE.match(match.group("value")) if match else None
        if not value:
            continue
        label, value = match.group("label"), value.group(1)
        if "IPv4" in label or label.strip().startswith("IP Address"):
            if pending:
                found.append(_described(pending, None))
            pending = value
        elif pending and is_netmask(value):
            found.append(_described(pending, value))
            pending = None
    if pending:
        found.append(_described(pending, None))
    return [one for one in found if one is not None]


def _described(address, netmask, name=""):
    try:
        if ipaddress.IPv4Address(address).is_loopback:
            return None
    except ValueError:
        return None
    broadcast = directed_broadcast(address, netmask) if netmask else None
    return Interface(name, address, netmask, broadcast)


def guessed(addresses):
    """Return Interfaces for addresses whose netmasks are unknown, each taken as a /24."""
    result = [_described(address, GUESSED_NETMASK) for address in addresses]
    return [one for one in result if one is not None]


# --- asking this machine ----------------------------------------------------

def _ioctl_interfaces(layout):
    import fcntl  # not on Windows, which reads ipconfig instead
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        size = IFCONF_BUFFER_BYTES
        buffer = array.array("B", bytes(size))
        pointer = buffer.buffer_info()[0]
        request = struct.pack(layout["ifconf"], size, pointer)
        reply = fcntl.ioctl(probe.fileno(), layout["conf"], request)
        used = struct.unpack(layout["ifconf"], reply)[0]
        found = []
        for name, address in parse_ifconf(buffer.tobytes()[:used], layout):
            found.append(_ask_interface(probe, layout, name, address))
        return [one for one in found if one is not None]
    finally:
        probe.close()


def _ask_interface(probe, layout, name, address):
    import fcntl

    def ask(number, read):
        request = struct.pack("%ds" % layout["ifreq"], name.encode("utf-8")[:IFNAMSIZ - 1])
        try:
            return read(fcntl.ioctl(probe.fileno(), number, request))
        except OSError:
            return None

    return kernel_interface(name, address, ask(layout["flags"], ifreq_flags),
                            ask(layout["netmask"], ifreq_address),
                            ask(layout["broadcast"], ifreq_address))


def kernel_interface(name, address, flags, netmask, broadcast):
    """Return the Interface the kernel's answers describe, or None to leave it out.

    Any answer may be None (the ioctl failed).  Loopback and down
    interfaces are left out; a broadcast address that is unset, or not on
    the address's network (an extra address on an interface whose ioctls
    describe its first one), becomes None, and so does its netmask then.
    """
    if flags is not None and (flags & IFF_LOOPBACK or not flags & IFF_UP):
        return None
    if _described(address, None) is None:
        return None
    if flags is not None and not flags & IFF_BROADCAST:
        broadcast = None  # point-to-point, a VPN: only the limited broadcast is tried
    elif broadcast in (None, "0.0.0.0", LIMITED_BROADCAST):
        broadcast = None
    elif netmask is None or directed_broadcast(address, netmask) != broadcast:
        netmask = broadcast = None
    return Interface(name, address, netmask, broadcast)


def _ipconfig_interfaces():
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # pythonw: no console flashes up
    output = subprocess.run(["ipconfig"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, timeout=IPCONFIG_SECONDS,
                            creationflags=flags).stdout
    return parse_ipconfig(output.decode("ascii", "replace"))


def host_name_addresses():
    """Return the IPv4 addresses the host name resolves to (a local look-up)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET,
                                   socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        return []
    seen = []
    for info in infos:
        if info[4][0] not in seen:
            seen.append(info[4][0])
    return seen


# How each system is asked (sys.platform); others know only the host name's addresses.
WAYS = {
    "linux": lambda: _ioctl_interfaces(IOCTL_LAYOUTS["linux"]),
    "darwin": lambda: _ioctl_interfaces(IOCTL_LAYOUTS["darwin"]),
    "win32": _ipconfig_interfaces,
}


def local_interfaces(platform=sys.platform):
    """Return this machine's non-loopback IPv4 addresses with netmask and broadcast.

    Never raises: what the system will not say becomes the /24 guess of the
    host name's addresses (Windows), or None fields (elsewhere), and an
    empty list when nothing at all is known.
    """
    way = WAYS.get(platform)
    try:
        found = way() if way else []
    except (OSError, ValueError, ImportError, subprocess.SubprocessError):
        found = []
    if found:
        return found
    if platform == "win32":
        return guessed(host_name_addresses())
    return [one for one in (_described(address, None) for address in host_name_addresses())
            if one is not None]
