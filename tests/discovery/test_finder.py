"""chat_app/discovery/finder.py with fake sockets: no datagram is sent anywhere.

find_rooms() runs on FakeSockets (sendto is recorded and answered by the
test, through a local socketpair so select() works); the rest is plain
functions.  find across real (namespaced) networks: test_lab_discovery.py.
"""

import collections
import errno
import shlex
import socket

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app import cli
from chat_app.relay import listener as server
from chat_app.discovery import finder
from chat_app.wire import tls
from chat_app.discovery.datagrams import QUERY_BYTES, SEARCH_PORTS, answer_bytes
from chat_app.discovery.finder import (
    FoundRoom,
    Answers,
    describe,
    find_rooms,
    join_command,
    ports_words,
    report,
    search_ports,
    senders,
)
from chat_app.wire.interfaces import Interface

FINGERPRINT = ":".join(["C7", "1A", "92", "10", "44", "B3", "0F", "2E"] * 4)


def answer(room="Lab 3", port=1234, fingerprint=None, password=False, users=14):
    return answer_bytes(room, port, fingerprint is not None, fingerprint, password, users, "0.9")


class FakeSocket:
    """A UDP socket's stand-in: each sendto() is recorded and answered by `answers`.

    answers(target, port) returns [(source address, datagram)] to receive,
    each from the port asked, as a server answers; or raises OSError as
    sendto would.
    """

    def __init__(self, answers):
        self._answers = answers
        self._inside, self._outside = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._inside.setblocking(False)
        self._outside.setblocking(False)
        self._sources = collections.deque()
        self.sent = []
        self.closed = False

    def fileno(self):
        return self._inside.fileno()

    def sendto(self, data, address):
        replies = self._answers(*address)
        self.sent.append((data, address))
        for source, datagram in replies:
            try:
                self._outside.send(datagram)
            except BlockingIOError:
                continue  # the receive buffer is full: lost, as a real datagram would be
            self._sources.append((source, address[1]))

    def recvfrom(self, size):
        data = self._inside.recv(size)
        return data, self._sources.popleft()

    def close(self):
        self.closed = True
        self._inside.close()
        self._outside.close()


def silent(target, port):
    return []


def test_each_local_address_asks_its_broadcast_and_the_limited_one_and_this_machine_last():
    plan = senders([Interface("eth0", "192.168.1.23", "255.255.255.0", "192.168.1.255"),
                    Interface("tun0", "10.8.0.6", None, None)])
    assert plan == [
        finder.Sender("192.168.1.23", ("192.168.1.255", "255.255.255.255"), "eth0"),
        finder.Sender("10.8.0.6", ("255.255.255.255",), "tun0"),
        finder.Sender("127.0.0.1", ("127.0.0.1",), None),
    ]


class OptionsRecorder:
    def __init__(self):
        self.options = []

    def setsockopt(self, level, option, value):
        self.options.append((level, option, value))


def test_on_macos_each_socket_is_tied_to_its_adapter_elsewhere_not():
    recorder = OptionsRecorder()
    finder.tie_to_adapter(recorder, "lo", "linux")
    finder.tie_to_adapter(recorder, None, "darwin")
    assert recorder.options == []
    finder.tie_to_adapter(recorder, "lo", "darwin")  # any adapter's name this machine has
    assert recorder.options == [(socket.IPPROTO_IP, finder.IP_BOUND_IF,
                                 socket.if_nametoindex("lo"))]


def test_an_address_listed_twice_asks_once():
    twice = [Interface("eth0", "10.0.0.5", None, None), Interface("eth0:1", "10.0.0.5", None, None)]
    assert [sender.bind for sender in senders(twice)] == ["10.0.0.5", "127.0.0.1"]


def test_a_machine_with_many_addresses_asks_from_a_bounded_number():
    many = [Interface("e%d" % i, "10.0.%d.1" % i, None, None) for i in range(100)]
    assert len(senders(many)) == finder.MAX_SENDERS + 1


def test_the_ports_asked_are_the_search_ports_and_the_extra_ones_each_once():
    assert search_ports(SEARCH_PORTS, (5000, 1236, 5000)) == list(SEARCH_PORTS) + [5000]


def test_the_query_goes_twice_to_every_target_and_port_within_the_timeout():
    sock = FakeSocket(silent)
    assert find_rooms(0.7, (1234, 1240), (5000,), sockets=[(sock, ("10.0.0.255", "127.0.0.1"))]) == []
    expected = [(QUERY_BYTES, (target, port)) for target in ("10.0.0.255", "127.0.0.1")
                for port in (1234, 1240, 5000)]
    assert sock.sent == expected * 2
    assert sock.closed


def test_a_short_timeout_sends_the_query_once():
    sock = FakeSocket(silent)
    find_rooms(0.2, (1234,), sockets=[(sock, ("127.0.0.1",))])
    assert len(sock.sent) == 1


def test_each_room_is_listed_once_per_address_in_the_order_found():
    def answers(target, port):
        if port == 1234:  # one server, reached by broadcast and directly, on two of its addresses
            return [("10.0.0.5", answer()), ("10.0.0.5", answer()), ("10.1.0.5", answer())]
        if port == 1240:
            return [("10.0.0.5", answer("Chess", 1240))]
        return []

    sock = FakeSocket(answers)
    rooms = find_rooms(0.7, (1234, 1240), sockets=[(sock, ("10.0.0.255", "255.255.255.255"))])
    assert [(room.room, room.address, room.port) for room in rooms] == [
        ("Lab 3", "10.0.0.5", 1234), ("Lab 3", "10.1.0.5", 1234), ("Chess", "10.0.0.5", 1240)]
    assert rooms[0] == FoundRoom("Lab 3", "10.0.0.5", 1234, False, None, False, 14, "0.9")


def test_an_address_that_cannot_send_does_not_stop_the_others():
    def unreachable(target, port):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    def gone(target, port):
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    answering = FakeSocket(lambda target, port: [("10.0.0.5", answer())])
    dead, vanished = FakeSocket(unreachable), FakeSocket(gone)
    rooms = find_rooms(0.3, (1234,), sockets=[(dead, ("255.255.255.255",)),
                                              (vanished, ("10.9.9.255",)),
                                              (answering, ("10.0.0.255",))])
    assert [room.address for room in rooms] == ["10.0.0.5"]
    assert dead.closed and vanished.closed and answering.closed


def test_what_is_not_an_answer_is_ignored():
    junk = [b"", b"not json", b'{"type": "discover"}', answer()[:-1], b"x" * 600,
            answer(fingerprint="not hex; rm -rf ~ " * 3)]
    sock = FakeSocket(lambda target, port: [("10.0.0.5", data) for data in junk])
    assert find_rooms(0.3, (1234,), sockets=[(sock, ("10.0.0.255",))]) == []


def test_a_flood_of_answers_still_ends_at_the_timeout():
    flood = [("10.0.%d.%d" % (i // 200, i % 200 + 1), answer()) for i in range(5000)]
    sock = FakeSocket(lambda target, port: flood)
    rooms = find_rooms(0.3, (1234,), sockets=[(sock, ("10.0.0.255",))])
    assert rooms and len(rooms) == len(set(rooms)) <= finder.MAX_ROOMS and sock.closed


def test_one_machine_cannot_fill_the_list_with_rooms_on_ports_no_one_asked():
    answers = Answers(ports=(1234, 1235))
    # A fake answering from one port for 200 others, or naming a port it did not answer from.
    for port in range(2000, 2200):
        assert answers.add(("10.0.0.66", 1234), answer("Lab %d" % port, port)) is None
        assert answers.add(("10.0.0.66", port), answer("Lab %d" % port, port)) is None
    assert answers.add(("10.0.0.66", 1235), answer(port=1234)) is None
    real = answers.add(("10.0.0.5", 1234), answer())
    fake = answers.add(("10.0.0.66", 1235), answer("Lab 3", 1235))
    assert answers.rooms() == [real, fake]


def test_answers_keep_tls_fingerprints_in_one_spelling():
    answers = Answers()
    room = answers.add(("10.0.0.5", 1234),
                       answer(fingerprint=FINGERPRINT.lower().replace(":", " ")))
    assert room.fingerprint == FINGERPRINT and room.tls
    assert answers.add(("10.0.0.5", 1234), answer()) is None  # the same address and port again
    assert answers.rooms() == [room]


def found(**changes):
    fields = dict(room="Lab 3", address="10.0.0.5", port=1234, tls=False, fingerprint=None,
                  password=False, users=14, version="0.9")
    fields.update(changes)
    return FoundRoom(**fields)


@pytest.mark.parametrize("room, command", [
    (found(), "python3 chat.pyz client 10.0.0.5"),
    (found(port=1240), "python3 chat.pyz client 10.0.0.5:1240"),
    (found(tls=True, fingerprint=FINGERPRINT, port=1236),
     'python3 chat.pyz client --tls --tls-fingerprint "C71A 9210 44B3 0F2E C71A 9210 44B3 0F2E '
     'C71A 9210 44B3 0F2E C71A 9210 44B3 0F2E" 10.0.0.5:1236'),
    (found(tls=True), "python3 chat.pyz client --tls 10.0.0.5"),
])
def test_join_command(room, command):
    assert join_command(room) == command
    options = cli.build_parser().parse_args(shlex.split(command)[2:])  # what a shell passes
    assert options.mode == "client" and options.address[0] == room.address
    assert cli._client_tls(options) is None or options.tls_fingerprint == (
        tls.grouped(room.fingerprint) if room.fingerprint else None)


def test_a_room_is_described_with_every_field_in_words():
    lines = describe(found(tls=True, fingerprint=FINGERPRINT, password=True, users=1))
    assert lines == [
        "Lab 3  (1 person)",
        "    at 10.0.0.5 port 1234, password needed, encrypted (TLS)",
        "    fingerprint begins C71A 9210 44B3 0F2E: compare it with the teacher's board",
        "    join:  " + join_command(found(tls=True, fingerprint=FINGERPRINT)),
    ]
    assert describe(found())[:2] == ["Lab 3  (14 people)",
                                     "    at 10.0.0.5 port 1234, no password, not encrypted"]


def test_a_rooms_name_cannot_make_lines_of_its_own():
    first = describe(found(room="Lab\n    join:  evil\x1b[2J"))[0]
    assert "\n" not in first and "\x1b" not in first


def test_sixteen_digits_are_shown_as_many_as_a_typed_pin_needs():
    assert finder.FINGERPRINT_SHOWN == tls.MIN_PIN_DIGITS == 16
    other = "C71A 9210 0000 0000" + " 0000" * 12  # a certificate made to match 8 digits
    shown = [finder.digits_shown(found(tls=True, fingerprint=fingerprint))
             for fingerprint in (FINGERPRINT, other)]
    assert shown == ["C71A 9210 44B3 0F2E", "C71A 9210 0000 0000"]


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)])
def test_rooms_are_listed_by_name_then_address_then_port_whatever_they_claim(order):
    rooms = [found(room="Chess", address="10.0.0.9", users=0),
             found(room="lab 3", address="10.0.0.5", port=1240, users=0),
             found(room="Lab 3", address="10.0.0.10", users=23, password=True),
             found(room="Lab 3", address="10.0.0.5", users=1)]
    listed = finder.in_order([rooms[index] for index in order])  # as the answers came
    assert [(room.address, room.port) for room in listed] == [
        ("10.0.0.9", 1234), ("10.0.0.5", 1234), ("10.0.0.5", 1240), ("10.0.0.10", 1234)]


@pytest.mark.parametrize("name", [
    "Lab 3", "lab 3", "LAB  3", " Lab 3 ", "Lab\u00a03", "Lab 3\u200b", "L\u00adab 3",
    "\uff2c\uff41\uff42 \uff13", "Lab\u30003",
])
def test_names_are_the_same_as_people_read_them(name):
    assert finder.name_as_read(name) == finder.name_as_read("Lab 3")


@pytest.mark.parametrize("name", ["Lab 33", "Lab3", "Lab 3b", "Lab 8"])
def test_names_that_read_differently_are_not_the_same(name):
    assert finder.name_as_read(name) != finder.name_as_read("Lab 3")


def test_rooms_that_share_a_name_are_marked_each_with_its_address():
    real, fake = found(address="10.0.0.5"), found(room="LAB 3", address="10.0.0.23", users=23)
    status, text = report([fake, found(room="Chess"), real], 1.5, SEARCH_PORTS)
    lines = text.splitlines()
    assert status == 0 and lines[:4] == [
        "Found 3 rooms:",
        "",
        '! More than one room is called "Lab 3" (at 10.0.0.5:1234 and 10.0.0.23:1234).',
        "  Anyone can start a room with any name: ask your teacher which address is on",
    ]
    assert [line for line in lines if line[:1] not in ("", " ")][-3:] == [
        "Chess  (14 people)",
        finder.SAME_NAME_MARK + " Lab 3  (14 people)",
        finder.SAME_NAME_MARK + " LAB 3  (23 people)"]
    assert text.index("at 10.0.0.5 port") < text.index("at 10.0.0.23 port")
    assert "!" not in report([real, found(room="Chess")], 1.5, SEARCH_PORTS)[1]


def test_this_computers_room_answering_from_each_of_its_addresses_is_one_room():
    answers = Answers(["10.0.0.5"])
    for source in ("127.0.0.1", "10.0.0.5", "10.0.0.23"):
        answers.add((source, 1234), answer())
    answers.add(("127.0.0.1", 1240), answer(port=1240))
    here, there = answers.rooms()[:2], answers.rooms()[2:]
    assert [room.here for room in answers.rooms()] == [True, True, False, True]
    assert not finder.same_names(here)  # the teacher's own find: one room, two addresses
    assert finder.same_name_warnings(here + there[:1])[0].startswith(
        'More than one room is called "Lab 3" (at 10.0.0.5:1234, 10.0.0.23:1234 and '
        "127.0.0.1:1234)")
    assert finder.same_names([here[0], there[1]])  # another port: another room


def test_three_rooms_of_one_name_are_all_named_with_their_addresses():
    rooms = [found(address="10.0.0.%d" % host) for host in (7, 5, 6)]
    assert finder.same_name_warnings(rooms) == [
        finder.SAME_NAME_WORDS % ("Lab 3", "at 10.0.0.5:1234, 10.0.0.6:1234 and "
                                               "10.0.0.7:1234")]


def test_report_lists_the_rooms_or_says_what_to_check():
    status, text = report([found(), found(room="Robotics", port=1240)], 1.5, SEARCH_PORTS)
    assert status == 0 and text.startswith("Found 2 rooms:\n\nLab 3  (14 people)\n")
    status, text = report([], 2.0, list(SEARCH_PORTS) + [5000])
    assert status == 1
    assert text.startswith("No chat room answered within 2 seconds "
                           "(asked: ports 1234 to 1243, 5000).")


def test_ports_words():
    assert ports_words([1234, 1235, 1236, 5000, 5002]) == "1234 to 1236, 5000, 5002"


def test_the_find_command_line():
    options = cli.build_parser().parse_args(["find", "--timeout", "3", "--port", "5000",
                                             "--port", "6000"])
    assert (options.timeout, options.port) == (3.0, [5000, 6000])
    options = cli.build_parser().parse_args(["find"])
    assert (options.timeout, options.port) == (finder.FIND_SECONDS, None)


def test_find_prints_its_report_and_exits_with_its_status(monkeypatch, capsys):
    asked = []

    def fake_find(timeout, ports, extra_ports):
        asked.append((timeout, tuple(ports), tuple(extra_ports)))
        return [found()]

    monkeypatch.setattr(finder, "find_rooms", fake_find)
    assert cli.main(["find", "--port", "5000"]) == 0
    assert asked == [(finder.FIND_SECONDS, SEARCH_PORTS, (5000,))]
    assert capsys.readouterr().out == report([found()], 1.5, SEARCH_PORTS)[1] + "\n"


def test_the_port_in_use_advice_names_the_ports_find_looks_at(monkeypatch):
    monkeypatch.setattr(server, "can_listen", lambda host, port: True)
    options = cli.build_parser().parse_args(["server"])
    text = server._bind_error(options, OSError(errno.EADDRINUSE, "Address in use"))
    assert "--port 1235" in text and "'python3 chat.pyz find' looks at ports 1234 to 1243" in text


def test_find_asks_the_ports_the_server_suggests():
    assert SEARCH_PORTS == tuple(range(1234, 1234 + server.PORT_SUGGESTIONS + 1))
