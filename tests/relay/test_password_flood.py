"""Password guesses in parallel wait as long as one after another, and give up their thread."""

import re
import select
import socket
import threading
import time
import types

import pytest

from helpers import WAIT, wait_until
from chat_app.relay.access import (
    FREE_PASSWORD_TRIES,
    PASSWORD_NOT_CHECKED_MESSAGE,
    PasswordGuard,
)
from chat_app.relay.peer_wait import PasswordTryWait, wait_unless_ended
from chat_app.relay.peer import Peer

pytestmark = pytest.mark.system  # real servers, processes or sockets

# The attack: fifty wrong passwords at once from one address.
GUESSES = 50

# How long the flood is watched.  Doubling from 0.5 s, the tries after the
# free ones are answered at 0.5, 1.5, 3.5 and 7.5 s, the next at 15.5 s;
# the bug answered one every 0.5 s (about 20 in this time).
WATCH_SECONDS = 10.0
ANSWERED_IN_TIME = FREE_PASSWORD_TRIES + 4


class Flood:
    """The guesser's connections, and what each has read so far (frame types, "closed")."""

    def __init__(self, clients):
        self.clients = clients
        self.seen = {client: [] for client in clients}
        self.told = {}  # client -> its password_wait frame

    def read(self):
        """Take one line from each connection that has one; return True (for wait_until)."""
        readable, _, _ = select.select(
            [client.sock for client in self.clients if "closed" not in self.seen[client]],
            [], [], 0)
        for client in self.clients:
            if client.sock in readable:
                frame = client.frame()
                self.seen[client].append("closed" if frame is None else frame["type"])
                if frame is not None and frame["type"] == "password_wait":
                    self.told[client] = frame
        return True

    def answered(self):
        return [client for client in self.clients if "error" in self.seen[client]]


def test_fifty_parallel_wrong_passwords_wait_as_fifty_in_a_row(make_server):
    server = make_server("--password", "s3cret")  # loopback is not spared the password guard
    threads_before = threading.active_count()
    flood = Flood([server.client() for _ in range(GUESSES)])
    started = time.monotonic()
    for number, client in enumerate(flood.clients):
        client.send({"type": "join", "name": "eve%d" % number, "password": "guess%d" % number})
    wait_until(lambda: flood.read() and (len(flood.answered()) > ANSWERED_IN_TIME
                                         or time.monotonic() - started >= WATCH_SECONDS),
               WATCH_SECONDS + WAIT, "the flood to be watched")
    done = flood.answered()
    assert len(done) == ANSWERED_IN_TIME, "%d answered in %.1f s" % (
        len(done), time.monotonic() - started)
    # Every try that waits more than a second was told, at most how long: the
    # waits of fifty tries one after another (the last one 351.5 s).
    told = sorted(frame["seconds"] for frame in flood.told.values())
    assert told == [2, 4, 8, 16] + [16 + 8 * n for n in range(1, 43)]
    assert all(flood.told[client]["seconds"] <= 8 for client in done if client in flood.told)
    server.out.wait_for(r"3 wrong passwords from 127\.0\.0\.1: each further try")
    server.wait_connections(GUESSES - ANSWERED_IN_TIME)  # the rest still wait their turn
    for client in flood.clients:
        client.close()  # the guesser gives up: the waiting tries leave the line with it
    server.wait_connections(0)
    server.out.wait_for(r"refused 127\.0\.0\.1: it left while its password try waited its turn")
    wait_until(lambda: threading.active_count() <= threads_before, WAIT,
               lambda: "the waiting threads to end (%d left, %d before)"
               % (threading.active_count(), threads_before))
    # One line each for the teacher, not one per try (the rest are summed up later).
    assert len(re.findall(r"wrong passwords from 127\.0\.0\.1: each", server.out.text)) == 1
    assert len(re.findall(r"it left while its password try", server.out.text)) == 1


def test_waiting_tries_end_when_the_server_stops(make_server):
    server = make_server("--password", "s3cret")
    guard = server.room._guard
    for _ in range(GUESSES):  # tries in line ahead, whose threads never come back
        guard.line_up("127.0.0.1", lambda: None)
    waiting = [server.client() for _ in range(3)]
    for client in waiting:
        client.send({"type": "join", "name": "eve", "password": "guess"})
        assert client.expect("password_wait")["seconds"] > 300
    server.wait_connections(3)
    stopped = time.monotonic()
    server.close()
    for client in waiting:
        assert b'"bye"' in client.assert_closed()[0]
    server.wait_connections(0)
    assert time.monotonic() - stopped < WAIT


def test_the_text_password_path_waits_in_the_same_line_and_is_told_why(
        make_server, monkeypatch):
    server = make_server("--password", "s3cret")
    slept = []
    now = [1000.0]

    def wait(self, seconds):  # on the test's clock
        if seconds:
            slept.append(seconds)
            now[0] += seconds
        return True

    monkeypatch.setattr(PasswordTryWait, "wait", wait)
    server.room._guard = PasswordGuard(lambda: now[0])
    for _ in range(FREE_PASSWORD_TRIES + 2):
        program = server.client()
        program.send({"type": "join", "name": "eve", "password": "guess"})
        program.expect_error("bad_password")
    person = server.client()
    person.send_raw(b"eve\n")
    assert "password" in person.read_text()
    person.send_raw(b"guess\n")
    told = person.read_text()
    assert told.startswith("! Too many wrong passwords came from your computer's address")
    assert "within 2 seconds" in told
    assert "Wrong password" in person.read_text()
    assert slept == [0.5, 1, 2]  # its sixth wrong one waited its step, as a program's would


def test_a_script_that_half_closes_after_its_join_gets_its_answer(make_server):
    server = make_server("--password", "s3cret")
    tries = ["guess"] * (FREE_PASSWORD_TRIES - 1) + ["s3cret"] + ["guess"] * FREE_PASSWORD_TRIES
    for password in tries:  # printf ... | nc, in effect: checked at once, answered
        script = server.client()
        script.send({"type": "join", "name": "cy", "password": password})
        script.sock.shutdown(socket.SHUT_WR)
        answer = script.expect("welcome" if password == "s3cret" else "error")
        assert answer.get("code", "bad_password") == "bad_password"
        assert answer.get("message") != PASSWORD_NOT_CHECKED_MESSAGE
    # Slowed down, a try that must wait needs its connection open: a script is told so.
    script = server.client()
    script.send({"type": "join", "name": "cy", "password": "s3cret"})
    script.sock.shutdown(socket.SHUT_WR)
    assert script.expect_error("bad_password")["message"] == PASSWORD_NOT_CHECKED_MESSAGE


class Connection:
    """Both ends of a loopback TCP connection, the server's seen as a Peer."""

    def __init__(self):
        listener = socket.create_server(("127.0.0.1", 0))
        self.client = socket.create_connection(listener.getsockname())
        server_end, _ = listener.accept()
        listener.close()
        server_end.setblocking(False)
        self.peer = Peer(types.SimpleNamespace(sock=server_end), "127.0.0.1")

    def wait_in_thread(self, seconds):
        results = []
        thread = threading.Thread(
            target=lambda: results.append(wait_unless_ended(self.peer, seconds)), daemon=True)
        thread.start()
        return thread, results

    def close(self):
        self.client.close()
        self.peer.outbox.sock.close()


def test_a_wait_lasts_its_time_while_the_connection_stays():
    connection = Connection()
    try:
        assert wait_unless_ended(connection.peer, 0.05) is True
    finally:
        connection.close()


def _ended_early(connection, end):
    thread, results = connection.wait_in_thread(600)
    end()  # whether the wait has begun yet or not
    thread.join(WAIT)
    assert results == [False]


def test_a_wait_ends_when_the_client_closes():
    connection = Connection()
    try:
        _ended_early(connection, connection.client.close)
    finally:
        connection.close()


def test_a_wait_ends_when_the_server_ends_the_peer_even_after_input_arrived():
    connection = Connection()
    try:
        connection.client.sendall(b"typed meanwhile\n")
        _ended_early(connection, lambda: connection.peer.end("disconnected"))
        assert connection.peer.outbox.sock.recv(100) == b"typed meanwhile\n"  # left unread
    finally:
        connection.close()


def test_a_wait_ends_when_the_server_stops_reading():
    connection = Connection()
    try:
        _ended_early(connection, lambda: connection.peer.outbox.sock.shutdown(socket.SHUT_RD))
    finally:
        connection.close()
