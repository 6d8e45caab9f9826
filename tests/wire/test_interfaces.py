"""chat_app/wire/interfaces.py's parsing: ipconfig text and ioctl bytes, no network touched.

The ioctl path itself runs inside a lab namespace, whose interfaces the
test made: test_lab_discovery.py, test_the_kernel_tells_each_address_...
"""

import socket
import struct
import subprocess

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import interfaces
from chat_app.wire.interfaces import (
    IOCTL_LAYOUTS,
    Interface,
    directed_broadcast,
    guessed,
    ifreq_address,
    ifreq_flags,
    is_netmask,
    parse_ifconf,
    parse_ipconfig,
)

ENGLISH = """\

Windows IP Configuration


Ethernet adapter Ethernet:

   Connection-specific DNS Suffix  . : school.lan
   Link-local IPv6 Address . . . . . : fe80::1c2b:3d4e:5f60:7182%12
   IPv4 Address. . . . . . . . . . . : 192.168.1.23(Preferred)
   Subnet Mask . . . . . . . . . . . : 255.255.255.0
   Lease Obtained. . . . . . . . . . : Sunday, 29 November 2026 08:01:02
   Default Gateway . . . . . . . . . : fe80::1%12
                                       192.168.1.1
   DHCP Server . . . . . . . . . . . : 192.168.1.1

Wireless LAN adapter Wi-Fi:

   Media State . . . . . . . . . . . : Media disconnected
   Connection-specific DNS Suffix  . :

Ethernet adapter VPN:

   IPv4 Address. . . . . . . . . . . : 10.8.0.6
   Subnet Mask . . . . . . . . . . . : 255.255.0.0
   Default Gateway . . . . . . . . . :
"""

GERMAN = """\
Ethernet-Adapter Ethernet:

   Verbindungsspezifisches DNS-Suffix:
   IPv4-Adresse  . . . . . . . . . . : 172.16.5.20
   Subnetzmaske  . . . . . . . . . . : 255.255.240.0
   Standardgateway . . . . . . . . . : 172.16.0.1
"""

FRENCH = """\
Carte Ethernet Ethernet :

   Adresse IPv4. . . . . . . . . . . . . .: 10.0.0.5(préféré)
   Masque de sous-réseau. . . . . . . . . : 255.255.255.128
   Passerelle par défaut. . . . . . . . . : 10.0.0.1
"""

OLD_ENGLISH = """\
Ethernet adapter Local Area Connection:

        IP Address. . . . . . . . . . . . : 192.168.0.7
        Subnet Mask . . . . . . . . . . . : 255.255.255.0
        Default Gateway . . . . . . . . . : 192.168.0.1
"""


@pytest.mark.parametrize("text, expected", [
    (ENGLISH, [Interface("", "192.168.1.23", "255.255.255.0", "192.168.1.255"),
               Interface("", "10.8.0.6", "255.255.0.0", "10.8.255.255")]),
    (GERMAN, [Interface("", "172.16.5.20", "255.255.240.0", "172.16.15.255")]),
    (FRENCH, [Interface("", "10.0.0.5", "255.255.255.128", "10.0.0.127")]),
    (OLD_ENGLISH, [Interface("", "192.168.0.7", "255.255.255.0", "192.168.0.255")]),
])
def test_ipconfig_addresses_and_masks_are_read_in_several_languages(text, expected):
    assert parse_ipconfig(text) == expected


def test_an_ipconfig_address_without_a_mask_is_kept_with_none():
    text = "   IPv4 Address. . . : 192.168.7.8\n   IPv4 Address. . . : 10.1.1.1\n"
    assert parse_ipconfig(text) == [Interface("", "192.168.7.8", None, None),
                                    Interface("", "10.1.1.1", None, None)]


def test_ipconfig_loopback_and_text_that_is_no_address_are_left_out():
    text = "   IPv4 Address. . . : 127.0.0.1\n   Subnet Mask . . . : 255.0.0.0\n" + \
           "   IPv4 Address. . . : none\n   Lease Expires . . : 12:30:00\n"
    assert parse_ipconfig(text) == []


def test_windows_reads_ipconfig_without_a_console_window(monkeypatch):
    seen = {}

    def run(argv, **kwargs):
        seen.update(kwargs, argv=argv)
        return subprocess.CompletedProcess(argv, 0, ENGLISH.encode("cp850"), b"")

    monkeypatch.setattr(interfaces.subprocess, "run", run)
    assert [one.address for one in interfaces.local_interfaces("win32")] == ["192.168.1.23", "10.8.0.6"]
    assert seen["argv"] == ["ipconfig"] and seen["timeout"] == interfaces.IPCONFIG_SECONDS


def test_without_ipconfig_windows_guesses_a_slash_24_per_address(monkeypatch):
    def run(argv, **kwargs):
        raise FileNotFoundError("ipconfig")

    monkeypatch.setattr(interfaces.subprocess, "run", run)
    monkeypatch.setattr(interfaces, "host_name_addresses", lambda: ["127.0.0.1", "10.4.5.6"])
    assert interfaces.local_interfaces("win32") == [
        Interface("", "10.4.5.6", "255.255.255.0", "10.4.5.255")]


def test_when_the_kernel_will_not_say_the_host_names_addresses_have_no_broadcast(monkeypatch):
    def refuse():
        raise OSError("no ioctl here")

    monkeypatch.setitem(interfaces.WAYS, "linux", refuse)
    monkeypatch.setattr(interfaces, "host_name_addresses", lambda: ["127.0.1.1", "10.4.5.6"])
    assert interfaces.local_interfaces("linux") == [Interface("", "10.4.5.6", None, None)]


def test_a_system_without_a_known_way_lists_only_the_host_names_addresses(monkeypatch):
    monkeypatch.setattr(interfaces, "host_name_addresses", lambda: ["10.4.5.6"])
    assert interfaces.local_interfaces("sunos5") == [Interface("", "10.4.5.6", None, None)]


def linux_entry(name, family, address, size=IOCTL_LAYOUTS["linux"]["ifreq"]):
    sockaddr = struct.pack("=HH4s", family, 0, socket.inet_aton(address))
    return struct.pack("16s", name) + sockaddr.ljust(size - 16, b"\0")


def test_linux_ifconf_entries_are_one_ifreq_each():
    layout = IOCTL_LAYOUTS["linux"]
    assert layout["ifreq"] == (40 if struct.calcsize("P") == 8 else 32)
    buffer = (linux_entry(b"lo", socket.AF_INET, "127.0.0.1")
              + linux_entry(b"eth0", socket.AF_INET, "198.18.0.2")
              + linux_entry(b"odd0", 99, "1.2.3.4")
              + linux_entry(b"eth0:1", socket.AF_INET, "198.18.3.4"))
    assert parse_ifconf(buffer, layout) == [
        ("lo", "127.0.0.1"), ("eth0", "198.18.0.2"), ("eth0:1", "198.18.3.4")]


def bsd_entry(name, family, payload):
    sockaddr = struct.pack("BB", 2 + len(payload), family) + payload
    return struct.pack("16s", name) + sockaddr.ljust(16, b"\0")


def test_macos_ifconf_entries_are_as_long_as_their_sockaddr_says():
    link = bsd_entry(b"en0", 18, b"\x05\x00\x06\x03\x06\x00en0" + bytes(range(6)) + b"\0" * 4)
    assert len(link) > 32  # a link-level sockaddr is longer than an ifreq's union
    buffer = (link + bsd_entry(b"en0", 2, struct.pack("=H4s", 0, socket.inet_aton("10.0.0.9")))
              + bsd_entry(b"lo0", 2, struct.pack("=H4s", 0, socket.inet_aton("127.0.0.1"))))
    assert parse_ifconf(buffer, IOCTL_LAYOUTS["darwin"]) == [
        ("en0", "10.0.0.9"), ("lo0", "127.0.0.1")]


def test_ifreq_replies_give_the_address_and_flags():
    reply = struct.pack("16sHH4s", b"eth0", socket.AF_INET, 0, socket.inet_aton("255.255.254.0"))
    assert ifreq_address(reply.ljust(40, b"\0")) == "255.255.254.0"
    flags = struct.pack("16sH", b"eth0", interfaces.IFF_UP | interfaces.IFF_LOOPBACK)
    assert ifreq_flags(flags.ljust(40, b"\0")) == interfaces.IFF_UP | interfaces.IFF_LOOPBACK


@pytest.mark.parametrize("address, netmask, broadcast", [
    ("192.168.1.23", "255.255.255.0", "192.168.1.255"),
    ("10.1.2.3", "255.0.0.0", "10.255.255.255"),
    ("10.1.2.3", "255.255.255.254", None),  # /31: a point-to-point link
    ("10.1.2.3", "255.255.255.255", None),
    ("10.1.2.3", "255.0.255.0", None),  # not a netmask
])
def test_directed_broadcast(address, netmask, broadcast):
    assert directed_broadcast(address, netmask) == broadcast


def test_is_netmask():
    assert is_netmask("255.255.255.0") and is_netmask("255.255.240.0")
    assert not is_netmask("0.0.0.0") and not is_netmask("192.168.1.1")
    assert not is_netmask("255.0.255.0")


def test_guessed_takes_each_address_as_a_slash_24_and_leaves_loopback_out():
    assert guessed(["127.0.0.1", "172.20.1.9"]) == [
        Interface("", "172.20.1.9", "255.255.255.0", "172.20.1.255")]


UP_BROADCAST = interfaces.IFF_UP | interfaces.IFF_BROADCAST


@pytest.mark.parametrize("flags, netmask, broadcast, expected", [
    (UP_BROADCAST, "255.255.255.0", "10.0.0.255", ("255.255.255.0", "10.0.0.255")),
    (None, "255.255.255.0", "10.0.0.255", ("255.255.255.0", "10.0.0.255")),  # flags unknown
    (UP_BROADCAST, "255.255.255.0", "0.0.0.0", ("255.255.255.0", None)),  # no brd set
    (UP_BROADCAST, None, None, (None, None)),
    (UP_BROADCAST, "255.255.255.0", "10.9.9.255", (None, None)),  # another address's network
    (interfaces.IFF_UP, "255.255.255.255", "10.0.0.1", ("255.255.255.255", None)),  # a tunnel
])
def test_the_kernels_answers_make_an_interface(flags, netmask, broadcast, expected):
    assert interfaces.kernel_interface("eth0", "10.0.0.5", flags, netmask, broadcast) == \
        Interface("eth0", "10.0.0.5", *expected)


@pytest.mark.parametrize("flags, address", [
    (UP_BROADCAST | interfaces.IFF_LOOPBACK, "10.0.0.5"),
    (interfaces.IFF_BROADCAST, "10.0.0.5"),  # down
    (UP_BROADCAST, "127.0.0.1"),
])
def test_loopback_and_down_interfaces_are_left_out(flags, address):
    assert interfaces.kernel_interface("x", address, flags, "255.0.0.0", "10.255.255.255") is None
