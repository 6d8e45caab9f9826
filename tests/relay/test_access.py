"""Who may connect: limits per address, the fd limit, and password guessing."""

import sys

import pytest

from fake_console import FakeConsole
from helpers import Client, ServerProcess
from chat_app.relay import room as room_module
from chat_app.relay.access import (
    FD_RESERVE,
    FORGET_FAILURES_AFTER,
    FREE_PASSWORD_TRIES,
    MAX_PASSWORD_DELAY,
    PasswordGuard,
    PasswordTryAbandoned,
    fit_to_fd_limit,
    is_loopback,
    password_step,
)
from chat_app.relay.peer_wait import PasswordTryWait

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


class Waiter:
    """A try's waiter on the test's clock: waiting advances it; the tries told are kept."""

    def __init__(self, clock, stays=True):
        self.clock = clock
        self.stays = stays  # False: the connection ended while the try waited
        self.told = []

    def wait(self, seconds):
        assert seconds is not None, "one try at a time: none waits behind another"
        if seconds:  # 0: the connection is only looked at before the check
            self.clock.sleep(seconds)
        return self.stays or seconds == 0

    def wake(self):
        pytest.fail("woken, though no try was behind another")

    def tell(self, seconds):
        self.told.append(seconds)


def wrong(guard, clock, address=GUESSER):
    """Try a wrong password through the guard; return whether it was right (never)."""
    return guard.attempt(address, lambda: False, Waiter(clock))


def test_wrong_passwords_are_free_three_times_then_each_next_one_waits_doubling():
    clock = Clock()
    guard = PasswordGuard(clock)
    for _ in range(10):  # a script: the next guess as soon as the last one is answered
        assert wrong(guard, clock) is False
    assert clock.slept == [0.5, 1, 2, 4, 8, MAX_PASSWORD_DELAY, MAX_PASSWORD_DELAY]
    assert guard.turn(guard.line_up("192.0.2.8", None)) == 0  # another machine is not slowed
    waiter = Waiter(clock)
    assert guard.attempt(GUESSER, lambda: True, waiter) is True  # the right one, after 8 s
    assert clock.slept[-1] == MAX_PASSWORD_DELAY and waiter.told == [MAX_PASSWORD_DELAY]
    assert guard.turn(guard.line_up(GUESSER, None)) == 0  # a right password forgets them


def test_the_wait_counts_from_the_last_wrong_password_so_a_slow_typist_never_waits():
    clock = Clock()
    guard = PasswordGuard(clock)
    for _ in range(10):
        wrong(guard, clock)
        clock.now += 60  # a person takes a while to type the next guess
    assert clock.slept == []


def line_of(guard, count, address=GUESSER):
    """Return `count` tries lined up at once from one address, and the wakes each got."""
    woken = []
    tickets = []
    for number in range(count):
        tickets.append(guard.line_up(address, lambda number=number: woken.append(number)))
    return tickets, woken


def test_parallel_tries_wait_in_line_and_double_exactly_as_sequential_ones():
    clock = Clock(advance=False)  # fifty threads asking at the same moment
    guard = PasswordGuard(clock)
    tickets, woken = line_of(guard, 50)
    longest = [guard.longest_wait(ticket) for ticket in tickets]
    steps = [0.5, 1, 2, 4] + [MAX_PASSWORD_DELAY] * 43
    assert longest == [0, 0, 0] + [sum(steps[:n]) for n in range(1, 48)]
    assert longest[-1] == 351.5  # 5.9 minutes, as fifty tries one after another
    assert [guard.turn(ticket) for ticket in tickets[:2]] == [0, None]  # behind: no turn yet
    checked_at = []
    for number, ticket in enumerate(tickets):
        clock.now += guard.turn(ticket)  # each waits for its turn, then is wrong
        checked_at.append(clock.now - 1000.0)
        guard.finish(ticket, False)
    assert checked_at == longest  # the estimate told each try was its exact wait
    assert woken == list(range(1, 50))  # each was woken when it became first
    assert guard.turn(guard.line_up(GUESSER, None)) == MAX_PASSWORD_DELAY  # 50 remembered


def test_a_try_that_left_holds_no_one_back():
    clock = Clock()
    guard = PasswordGuard(clock)
    for _ in range(7):  # seven wrong: the next is checked 8 s after the last
        wrong(guard, clock)
    (gave_up, patient), woken = line_of(guard, 2)
    assert guard.turn(gave_up) == MAX_PASSWORD_DELAY and guard.turn(patient) is None
    clock.now += 5  # the client stops waiting for an answer and closes
    guard.finish(gave_up, None)
    assert woken == [1]
    for _ in range(10):  # more give up meanwhile, lined up behind: nothing is booked
        guard.finish(guard.line_up(GUESSER, None), None)
    assert guard.turn(patient) == 3  # checked when the first one would have been
    clock.now += 3
    guard.finish(patient, True)
    assert guard.turn(guard.line_up(GUESSER, None)) == 0


def test_the_right_password_forgets_the_wrong_ones_for_the_tries_behind_it():
    clock = Clock()
    guard = PasswordGuard(clock)
    for _ in range(5):
        wrong(guard, clock)
    (right, behind, after), woken = line_of(guard, 3)
    clock.now += guard.turn(right)
    guard.finish(right, True)
    assert woken == [1] and guard.turn(behind) == 0
    guard.finish(behind, False)
    assert guard.turn(after) == 0  # one wrong since the right one: still free


def test_guesses_are_forgotten_after_a_while_without_one():
    clock = Clock()
    guard = PasswordGuard(clock)
    for _ in range(5):
        wrong(guard, clock)
    ticket = guard.line_up(GUESSER, None)
    assert guard.turn(ticket) == 2.0  # five wrong: 2 s after the last
    clock.now += FORGET_FAILURES_AFTER + 1
    assert guard.turn(ticket) == 0 and guard.longest_wait(ticket) == 0
    guard.finish(ticket, False)
    assert guard.turn(guard.line_up(GUESSER, None)) == 0  # one wrong one since: free


def test_an_abandoned_try_is_never_checked_and_a_long_wait_is_told_first():
    clock = Clock()
    guard = PasswordGuard(clock)
    slowed = []
    for _ in range(FREE_PASSWORD_TRIES):
        guard.attempt(GUESSER, lambda: False, Waiter(clock), slowed=slowed.append)
    assert slowed == [GUESSER]  # once, when the slowdown starts
    short = Waiter(clock)
    guard.attempt(GUESSER, lambda: False, short, slowed=slowed.append)
    assert short.told == [] and slowed == [GUESSER]  # 0.5 s: not worth a word
    guard.attempt(GUESSER, lambda: False, Waiter(clock))
    left = Waiter(clock, stays=False)
    with pytest.raises(PasswordTryAbandoned):
        guard.attempt(GUESSER, lambda: pytest.fail("checked"), left)
    assert left.told == [2.0]
    assert guard.turn(guard.line_up(GUESSER, None)) == 0  # 2 s passed: no wrong one counted


def test_the_step_stays_at_its_last_one_however_many_tries():
    assert password_step(FREE_PASSWORD_TRIES - 1) == 0
    assert password_step(FREE_PASSWORD_TRIES) == 0.5
    assert password_step(10 ** 6) == MAX_PASSWORD_DELAY


@pytest.mark.system
def test_the_server_slows_a_guesser_tells_it_and_lets_the_right_password_in(
        make_server, monkeypatch):
    server = make_server("--password", "s3cret")
    clock = Clock()
    server.room._guard = PasswordGuard(clock)

    def wait(self, seconds):  # the connection's wait, on the test's clock
        if seconds:
            clock.sleep(seconds)
        return True

    monkeypatch.setattr(PasswordTryWait, "wait", wait)
    for number in range(6):
        guesser = server.client()
        guesser.send({"type": "join", "name": "eve", "password": "guess"})
        if number == 5:  # waits 2 s: told first, in words and in seconds
            told = guesser.expect("password_wait")
            assert told["seconds"] == 2 and "within 2 seconds" in told["message"]
        guesser.expect_error("bad_password")
        guesser.close()
    assert clock.slept == [0.5, 1.0, 2.0]
    server.out.wait_for(r"3 wrong passwords from 127\.0\.0\.1: each further try from there "
                        r"waits up to 8 s")
    amy = server.client()
    amy.join("amy", password="s3cret")
    assert clock.slept[-1] == 4.0  # the same address still waits its turn once
    bob = server.client()
    bob.join("bob", password="s3cret")
    assert len(clock.slept) == 4  # and not after a right password


@pytest.mark.system
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
    console = FakeConsole()
    warnings = console.lines
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert fit_to_fd_limit(soft - FD_RESERVE, console) == soft - FD_RESERVE
    assert warnings == []


def _limit_files(count):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))
    return apply


@pytest.mark.system
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


def test_the_guard_tells_how_many_tries_wait_in_an_addresss_line():
    guard = PasswordGuard()
    assert guard.waiting(GUESSER) == 0
    first = guard.line_up(GUESSER, lambda: None)
    guard.line_up(GUESSER, lambda: None)
    assert guard.waiting(GUESSER) == 2 and guard.waiting("192.0.2.99") == 0
    guard.finish(first, None)  # it left
    assert guard.waiting(GUESSER) == 1
