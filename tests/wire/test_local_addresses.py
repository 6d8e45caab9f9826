"""This computer's addresses and the ones people type (local_addresses.py): no packet sent."""

import argparse

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import local_addresses
from chat_app.wire.local_addresses import connect_port, host_port, ranged, split_address


def test_reachable_addresses_leave_out_loopback(monkeypatch):
    monkeypatch.setattr(local_addresses, "_host_name_addresses", lambda: [
        "127.0.1.1", "::1", "fe80::1%eth0", "2001:db8::5", "192.0.2.5", "0.0.0.0"])
    monkeypatch.setattr(local_addresses, "_interface_addresses",
                        lambda: ["127.0.0.1", "198.18.0.2", "192.0.2.5"])
    assert local_addresses.reachable_addresses() == ["192.0.2.5", "198.18.0.2", "2001:db8::5"]


@pytest.mark.parametrize("text, expected", [
    ("192.168.1.23", ("192.168.1.23", None)),
    ("192.168.1.23:1235", ("192.168.1.23", 1235)),
    ("lab-pc.local:80", ("lab-pc.local", 80)),
    (" chat-server ", ("chat-server", None)),
    ("::1", ("::1", None)),
    ("2001:db8::7", ("2001:db8::7", None)),
    ("[::1]", ("::1", None)),
    ("[::1]:1234", ("::1", 1234)),
    ("[fe80::1%eth0]:1300", ("fe80::1%eth0", 1300)),
])
def test_addresses_with_and_without_a_port(text, expected):
    assert split_address(text) == expected


@pytest.mark.parametrize("text, words", [
    ("host:abc", "not a port number"),
    ("host:0", "from 1 to 65535"),
    ("host:70000", "from 1 to 65535"),
    (":1234", "has no host"),
    ("", "has no host"),
    ("[::1", "[::1]:1234"),
    ("[::1]1234", "[::1]:1234"),
])
def test_bad_addresses_say_what_is_wrong(text, words):
    with pytest.raises(argparse.ArgumentTypeError) as bad:
        split_address(text)
    assert words in str(bad.value)


@pytest.mark.parametrize("host, port, written", [
    ("192.0.2.7", None, "192.0.2.7"), ("192.0.2.7", 1235, "192.0.2.7:1235"),
    ("lab-pc.local", 80, "lab-pc.local:80"), ("2001:db8::7", 1235, "[2001:db8::7]:1235"),
    ("::1", None, "::1"),
])
def test_an_address_is_written_as_people_type_it(host, port, written):
    assert host_port(host, port) == written
    assert split_address(written) == (host, port)  # and read back the same


def test_a_port_to_connect_to_is_from_1_to_65535():
    assert connect_port("1") == 1 and connect_port("65535") == 65535
    for text, words in (("0", "0 must be from 1 to 65535"), ("65536", "from 1 to 65535"),
                        ("http", "'http' is not a port number")):
        with pytest.raises(argparse.ArgumentTypeError) as bad:
            connect_port(text)
        assert words in str(bad.value)


def test_a_ranged_type_names_its_bounds_and_what_it_wants():
    seconds = ranged(float, 0.5, what="a number of seconds")
    assert seconds("2.5") == 2.5 and seconds("0.5") == 0.5
    with pytest.raises(argparse.ArgumentTypeError, match=r"^0\.1 must be at least 0\.5$"):
        seconds("0.1")
    with pytest.raises(argparse.ArgumentTypeError, match="'soon' is not a number of seconds"):
        seconds("soon")


def test_loopback_is_this_computer_and_an_address_of_no_one_is_not(monkeypatch):
    monkeypatch.setattr(local_addresses, "_host_name_addresses", lambda: ["192.0.2.5"])
    monkeypatch.setattr(local_addresses, "_interface_addresses", lambda: ["198.18.0.2"])
    assert local_addresses.is_this_computer("127.0.0.1")
    assert local_addresses.is_this_computer("192.0.2.5") and local_addresses.is_this_computer(
        "198.18.0.2")
    assert not local_addresses.is_this_computer("192.0.2.99")
    monkeypatch.setattr(local_addresses, "_addresses_of", lambda host: [])  # unknown name
    assert not local_addresses.is_this_computer("no-such-host.invalid")
