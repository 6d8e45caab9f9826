"""The server's side of discovery: the Decider's rules with a fake clock, and the
UDP responder talking to 127.0.0.1 only (unicast, this computer).

The tests across machines, with broadcasts, run in a lab: test_responder_lab.py.
"""

import json
import socket
import threading

import pytest

from chat_app import __version__
from chat_app.relay import listener as server_module
from chat_app.discovery import datagrams as discovery
from chat_app.discovery.responder import (
    ANSWER_BURST,
    ANSWER_RATE,
    ANSWERED,
    EVERYONE,
    MAX_SOURCES,
    NOT_A_QUERY,
    NOT_LOCAL,
    OUT_OF_REACH,
    RATE_LIMITED,
    SUBNET,
    THIS_COMPUTER,
    TOO_BIG,
    TOTAL_ANSWER_BURST,
    Decider,
    Responder,
    local_source,
    reach_of,
)
from fake_console import FakeConsole
from helpers import LOOPBACK, WAIT
from chat_app.relay.listener import MAX_ROOM_CHARS, room_name, start_discovery
from chat_app.terminal.console import Console

QUERY = discovery.QUERY_BYTES
STUDENT = ("192.168.1.20", 50000)
FIGURES = {"room": "Lab 3", "port": 1234, "tls": False, "fingerprint": None,
           "password": True, "users": 14, "version": "0.1"}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def decider(reach=EVERYONE, network=None, figures=None):
    clock = Clock()
    calls = []

    def live():
        calls.append(1)
        return dict(figures or FIGURES)
    made = Decider(live, reach, network, clock=clock)
    made.clock, made.calls = clock, calls
    return made


# --- the decision -------------------------------------------------------------

def test_a_query_from_a_private_address_gets_the_answer_with_the_live_figures():
    decide = decider()
    answer = decide.decide(QUERY, STUDENT)
    assert discovery.parse_answer(answer) == dict(FIGURES, logged=False)
    assert json.loads(answer.decode())["type"] == "room"
    # Other keys are ignored.
    assert decide.decide(b'{"type": "discover", "from": "a newer finder"}', STUDENT) == answer
    assert decide.counts[ANSWERED] == 2


@pytest.mark.parametrize("data", [
    b"", b"\x00\xff\xfe garbage", b"discover", b'{"type": "discover"', b"[1, 2]",
    b'"discover"', b'{"type": "room"}', b'{"type": "join", "name": "amy"}',
    b'{"kind": "discover"}', "{\"type\": \"d\u00efscover\"}".encode("utf-8"),
    b"[" * 1000, b'{"type": "discover"}\xff',
])
def test_anything_but_a_query_gets_nothing_and_costs_no_figures(data):
    decide = decider()
    assert decide.decide(data, STUDENT) is None
    assert decide.counts[NOT_A_QUERY] == 1 and not decide.calls


def test_a_datagram_over_1_kib_gets_nothing_even_if_it_is_a_query():
    decide = decider()
    padded = b'{"type": "discover", "pad": "' + b"x" * 1024 + b'"}'
    assert discovery.MAX_QUERY_BYTES == 1024 and len(padded) > 1024
    assert decide.decide(padded, STUDENT) is None
    assert decide.counts[TOO_BIG] == 1
    just_fits = b'{"type": "discover", "pad": "' + b"x" * (1024 - 31) + b'"}'
    assert len(just_fits) == 1024 and decide.decide(just_fits, STUDENT) is not None


@pytest.mark.parametrize("source, answered", [
    ("10.1.2.3", True), ("172.16.0.9", True), ("192.168.0.5", True),
    ("169.254.10.1", True), ("127.0.0.1", True), ("198.18.0.2", True),
    ("::1", True), ("fe80::1%eth0", True), ("fd00::5", True),
    ("::ffff:192.168.1.7", True), ("::ffff:8.8.8.8", False),
    ("8.8.8.8", False), ("2001:4860::1", False), ("100.64.0.1", False),
    ("224.0.0.1", False), ("not an address", False),
])
def test_only_private_link_local_and_loopback_sources_are_answered(source, answered):
    assert (local_source(source) is not None) == answered
    decide = decider()
    assert (decide.decide(QUERY, (source, 4000)) is not None) == answered
    if not answered:
        assert decide.counts[NOT_LOCAL] == 1 and not decide.calls


def test_what_host_reaches():
    assert reach_of("0.0.0.0") == (EVERYONE, None)
    assert reach_of("::") == (EVERYONE, None)
    assert reach_of("127.0.0.1") == (THIS_COMPUTER, None)
    assert reach_of("::1") == (THIS_COMPUTER, None)
    reach, network = reach_of("192.168.4.10")
    assert reach == SUBNET and str(network) == "192.168.4.0/24"
    assert reach_of("fd00::10") is None  # answers leave from IPv4: an IPv6 server is not there


def test_a_loopback_host_answers_this_computer_only():
    decide = decider(*reach_of("127.0.0.1"))
    assert decide.decide(QUERY, ("127.0.0.1", 4000)) is not None
    assert decide.decide(QUERY, ("127.0.1.1", 4000)) is not None
    assert decide.decide(QUERY, STUDENT) is None
    assert decide.counts[OUT_OF_REACH] == 1


def test_a_unicast_host_answers_its_subnet_and_this_computer():
    decide = decider(*reach_of("192.168.1.5"))
    assert decide.decide(QUERY, ("192.168.1.77", 4000)) is not None
    assert decide.decide(QUERY, ("127.0.0.1", 4000)) is not None
    assert decide.decide(QUERY, ("192.168.2.77", 4000)) is None
    assert decide.decide(QUERY, ("10.0.0.1", 4000)) is None
    assert decide.counts[OUT_OF_REACH] == 2


def test_a_burst_of_500_queries_from_one_source_gets_a_few_dozen_answers_at_most():
    decide = decider()
    answered = 0
    for number in range(500):  # 500 in a quarter of a second
        decide.clock.now = 1000.0 + number * 0.0005
        answered += decide.decide(QUERY, (STUDENT[0], 40000 + number)) is not None
    assert ANSWER_BURST <= answered <= ANSWER_BURST + 0.25 * ANSWER_RATE + 1
    assert answered <= 36  # "a few dozen at most"
    assert decide.counts[RATE_LIMITED] == 500 - answered
    assert len(decide.calls) == answered  # the room is not asked for the refused ones


def test_a_flooding_source_gets_about_20_answers_a_second_and_others_still_get_theirs():
    decide = decider()
    answered = 0
    for number in range(5000):  # 5000 queries in 2 s
        decide.clock.now = 1000.0 + number * 2.0 / 5000
        answered += decide.decide(QUERY, STUDENT) is not None
    assert answered <= ANSWER_BURST + 2 * ANSWER_RATE + 1
    assert decide.decide(QUERY, ("192.168.1.21", 4000)) is not None  # a classmate
    decide.clock.now += 1.0  # a second later the flooder is answered again
    assert decide.decide(QUERY, STUDENT) is not None


def test_many_sources_are_answered_at_most_200_a_second_in_all_and_memory_stays_bounded():
    decide = decider()
    answered = 0
    for number in range(5000):  # every query from a different (forged) address, at once
        source = "10.%d.%d.%d" % (number // 65536, number // 256 % 256, number % 256)
        answered += decide.decide(QUERY, (source, 4000)) is not None
    assert answered == TOTAL_ANSWER_BURST
    assert decide.sources() == MAX_SOURCES


def test_the_answer_follows_the_room_and_never_passes_512_bytes():
    figures = dict(FIGURES, room="\u00e9" * 400, fingerprint="ab" * 32, tls=True, users=999)
    decide = decider(figures=figures)
    answer = decide.decide(QUERY, STUDENT)
    assert len(answer) <= discovery.MAX_ANSWER_BYTES
    parsed = discovery.parse_answer(answer)
    assert parsed["fingerprint"] == "ab" * 32 and parsed["users"] == 999 and parsed["tls"]


# --- the room's name ---------------------------------------------------------

def test_the_room_name_is_cleaned_cut_and_defaults_to_the_computer_name(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "lab-pc-7")
    assert room_name(None) == "chat on lab-pc-7"
    assert room_name("  Lab\t3 \x1b[31m red\x07 ") == "Lab 3 [31m red"
    assert room_name("x" * 500) == "x" * MAX_ROOM_CHARS
    assert room_name("\u200b\x00 ") == "chat on lab-pc-7"  # shows nothing: the default
    monkeypatch.setattr(socket, "gethostname", lambda: "\x00")
    assert room_name(None) == "chat on this computer"


@pytest.mark.system
def test_the_welcome_names_the_room(make_server):
    server = make_server("--room", "Lab 3")
    client = server.client()
    client.send({"type": "join", "name": "amy"})
    welcome = json.loads(client.read_line())
    assert welcome["type"] == "welcome" and welcome["room"] == "Lab 3"
    assert list(welcome)[-1] == "history"  # history stays last
    client.close()


# --- the UDP responder, 127.0.0.1 only -------------------------------------------

def loopback_query(port, data=QUERY):
    """Send data to 127.0.0.1:port from 127.0.0.1; return the socket that waits for answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.settimeout(WAIT)
    sock.sendto(data, (LOOPBACK, port))
    return sock


def discovering(make_server, *args):
    server = make_server(*args)
    console = Console(server.out, server.err)
    start_discovery(server.server, console)
    assert server.server.responder is not None, server.err.text
    return server


@pytest.mark.system
def test_a_loopback_query_is_answered_with_every_field(make_server):
    server = discovering(make_server, "--room", "Lab 3", "--password", "pw")
    client = server.client()
    client.send({"type": "join", "name": "amy", "password": "pw"})
    assert json.loads(client.read_line())["type"] == "welcome"
    sock = loopback_query(server.port)
    data, source = sock.recvfrom(65536)
    assert source == (LOOPBACK, server.port)
    assert discovery.parse_answer(data) == {
        "room": "Lab 3", "port": server.port, "tls": False, "fingerprint": None,
        "password": True, "users": 1, "version": __version__, "logged": False}
    sock.close()
    client.close()


@pytest.mark.system
def test_garbage_gets_nothing_and_the_responder_goes_on(make_server):
    server = discovering(make_server)
    for junk in (b"\xff" * 10, b'{"type":"room"}', b"x" * 4000, b'{"type": "discover"'):
        loopback_query(server.port, junk).close()
    sock = loopback_query(server.port)
    data, _ = sock.recvfrom(65536)  # the one answer, to the query sent last
    assert discovery.parse_answer(data)["port"] == server.port
    sock.close()


def test_a_fault_is_logged_once_and_answering_goes_on():
    console = FakeConsole()
    faults = console.errors
    calls = []

    def decide(data, source):
        calls.append(data)
        if data != QUERY:
            raise RuntimeError("a bug in deciding")
        return b"answer"
    answering = Responder(0, decide, console).start()
    try:
        for _ in range(3):
            loopback_query(answering.port, b"boom").close()
        sock = loopback_query(answering.port)
        assert sock.recvfrom(100)[0] == b"answer"
        sock.close()
        assert answering.faults == 3 and len(faults) == 1
        assert "said once" in faults[0] and "RuntimeError" in faults[0]
    finally:
        answering.stop()


@pytest.mark.system
def test_stopping_the_server_stops_the_responder_and_closes_its_port(make_server):
    before = {thread for thread in threading.enumerate() if thread.name == "discovery"}
    server = discovering(make_server)
    port = server.port
    server.close()
    left = {thread for thread in threading.enumerate() if thread.name == "discovery"}
    assert left == before
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("0.0.0.0", port))  # free again
    probe.close()


@pytest.mark.system
def test_no_discovery_starts_no_responder_and_the_banner_says_so(make_server):
    server = make_server("--no-discovery", "--room", "Lab 3")
    start_discovery(server.server, Console(server.out, server.err))
    assert server.server.responder is None
    text = server_module.banner(server.server, server.options)
    assert ("\nRoom: Lab 3 (not listed in students' windows: --no-discovery; give them the "
            "address below)\n" in text)


@pytest.mark.system
def test_a_taken_udp_port_turns_discovery_off_with_words_for_the_teacher(make_server):
    server = make_server("--room", "Lab 3")
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("0.0.0.0", server.port))
    try:
        start_discovery(server.server, Console(server.out, server.err))
    finally:
        squatter.close()
    assert server.server.responder is None
    assert ("discovery is off: UDP port %d cannot be used" % server.port) in server.err.text
    assert "students type the address printed below" in server.err.text
    text = server_module.banner(server.server, server.options)
    assert "Room: Lab 3 (not listed in students' windows: UDP port %d is taken;" % (
        server.port) in text


@pytest.mark.system
def test_the_banner_names_a_findable_room(make_server):
    server = discovering(make_server, "--room", "Lab 3")
    text = server_module.banner(server.server, server.options)
    assert text.splitlines()[1] == ("Room: Lab 3 (listed in students' windows: they "
                                    "double-click chat.pyz or run 'python3 chat.pyz client', "
                                    "and choose it)")



@pytest.mark.system
def test_a_server_on_one_ipv6_address_is_not_findable_and_the_banner_says_why(make_server):
    server = make_server("--room", "Lab 3")

    class OnIpv6:  # as a server started with --host fd00::10 would be
        options = server.options
        room = server.room
        server_address = ("fd00::10", server.port, 0, 0)
        responder = None
        discovery_off = "--no-discovery"
    ipv6 = OnIpv6()
    ipv6.options.host = "fd00::10"
    start_discovery(ipv6, Console(server.out, server.err))
    assert ipv6.responder is None
    assert ipv6.discovery_off == "discovery is IPv4 only, and --host fd00::10 is IPv6"
