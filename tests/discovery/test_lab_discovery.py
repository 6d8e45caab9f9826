"""`chat.pyz find` across machines: a simulated lab of network namespaces (helpers.Lab).

The lab: a teacher's host running two rooms (ports 1234 and 1240) and a
third on port 5000 that only `--port 5000` asks; a student on the same
/24 with an ordinary default route; a student whose default route leads
to a dead-end adapter (so 255.255.255.255 from an unbound socket is lost
there); a student with no default route at all (an offline lab).  Every
datagram stays inside the lab (198.18.0.0/15); the lab is removed after.

The rooms are the real `chat.pyz server`, started in start_room_server().
"""

import collections
import json
import ssl
import subprocess
import sys

import pytest

from helpers import CERT, KEY, LAB_CLIENTS, Lab, ROOT, ServerProcess
from chat_app.wire import tls
from chat_app.discovery.finder import FINGERPRINT_SHOWN

pytestmark = pytest.mark.system


with open(CERT) as _handle:
    CERT_FINGERPRINT = tls.fingerprint(ssl.PEM_cert_to_DER_cert(_handle.read()))

Room = collections.namedtuple("Room", "name port password tls")
LAB_3 = Room("Lab 3", 1234, "sesame", True)
CHESS = Room("Chess club", 1240, None, False)
ELSEWHERE = Room("Room on 5000", 5000, None, False)  # outside the ports find always asks
ROOMS = (LAB_3, CHESS, ELSEWHERE)

FIND_TIMEOUT = "1.5"
DEAD_END = "198.18.1.3"  # the dead-end adapter's address: a network nobody is on
NO_GATEWAY = "198.18.0.254"  # the same-/24 student's default gateway (not answering)


def start_room_server(lab, host, room, pyz, directory):
    """Start a room's real server on a lab host (discovery on); return it (it has .stop())."""
    return ServerProcess(sys.executable, pyz, "--port", str(room.port), "--room", room.name,
                         *(["--password", room.password] if room.password else []),
                         *(["--tls-cert", CERT, "--tls-key", KEY] if room.tls else []),
                         host="", cwd=directory, prefix=lab.command(host))


@pytest.fixture(scope="module")
def lab(pyz, tmp_path_factory):
    with Lab("teacher", "student", "deadend", "noroute") as lab:
        lab.run("student", ["ip", "route", "add", "default", "via", NO_GATEWAY], check=True)
        lab.add_dead_end("deadend", DEAD_END, default_route=True)
        servers = []
        try:
            for room in ROOMS:
                directory = str(tmp_path_factory.mktemp("room%d" % room.port))
                servers.append(start_room_server(lab, "teacher", room, pyz, directory))
            yield lab
        finally:
            for server in servers:
                server.stop()


def find(lab, host, pyz, *args):
    return lab.run(host, [sys.executable, pyz, "find", "--timeout", FIND_TIMEOUT] + list(args),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


def expected_lines(room, address):
    """Return the lines find must print for a room answering from address."""
    shown = "" if room.port == 1234 else ":%d" % room.port
    password = "password needed" if room.password else "no password"
    lines = ["%s  (0 people)" % room.name]
    if room.tls:
        lines += ["    at %s port %d, %s, encrypted (TLS)" % (address, room.port, password),
                  "    fingerprint begins %s: compare it with the teacher's board"
                  % tls.grouped(CERT_FINGERPRINT, FINGERPRINT_SHOWN)]
        flags = '--tls --tls-fingerprint "%s" ' % tls.grouped(CERT_FINGERPRINT)
    else:
        lines.append("    at %s port %d, %s, not encrypted" % (address, room.port, password))
        flags = ""
    return lines + ["    join:  python3 chat.pyz client %s%s%s" % (flags, address, shown)]


def listed(output, room, address):
    """Tell how many times find's output lists room at address, every line as expected."""
    lines, want = output.splitlines(), expected_lines(room, address)
    return sum(1 for i in range(len(lines)) if lines[i:i + len(want)] == want)


@pytest.mark.parametrize("student", ["student", "deadend", "noroute"])
def test_find_from_each_student_lists_the_rooms_once_with_every_field(lab, pyz, student):
    result = find(lab, student, pyz)
    assert result.returncode == 0, result
    teacher = lab.address("teacher")
    assert result.stdout.startswith("Found 2 rooms:\n"), result.stdout
    assert listed(result.stdout, LAB_3, teacher) == 1, result.stdout
    assert listed(result.stdout, CHESS, teacher) == 1, result.stdout
    assert ELSEWHERE.name not in result.stdout  # port 5000 is not asked unless given


def test_find_asks_a_port_given_with_port_too(lab, pyz):
    result = find(lab, "student", pyz, "--port", "5000")
    assert result.returncode == 0, result
    assert result.stdout.startswith("Found 3 rooms:\n"), result.stdout
    assert listed(result.stdout, ELSEWHERE, lab.address("teacher")) == 1, result.stdout


def test_find_on_the_teachers_computer_lists_this_computers_rooms_too(lab, pyz):
    result = find(lab, "teacher", pyz)
    assert result.returncode == 0, result
    for address in ("127.0.0.1", lab.address("teacher")):
        assert listed(result.stdout, LAB_3, address) == 1, result.stdout
        assert listed(result.stdout, CHESS, address) == 1, result.stdout


def ask_unbound(lab, host):
    """What an unbound socket's query to 255.255.255.255:1234 gets on a host (the control)."""
    result = lab.run(host, [sys.executable, LAB_CLIENTS, "ask", "255.255.255.255", "1234"],
                     stdout=subprocess.PIPE, check=True)
    return json.loads(result.stdout.decode())


def test_the_dead_end_and_no_route_students_would_miss_the_room_asking_the_naive_way(lab):
    """The lab bites: only asking from each address reaches the teacher from these two."""
    assert ask_unbound(lab, "deadend") == {"answers": 0, "error": None}
    assert ask_unbound(lab, "noroute")["error"] == "ENETUNREACH"
    assert ask_unbound(lab, "student") == {"answers": 1, "error": None}


def test_the_kernel_tells_each_address_netmask_and_broadcast(lab):
    code = ("import json, sys; sys.path.insert(0, %r); from chat_app.wire import interfaces; "
            "print(json.dumps(interfaces.local_interfaces()))" % ROOT)
    result = lab.run("deadend", [sys.executable, "-c", code], stdout=subprocess.PIPE,
                     check=True)
    assert json.loads(result.stdout.decode()) == [
        ["eth0", lab.address("deadend"), "255.255.255.0", "198.18.0.255"],
        ["dead0", DEAD_END, "255.255.255.0", "198.18.1.255"],
    ]


def test_find_says_what_to_check_and_exits_1_when_no_room_answers(pyz):
    with Lab("teacher", "student") as quiet:
        result = find(quiet, "student", pyz)
    assert result.returncode == 1, result
    text = result.stdout
    assert "No chat room answered within 1.5 seconds (asked: ports 1234 to 1243)." in text
    for advice in ("the server is running", "--no-discovery", "allow Python on private networks",
                   "allow incoming connections", "sudo ufw allow 1234",
                   "this works even when the room is not listed"):
        assert advice in text, text

