"""Password guesses in parallel wait as long as one after another, and give up their thread."""

import select
import socket
import threading
import time
import types

from helpers import WAIT, wait_until
from chat_app import room as room_module
from chat_app.access import FREE_PASSWORD_TRIES, PasswordGuard
from chat_app.peer_wait import wait_unless_ended
from chat_app.room import Peer

# The attack: fifty wrong passwords at once from one address.
GUESSES = 50

# How long the flood is watched.  Doubling from 0.5 s, the tries after the
# free ones are answered at 0.5, 1.5, 3.5 and 7.5 s, the next at 15.5 s;
# the bug answered one every 0.5 s (about 20 in this time).
WATCH_SECONDS = 10.0
ANSWERED_IN_TIME = FREE_PASSWORD_TRIES + 4


def answered(clients):
    """Return the clients with something to read (their answer, or the end)."""
    readable, _, _ = select.select([client.sock for client in clients], [], [], 0)
    return [client for client in clients if client.sock in readable]


def test_fifty_parallel_wrong_passwords_wait_as_fifty_in_a_row(make_server):
    server = make_server("--password", "s3cret")  # loopback is not spared the password guard
    threads_before = threading.active_count()
    clients = [server.client() for _ in range(GUESSES)]
    started = time.monotonic()
    for number, client in enumerate(clients):
        client.send({"type": "join", "name": "eve%d" % number, "password": "guess%d" % number})
    wait_until(lambda: len(answered(clients)) > ANSWERED_IN_TIME
               or time.monotonic() - started >= WATCH_SECONDS,
               WATCH_SECONDS + WAIT, "the flood to be watched")
    done = answered(clients)
    assert len(done) == ANSWERED_IN_TIME, "%d answered in %.1f s" % (
        len(done), time.monotonic() - started)
    for client in done:
        client.expect_error("bad_password")
    server.wait_connections(GUESSES - ANSWERED_IN_TIME)  # the rest still wait their turn
    for client in clients:
        client.close()  # the guesser gives up: the waiting tries end with it
    server.wait_connections(0)
    server.out.wait_for(r"refused eve\d+ \(127\.0\.0\.1\): it left while its password try "
                        r"waited its turn")
    wait_until(lambda: threading.active_count() <= threads_before, WAIT,
               lambda: "the waiting threads to end (%d left, %d before)"
               % (threading.active_count(), threads_before))


def test_a_waiting_try_ends_when_the_server_stops(make_server):
    server = make_server("--password", "s3cret")
    guard = server.room._guard
    for _ in range(GUESSES):  # tries in flight book the turns minutes ahead
        guard.start_try("127.0.0.1")
    waiting = [server.client() for _ in range(3)]
    for client in waiting:
        client.send({"type": "join", "name": "eve", "password": "guess"})
    server.wait_connections(3)
    stopped = time.monotonic()
    server.close()
    for client in waiting:
        assert b'"bye"' in client.assert_closed()[0]
    server.wait_connections(0)
    assert time.monotonic() - stopped < WAIT


def test_the_text_password_path_waits_in_the_same_line(make_server, monkeypatch):
    server = make_server("--password", "s3cret")
    slept = []

    def wait(peer, seconds):
        slept.append(seconds)
        return True

    monkeypatch.setattr(room_module, "wait_unless_ended", wait)
    server.room._guard = PasswordGuard()
    for _ in range(FREE_PASSWORD_TRIES):
        program = server.client()
        program.send({"type": "join", "name": "eve", "password": "guess"})
        program.expect_error("bad_password")
    person = server.client()
    person.send_raw(b"eve\n")
    assert "password" in person.read_text()
    person.send_raw(b"guess\n")
    assert "Wrong password" in person.read_text()
    assert slept == [0.5]  # its fourth wrong one waited, as a program's would


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
