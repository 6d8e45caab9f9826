"""Who may connect: limits per address, the fd limit, and password guessing."""

import sys

import pytest

from helpers import Client, ServerProcess
from chat_app import room as room_module
from chat_app.access import (
    FD_RESERVE, FORGET_FAILURES_AFTER, FREE_PASSWORD_TRIES, MAX_PASSWORD_DELAY, PasswordGuard,
    PasswordTryAbandoned, fit_to_fd_limit, is_loopback, password_delay,
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


GUESSER = "192.0.2.7"


def wrong(guard, address=GUESSER):
    """Try a wrong password through the guard; return whether it was right (never)."""
    return guard.attempt(address, lambda: False)


def test_wrong_passwords_are_free_three_times_then_slower_and_slower():
    clock = Clock()
    guard = PasswordGuard(clock, clock.sleep)
    for _ in range(10):
        assert wrong(guard) is False
        clock.now += 60  # a person takes a while to type the next guess
    assert clock.slept == [0.5, 1, 2, 4, 8, MAX_PASSWORD_DELAY, MAX_PASSWORD_DELAY]
    assert guard.start_try("192.0.2.8") == 0  # another machine is not slowed
    assert guard.attempt(GUESSER, lambda: True) is True  # the right password, after 8 s
    assert guard.start_try(GUESSER) == 0  # a right password forgets the wrong ones


def test_tries_in_flight_count_as_wrong_so_parallel_tries_double_as_sequential_ones():
    clock = Clock(advance=False)  # fifty threads asking at the same moment
    guard = PasswordGuard(clock, clock.sleep)
    waits = [guard.start_try(GUESSER) for _ in range(50)]
    steps = [0.5, 1, 2, 4] + [MAX_PASSWORD_DELAY] * 43
    assert waits == [0, 0, 0] + [sum(steps[:n]) for n in range(1, 48)]
    assert waits[-1] == 351.5  # 5.9 minutes, as fifty tries one after another
    assert len([wait for wait in waits if wait <= 16]) == 8  # answered within 16 s: 3 + 5
    for _ in range(50):
        guard.finish_try(GUESSER, False)
    clock.now += waits[-1]
    assert guard.start_try(GUESSER) == MAX_PASSWORD_DELAY  # 50 wrong ones remembered


def test_a_try_in_flight_counts_until_its_outcome_and_a_right_one_clears():
    clock = Clock(advance=False)
    guard = PasswordGuard(clock, clock.sleep)
    assert [guard.start_try(GUESSER) for _ in range(3)] == [0, 0, 0]
    guard.finish_try(GUESSER, True)  # one was right: the wrong ones are forgotten ...
    assert guard.start_try(GUESSER) == 0  # ... but the two still in flight count: rank 2
    assert guard.start_try(GUESSER) == 0.5  # rank 3
    for _ in range(3):
        guard.finish_try(GUESSER, True)
    assert guard.start_try(GUESSER) == 0  # nothing left in flight or wrong
    guard.finish_try(GUESSER, False)


def guard_after_free_tries(clock):
    """Return a guard whose free tries are used up and whose next try waits 0.5 s, in flight."""
    guard = PasswordGuard(clock, clock.sleep)
    for _ in range(FREE_PASSWORD_TRIES):
        wrong(guard)
    assert guard.start_try(GUESSER) == 0.5
    return guard


def test_an_abandoned_try_counts_neither_way_but_its_turn_stays_booked():
    guard = guard_after_free_tries(Clock(advance=False))
    with pytest.raises(PasswordTryAbandoned):
        guard.attempt(GUESSER, lambda: pytest.fail("checked"), wait=lambda seconds: False)
    guard.finish_try(GUESSER, False)  # the first one, after its 0.5 s
    # Four wrong, none in flight: rank 4, a 1 s step after the turns booked (0.5 s, 1 s).
    assert guard.start_try(GUESSER) == 0.5 + 1 + 1


def test_guesses_are_forgotten_after_a_while_but_not_while_in_flight():
    clock = Clock(advance=False)
    guard = guard_after_free_tries(clock)
    clock.now += FORGET_FAILURES_AFTER + 1
    assert guard.start_try(GUESSER) == 1.0  # one is still waiting: nothing forgotten
    guard.finish_try(GUESSER, False)
    guard.finish_try(GUESSER, False)
    clock.now += FORGET_FAILURES_AFTER + 1
    assert guard.start_try(GUESSER) == 0


def test_the_delay_stays_at_its_last_step_however_many_tries():
    assert password_delay(FREE_PASSWORD_TRIES) == 0.5
    assert password_delay(10 ** 6) == MAX_PASSWORD_DELAY


def test_the_server_slows_a_guesser_and_lets_the_right_password_in(make_server, monkeypatch):
    server = make_server("--password", "s3cret")
    clock = Clock()
    server.room._guard = PasswordGuard(clock, clock.sleep)
    slept = clock.slept

    def wait(peer, seconds):  # the connection's wait, on the test's clock
        clock.sleep(seconds)
        return True

    monkeypatch.setattr(room_module, "wait_unless_ended", wait)
    for _ in range(5):
        guesser = server.client()
        guesser.send({"type": "join", "name": "eve", "password": "guess"})
        guesser.expect_error("bad_password")
        guesser.close()
    assert slept == [0.5, 1.0]
    amy = server.client()
    amy.join("amy", password="s3cret")
    assert slept == [0.5, 1.0, 2.0]  # the same address still waits its turn once
    bob = server.client()
    bob.join("bob", password="s3cret")
    assert slept == [0.5, 1.0, 2.0]  # and not after a right password


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
