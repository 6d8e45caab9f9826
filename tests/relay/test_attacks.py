"""Limits that hold from accept on, and a server out of file descriptors.

The TLS flood comes from a non-loopback address (loopback is exempt from
--max-per-ip), so it runs in a lab network of Linux namespaces the test
makes and removes (helpers.Lab, addresses from 198.18.0.0/15).  The
descriptor floods run on loopback against a server process whose file
limit is low.  Figures print with -s (docs/security.md has them).
"""

import errno
import json
import os
import re
import resource
import select
import socket
import subprocess
import sys
import threading
import time

import pytest

from fake_console import FakeConsole
from helpers import CERT, KEY, LAB_CLIENTS, WAIT, Client, Lab, ServerProcess, wait_until
from test_abuse import proc_status, require_proc
from chat_app.relay.accept_backoff import FIRST_PAUSE, MAX_PAUSE, AcceptBackoff
from chat_app.relay.access import DEFAULT_MAX_PER_IP, FD_RESERVE, MAX_GOODBYES
from chat_app.relay.console_digest import MAX_PERIODS, NO_TLS, REFUSED, ConsoleDigest
from chat_app.relay.handler import GOODBYE_SECONDS


# The start of a TLS ClientHello (record type, version), then nothing.
PARTIAL_HELLO = "160301"

# Threads and descriptors a server may hold above its baseline plus the
# connections it admitted (a thread starting or ending as it is counted).
SLACK = 3

# "Joins within a second", as the issue asks, and the share of a core the
# server may use during a flood: generous, but a busy accept loop uses all.
JOIN_SECONDS = 1.0
MAX_CPU_SHARE = 0.3


def cpu_seconds(pid):
    """Return the CPU time (user + system) a process has used, in seconds."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_line(process, timeout=WAIT * 2):
    """Return the next line a subprocess prints, waiting at most `timeout` seconds."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the lab client printed nothing within %gs" % timeout
    return process.stdout.readline()


def extra(pid, baseline):
    """Return (threads, descriptors) a process holds above its baseline."""
    now = proc_status(pid)
    return now[0] - baseline[0], now[1] - baseline[1]


# --- 1. every connection counted from its accept ------------------------------

class Sampler:
    """Sample what a process holds above a baseline, in a thread, and keep the peak."""

    def __init__(self, pid, baseline):
        self.pid, self.baseline = pid, baseline
        self.peak = (0, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.005):
            now = extra(self.pid, self.baseline)
            self.peak = tuple(max(pair) for pair in zip(self.peak, now))

    def stop(self):
        self._stop.set()
        self._thread.join(WAIT)
        return self.peak


@pytest.mark.system
def test_400_unfinished_tls_handshakes_from_one_address_hold_at_most_max_per_ip(pyz, tmp_path):
    require_proc()
    with Lab("server", "attacker", "student") as lab:
        host = lab.address("server")
        server = ServerProcess(sys.executable, pyz, "--tls-cert", CERT, "--tls-key", KEY,
                               "--max-clients", "300", "--join-timeout", "30",
                               cwd=str(tmp_path), host=host, prefix=lab.command("server"))
        attacker = None
        try:
            pid = server.process.pid
            baseline = proc_status(pid)
            sampler = Sampler(pid, baseline)
            attacker = lab.popen("attacker", [
                sys.executable, LAB_CLIENTS, "hold", host, str(server.port), "400",
                "--send", PARTIAL_HELLO, "--seconds", "60"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
            assert read_line(attacker).split() == ["ready", "400"]
            joined = lab.run("student", [sys.executable, LAB_CLIENTS, "join", host,
                                         str(server.port), "amy", "--tls"],
                             stdout=subprocess.PIPE, universal_newlines=True)
            seconds = json.loads(joined.stdout)["seconds"]
            # The admitted handshakes may last the join timeout; they end with the attacker.
            attacker.kill()
            attacker.wait(WAIT)
            wait_until(lambda: max(extra(pid, baseline)) <= SLACK, GOODBYE_SECONDS + WAIT,
                       "the server to let go of the attack's connections", interval=0.05)
            peak = sampler.stop()
            print("\n400 unfinished TLS handshakes from one address: at most %d threads and %d "
                  "descriptors above the baseline; a student joined in %.3f s"
                  % (peak + (seconds,)))
            assert seconds < JOIN_SECONDS
            for count in peak:  # the admitted ones, and the goodbyes, no more
                assert DEFAULT_MAX_PER_IP <= count <= DEFAULT_MAX_PER_IP + MAX_GOODBYES + SLACK
            refusals = re.findall(r"refused .*198\.18\.0\.2.*", server.out)
            assert refusals and len(refusals) <= 3, refusals  # a pile-up is summed up
            assert "50 connections from that address already (see --max-per-ip)" in refusals[0]
        finally:
            if attacker is not None and attacker.poll() is None:
                attacker.kill()
                attacker.wait(WAIT)
            server.kill()


@pytest.mark.system
def test_refusals_beyond_the_goodbyes_are_closed_at_once(make_server):
    server = make_server("--max-clients", "1", "--join-timeout", "30")
    member = server.client()
    member.join("amy")
    flood = [server.client() for _ in range(MAX_GOODBYES * 3)]
    started = time.monotonic()
    closed_at_once = 0
    for sock in (client.sock for client in flood):
        sock.settimeout(max(0.01, started + 0.5 - time.monotonic()))
        try:
            closed_at_once += sock.recv(100) == b""
        except (socket.timeout, ConnectionResetError):
            pass  # told why, later: one of the goodbyes
    assert closed_at_once >= len(flood) - MAX_GOODBYES
    told = [client.assert_closed(GOODBYE_SECONDS + WAIT) for client in flood]
    assert time.monotonic() - started < GOODBYE_SECONDS + 1.0  # each goodbye is bounded
    assert sum(lines == [b"! The chat room is full, so you cannot join now. Try again in a "
                         b"few minutes, or ask the teacher to raise --max-clients."]
               for lines in told) >= MAX_GOODBYES // 2  # the goodbyes said it in words
    assert server.out.text.count("refused 127.0.0.1") == 1
    member.send({"type": "say", "text": "still here"})
    assert member.expect("message")["text"] == "still here"
    server.wait_connections(1)


def test_a_pile_up_is_summed_up_once_a_period():
    console, now = FakeConsole(), [100.0]
    lines = console.lines
    digest = ConsoleDigest(console, clock=lambda: now[0], seconds=5.0)
    for _ in range(40):
        digest.report(REFUSED, "198.18.0.2", "50 connections from that address already")
    digest.report(NO_TLS, "198.18.0.2", "timed out")
    digest.report(REFUSED, "198.18.0.3", "the server is full")
    assert lines == ["refused 198.18.0.2: 50 connections from that address already",
                     "no encrypted connection with 198.18.0.2: timed out",
                     "refused 198.18.0.3: the server is full"]
    now[0] += 5.0
    digest.tick()
    assert lines[3:] == ["refused 39 more connection(s) from 198.18.0.2 in the last 5 seconds: "
                         "50 connections from that address already"]
    digest.report(REFUSED, "198.18.0.2", "50 connections from that address already")
    now[0] += 5.0
    digest.tick()
    assert lines[4:] == ["refused 1 more connection(s) from 198.18.0.2 in the last 5 seconds: "
                         "50 connections from that address already"]
    now[0] += 5.0
    digest.tick()
    digest.report(REFUSED, "198.18.0.2", "50 connections from that address already")
    assert lines[5:] == ["refused 198.18.0.2: 50 connections from that address already"]


def test_a_flood_from_many_addresses_keeps_the_digest_bounded():
    console, now = FakeConsole(), [100.0]
    lines = console.lines

    def clock():
        now[0] += 0.001  # each report a little later than the one before
        return now[0]

    digest = ConsoleDigest(console, clock=clock)
    addresses = ["198.18.1.%d" % number for number in range(MAX_PERIODS + 1)]
    digest.report(REFUSED, addresses[0], "full")
    digest.report(REFUSED, addresses[0], "full")
    for address in addresses[1:]:
        digest.report(REFUSED, address, "full")
    assert len(digest._periods) == MAX_PERIODS
    assert lines.count("refused 1 more connection(s) from 198.18.1.0 in the last 5 seconds: "
                       "full") == 1  # summed up early, not lost
    assert len(lines) == MAX_PERIODS + 2


# --- 2. out of file descriptors -------------------------------------------------

def limit_files(count):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))
    return apply


def flood(port, count):
    """Open `count` loopback connections that send nothing."""
    return [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(count)]


def answered(sock):
    """Tell whether the server has done something with a connection: words, or a close."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def chat_in_order(sender, listener, count, tag):
    """Have `sender` say `count` numbered lines; check `listener` gets them in order."""
    for number in range(count):
        sender.send({"type": "say", "text": "%s %d" % (tag, number)})
    got = []
    while len(got) < count:
        text = listener.expect("message")["text"]
        if text.startswith(tag):  # skipping what the listener said itself before
            got.append(text)
    assert got == ["%s %d" % (tag, number) for number in range(count)]


def joins(port, name):
    """Try to join once; return True on a welcome."""
    try:
        client = Client(port)
        client.send({"type": "join", "name": name})
        frame = client.frame(timeout=JOIN_SECONDS)
    except (OSError, AssertionError):
        return False
    client.close()
    return frame is not None and frame.get("type") == "welcome"


def members(port):
    amy, bob = Client(port), Client(port)
    amy.join("amy")
    bob.join("bob")
    return amy, bob


def weather_a_flood(server, count, what, make_short=None):
    """Flood a server while two members chat; check its CPU, their order, a join after.

    `make_short`, if given, takes descriptors from the server once the
    members are in; the server must then say it ran short.  The CPU is
    measured from the flood's start until every connection of it was
    answered or closed.
    """
    pid = server.process.pid
    amy, bob = members(server.port)
    if make_short is not None:
        make_short()
    cpu, started = cpu_seconds(pid), time.monotonic()
    sockets = flood(server.port, count)
    try:
        if make_short is not None:
            wait_until(lambda: "cannot take new connections: this server has as many files"
                       in server.err, WAIT, "the server to say it ran out of descriptors")
        chat_in_order(amy, bob, 20, "during the flood")
        wait_until(lambda: all(answered(sock) for sock in sockets), MAX_PAUSE + WAIT,
                   "every connection of the flood to be answered or closed, none left hanging")
        used, wall = cpu_seconds(pid) - cpu, time.monotonic() - started
        print("\n%s, %d connections: %.2f s of CPU in %.2f s" % (what, count, used, wall))
        assert used < MAX_CPU_SHARE * wall
    finally:
        for sock in sockets:
            sock.close()
    wait_until(lambda: joins(server.port, "cy"), WAIT, "a new student to join")
    chat_in_order(bob, amy, 5, "after the flood")


@pytest.mark.system
def test_a_flood_at_ulimit_n_128_neither_spins_nor_shuts_students_out(pyz, tmp_path):
    require_proc()
    server = ServerProcess(sys.executable, pyz, "--max-clients", "1000", "--rate-limit", "0",
                           cwd=str(tmp_path), preexec_fn=limit_files(128))
    try:
        assert "--max-clients is lowered from 1000 to %d" % (128 - FD_RESERVE) in server.err
        weather_a_flood(server, 600, "ulimit -n 128")
        assert "cannot take new connections" not in server.err  # the reserve held
    finally:
        server.kill()


@pytest.mark.system
def test_out_of_descriptors_the_server_pauses_says_so_once_and_recovers(pyz, tmp_path):
    require_proc()
    server = ServerProcess(sys.executable, pyz, "--max-clients", "200", "--rate-limit", "0",
                           cwd=str(tmp_path))
    pid = server.process.pid

    def make_short():
        """Leave the server fewer descriptors than --max-clients needs, as if taken."""
        _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (proc_status(pid)[1] + 10, hard))

    try:
        weather_a_flood(server, 300, "out of descriptors", make_short)
        server.wait_for("taking new connections again")
        assert server.err.count("cannot take new connections") == 1
        assert server.out.count("taking new connections again") == 1
    finally:
        server.kill()


def test_the_pause_doubles_up_to_its_bound_and_is_said_once():
    console = FakeConsole()
    warnings, notes = console.errors, console.infos
    backoff = AcceptBackoff(console)
    try:
        pauses = []
        for _ in range(8):
            started = time.monotonic()
            backoff.freed()  # a close wakes the pause at once
            assert backoff.failed(None, OSError(errno.ENOBUFS, "no buffer space"))
            pauses.append(backoff.pause)
            assert time.monotonic() - started < MAX_PAUSE
        assert pauses == [min(FIRST_PAUSE * 2 ** n, MAX_PAUSE) for n in range(1, 9)]
        assert len(warnings) == 1 and "out of memory for network connections" in warnings[0]
        assert not backoff.failed(None, OSError(errno.ECONNABORTED, "aborted"))
        backoff.accepted()
        backoff.accepted()
        assert notes == ["taking new connections again (0 attempt(s) were turned away "
                         "meanwhile)"]
        assert backoff.pause == FIRST_PAUSE
    finally:
        backoff.close()
