"""Who may connect, and how often they may guess the password.

Limits per address, a slowdown for repeated wrong passwords, and the fit of
--max-clients to the process's file-descriptor limit.  No sockets here:
the room and the server call these with addresses and numbers.
"""

import collections
import ipaddress
import threading
import time

# Connections one address may hold at once.  A lab machine runs a client
# or two; 50 leaves room for a shared NAT address without letting one
# script take the whole server.  Loopback is exempt: it is this computer.
DEFAULT_MAX_PER_IP = 50

# Wrong passwords from one address that cost nothing: people mistype.
FREE_PASSWORD_TRIES = 3

# After those, the next try from that address is checked only this long
# after the last wrong one, the step doubling with each further wrong one
# up to the last, so guessing from a script gets nowhere: 50 guesses take
# about six minutes, whether sent one by one or all at once.
FIRST_PASSWORD_DELAY = 0.5
MAX_PASSWORD_DELAY = 8.0

# Doublings after which the delay is surely at its last step (keeps the
# power small however many tries are counted).
DOUBLINGS_TO_MAX = 16

# An address's wrong passwords are forgotten after this long without one.
FORGET_FAILURES_AFTER = 600.0

# A try that will wait longer than this is told so before it waits
# (protocol.password_wait_frame): clients stop waiting for an answer after
# 5 seconds (connection.CONNECT_TIMEOUT), and a person deserves a word.
WAIT_WORTH_TELLING = 1.0

# Addresses remembered at most; older ones are dropped first.
MAX_REMEMBERED_ADDRESSES = 10000

# Refused connections told why at once, at most (each for a second or
# two); any more are closed at once, so a flood costs no more than these.
MAX_GOODBYES = 16

# File descriptors the server needs besides one per connection: the
# listening sockets, the fanout's wake-up pair and selector, the log,
# standard streams, the zipapp itself, with room to spare ...
BASE_FD_RESERVE = 32

# ... plus one for each goodbye in flight, and the spare descriptor that
# lets the server turn connections away when it has run out of them
# (accept_backoff.py), so that the check at start-up stays true.
FD_RESERVE = BASE_FD_RESERVE + MAX_GOODBYES + 1


def is_loopback(address):
    """Tell whether an address (as shown, e.g. "127.0.0.1" or "::1") is this computer."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class PasswordGuard:
    """Slow down repeated wrong passwords, per address, one after another or in parallel.

    An address's tries wait in one line, first come first checked, and
    only the first in line may be checked: at once while the address has
    fewer than FREE_PASSWORD_TRIES wrong passwords, else once the step for
    its wrong ones (FIRST_PASSWORD_DELAY doubling up to MAX_PASSWORD_DELAY)
    has passed since the last wrong one.  A wrong one counts and sets the
    next step; a right one forgets the wrong ones; a try whose connection
    ended leaves the line without effect, so a client that gave up holds
    no one back.  Fifty tries sent at once thus wait exactly as fifty sent
    one after another, and the first in line never waits more than one
    step.  No I/O: the clock is injected, and attempt() waits through a
    waiter its caller gives.
    """

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._lines = {}  # address -> _Line

    def attempt(self, address, check, waiter, slowed=None):
        """Run check() when this try's turn comes; return whether it said yes.

        The waiter's wait(seconds) waits that long, or with None until its
        wake() (called when the try becomes first in line), and returns
        False once the try's connection has ended: then
        PasswordTryAbandoned is raised and check() never runs.  Its
        tell(seconds) is called once, before any wait, when the try may wait
        longer than WAIT_WORTH_TELLING (at most `seconds`).  slowed(address)
        is called when this try's wrong password starts the slowdown.
        """
        ticket = self.line_up(address, waiter.wake)
        outcome = None
        try:
            longest = self.longest_wait(ticket)
            if longest > WAIT_WORTH_TELLING:
                waiter.tell(longest)
            while True:
                seconds = self.turn(ticket)
                if not waiter.wait(seconds):
                    raise PasswordTryAbandoned()
                if seconds == 0:
                    break  # its turn, and its connection still open
            outcome = bool(check())
            return outcome
        finally:
            if self.finish(ticket, outcome) and slowed is not None:
                slowed(address)

    def waiting(self, address):
        """Return how many tries from this address wait in its line now."""
        with self._lock:
            line = self._lines.get(address)
            return 0 if line is None else len(line.waiting)

    def line_up(self, address, wake):
        """Put a try from this address at the end of its line; return its ticket.

        `wake()` is called (outside the guard's lock) when it becomes first.
        """
        with self._lock:
            line = self._lines.get(address)
            if line is None:
                self._make_room()
                line = self._lines[address] = _Line(self._clock(), address)
            ticket = _Ticket(line, wake)
            line.waiting.append(ticket)
            return ticket

    def turn(self, ticket):
        """Return the seconds until this try may be checked (0: now), or None while others are ahead."""
        with self._lock:
            line = ticket.line
            if line.waiting[0] is not ticket:
                return None
            now = self._clock()
            return max(0.0, line.next_check(now) - now)

    def longest_wait(self, ticket):
        """Return how long this try waits at most: as if every try ahead of it were wrong."""
        with self._lock:
            line = ticket.line
            now = self._clock()
            wrong = line.failures_at(now)
            at = max(now, line.next_check(now))
            for _ in range(line.waiting.index(ticket)):
                wrong += 1
                at += password_step(wrong)
            return at - now

    def finish(self, ticket, outcome):
        """Tell a try's outcome: True (right), False (wrong) or None (not checked: it left).

        Return True if this wrong one starts the slowdown of its address.
        """
        with self._lock:
            line = ticket.line
            now = self._clock()
            was_first = line.waiting[0] is ticket
            line.waiting.remove(ticket)
            line.forget_if_old(now)
            if outcome is False:
                line.failures += 1
                line.last_wrong = now
            elif outcome:
                line.failures = 0
            wake = line.waiting[0].wake if was_first and line.waiting else None
            if not line.waiting and not line.failures and self._lines.get(line.address) is line:
                del self._lines[line.address]
            slowed = outcome is False and line.failures == FREE_PASSWORD_TRIES
        if wake is not None:
            wake()
        return slowed

    def _make_room(self):
        """Forget the address idle longest when MAX_REMEMBERED_ADDRESSES are remembered."""
        if len(self._lines) < MAX_REMEMBERED_ADDRESSES:
            return
        idle = [address for address, line in self._lines.items() if not line.waiting]
        if idle:
            del self._lines[min(idle, key=lambda address: self._lines[address].last_wrong)]


# What a try that left before its turn is answered: a client that closed
# reads nothing, but a script that only half-closed its connection does.
PASSWORD_NOT_CHECKED_MESSAGE = ("The password was not checked: the connection was closed while "
                                "it waited its turn. Keep it open until the answer comes.")

# What the teacher's console says once, when an address's wrong passwords
# begin to be slowed down.
SLOWDOWN_WORDS = ("%d wrong passwords from %%s: each further try from there waits up to "
                  "%g s before it is checked (this ends at a right password, or %d minutes "
                  "after the last wrong one)"
                  % (FREE_PASSWORD_TRIES, MAX_PASSWORD_DELAY, FORGET_FAILURES_AFTER // 60))


class PasswordTryAbandoned(Exception):
    """A password try ended before its turn came: its connection ended meanwhile."""


class _Line:
    """One address's tries waiting in line, its wrong passwords and the last one's time."""

    __slots__ = ("address", "failures", "last_wrong", "waiting")

    def __init__(self, now, address):
        self.address = address
        self.failures = 0
        self.last_wrong = now
        self.waiting = collections.deque()  # _Ticket, first in line first

    def failures_at(self, now):
        return 0 if now - self.last_wrong > FORGET_FAILURES_AFTER else self.failures

    def forget_if_old(self, now):
        self.failures = self.failures_at(now)

    def next_check(self, now):
        """Return when the first in line may be checked (at `now` or before: at once)."""
        return self.last_wrong + password_step(self.failures_at(now))


class _Ticket:
    """One try in its address's line, and how to wake its thread when it becomes first."""

    __slots__ = ("line", "wake")

    def __init__(self, line, wake):
        self.line = line
        self.wake = wake


def password_step(wrong):
    """Return how long after the last wrong password the next try waits, `wrong` counted."""
    if wrong < FREE_PASSWORD_TRIES:
        return 0.0
    doublings = min(wrong - FREE_PASSWORD_TRIES, DOUBLINGS_TO_MAX)
    return min(FIRST_PASSWORD_DELAY * 2 ** doublings, MAX_PASSWORD_DELAY)


def fit_to_fd_limit(max_clients, console):
    """Return --max-clients, lowered (with a warning on the console) to what the fd limit allows.

    The soft limit is raised towards the hard one first, as any user may.
    """
    try:
        import resource
    except ImportError:
        return max_clients  # Windows: no per-process descriptor limit to read
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max_clients + FD_RESERVE
    if soft == resource.RLIM_INFINITY or soft >= need:
        return max_clients
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # not allowed here: lower --max-clients instead
    if soft >= need:
        return max_clients
    lowered = max(1, soft - FD_RESERVE)
    console.error("warning: this server may have only %d files open at once (its 'ulimit -n'), "
                  "so --max-clients is lowered from %d to %d. To allow more, raise the limit "
                  "before starting the server, for example with 'ulimit -n %d'."
                  % (soft, max_clients, lowered, need))
    return lowered
