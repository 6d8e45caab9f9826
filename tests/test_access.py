"""Who may connect: limits per address, the fd limit, and password guessing."""

import sys

import pytest

from helpers import Client, ServerProcess
from chat_app import room as room_module
from chat_app.access import (
    FD_RESERVE, FORGET_FAILURES_AFTER, MAX_PASSWORD_DELAY, PasswordGuard, fit_to_fd_limit,
    is_loopback,
)
from chat_app.room import Peer, Room

resource = pytest.importorskip("resource")  # Unix only: the file-descriptor limit


class Clock:
    """A monotonic clock and a sleep that only records (or also advances it)."""

    def __init__(self, advance=True):
        self.now = 1000.0
        self.slept = []
        self.advance = advance

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        if self.advance:
            self.now += seconds


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("192.0.2.7", False), ("2001:db8::1", False), ("fe80::1%eth0", False), ("nonsense", False),
])
def test_loopback_addresses_are_this_computer(address, loopback):
    assert is_loopback(address) is loopback


def test_wrong_passwords_are_free_three_times_then_slower_and_slower():
    clock = Clock()
    guard = PasswordGuard(clock, clock.sleep)
    waits = []
    for _ in range(10):
        waits.append(guard.wait_turn("192.0.2.7"))
        guard.failed("192.0.2.7")
        clock.now += 60  # a person takes a while to type the next guess
    assert waits == [0, 0, 0, 0.5, 1, 2, 4, 8, MAX_PASSWORD_DELAY, MAX_PASSWORD_DELAY]
    assert guard.wait_turn("192.0.2.8") == 0  # another machine is not slowed
    guard.succeeded("192.0.2.7")
    assert guard.wait_turn("192.0.2.7") == 0


def test_guesses_in_parallel_queue_behind_each_other_and_are_forgotten():
    clock = Clock(advance=False)  # three threads asking at the same moment
    guard = PasswordGuard(clock, clock.sleep)
    for _ in range(3):
        guard.failed("192.0.2.7")
    assert [guard.wait_turn("192.0.2.7") for _ in range(3)] == [0.5, 1.0, 1.5]
    clock.now += FORGET_FAILURES_AFTER + 1
    assert guard.wait_turn("192.0.2.7") == 0


def test_the_server_slows_a_guesser_and_lets_the_right_password_in(make_server):
    server = make_server("--password", "s3cret")
    clock = Clock()
    server.room._guard = PasswordGuard(clock, clock.sleep)
    for _ in range(5):
        guesser = server.client()
        guesser.send({"type": "join", "name": "eve", "password": "guess"})
        guesser.expect_error("bad_password")
        guesser.close()
    assert clock.slept == [0.5, 1.0]
    amy = server.client()
    amy.join("amy", password="s3cret")
    assert clock.slept == [0.5, 1.0, 2.0]  # the same address still waits its turn once
    bob = server.client()
    bob.join("bob", password="s3cret")
    assert clock.slept == [0.5, 1.0, 2.0]  # and not after a right password


def peer_from(address):
    return Peer(outbox=None, address=address)


def test_connections_per_address_are_limited_except_loopback():
    room = Room(max_clients=100, max_per_ip=2)
    first, second, third = (peer_from("192.0.2.7") for _ in range(3))
    assert room.admit(first) is None and room.admit(second) is None
    assert room.admit(third) == "per_ip"
    assert room.admit(peer_from("192.0.2.8")) is None
    assert [room.admit(peer_from("127.0.0.1")) for _ in range(5)] == [None] * 5
    room.release(first)
    assert room.admit(third) is None
    unlimited = Room(max_clients=3, max_per_ip=0)
    assert [unlimited.admit(peer_from("192.0.2.7")) for _ in range(4)] == [None, None, None, "full"]


def test_a_refused_address_is_told_why(make_server, monkeypatch):
    monkeypatch.setattr(room_module, "is_loopback", lambda address: False)
    server = make_server("--max-per-ip", "2")
    clients = [server.client(), server.client()]
    server.wait_connections(2)
    extra = server.client()
    extra.send({"type": "join", "name": "cy"})  # a program: JSON words
    error = extra.expect_error("server_full")
    assert "Too many connections from your computer's address (the limit is 2)" in error["message"]
    assert extra.assert_closed() == []
    server.out.wait_for("refused 127.0.0.1: 2 connections from that address already")
    for client in clients:
        client.join("u%d" % clients.index(client))


def test_max_clients_within_the_file_limit_is_kept_without_a_word():
    warnings = []
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert fit_to_fd_limit(soft - FD_RESERVE, warnings.append) == soft - FD_RESERVE
    assert warnings == []


def _limit_files(count):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))
    return apply


def test_a_server_with_few_file_descriptors_says_so_and_stays_within_them(pyz, tmp_path):
    limit = 64
    server = ServerProcess(sys.executable, pyz, "--max-clients", "1000", cwd=str(tmp_path),
                           preexec_fn=_limit_files(limit))
    try:
        assert ("--max-clients is lowered from 1000 to %d" % (limit - FD_RESERVE)) in server.err
        clients = [Client(server.port) for _ in range(limit - FD_RESERVE)]
        for number, client in enumerate(clients):
            client.join("user%d" % number)
        extra = Client(server.port)
        extra.send({"type": "join", "name": "extra"})
        extra.expect_error("server_full")
        assert server.process.poll() is None
        status, _ = server.stop()
        assert status == 0
    finally:
        server.kill()
