"""Who may connect, and how often they may guess the password.

Limits per address, a slowdown for repeated wrong passwords, and the fit of
--max-clients to the process's file-descriptor limit.  No sockets here:
the room and the server call these with addresses and numbers.
"""

import ipaddress
import threading
import time

# Connections one address may hold at once.  A lab machine runs a client
# or two; 50 leaves room for a shared NAT address without letting one
# script take the whole server.  Loopback is exempt: it is this computer.
DEFAULT_MAX_PER_IP = 50

# Wrong passwords from one address that cost nothing: people mistype.
FREE_PASSWORD_TRIES = 3

# After those, each further try from that address waits, doubling from
# the first step up to the last, so guessing from a script gets nowhere:
# 50 guesses take about six minutes, whether sent one by one or at once.
FIRST_PASSWORD_DELAY = 0.5
MAX_PASSWORD_DELAY = 8.0

# Doublings after which the delay is surely at its last step (keeps the
# power small however many tries are counted).
DOUBLINGS_TO_MAX = 16

# An address's wrong passwords are forgotten after this long without one.
FORGET_FAILURES_AFTER = 600.0

# Addresses remembered at most; older ones are dropped first.
MAX_REMEMBERED_ADDRESSES = 10000

# Refused connections told why at once, at most (each for a second or
# two); any more are closed at once, so a flood costs no more than these.
MAX_GOODBYES = 16

# File descriptors the server needs besides one per connection: the
# listening sockets, the writer's wake-up pair and selector, the log,
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

    Each try first takes its turn (start_try), then its outcome is told
    (finish_try).  A try's rank is the address's wrong passwords plus its
    tries still in flight (waiting for their turn or being checked): until
    its outcome is known a try counts as wrong, so fifty tries sent at once
    wait as long as fifty sent one after another.  The first
    FREE_PASSWORD_TRIES ranks go at once; each further try waits its step
    (FIRST_PASSWORD_DELAY doubling up to MAX_PASSWORD_DELAY) after the turn
    of the try before it.  A right password forgets the wrong ones; a try
    abandoned before it was checked (its connection ended) counts neither
    way, but the turns booked stay booked.  No I/O: the clock is injected,
    and so is the sleep that attempt() waits with when its caller gives none.
    """

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._records = {}  # address -> _Tries

    def attempt(self, address, check, wait=None):
        """Run check() when this address's turn comes; return whether it said yes.

        `wait(seconds)` waits for the turn and returns False if the try was
        abandoned meanwhile (then PasswordTryAbandoned is raised and check()
        never runs); without it the guard's sleep waits.
        """
        delay = self.start_try(address)
        outcome = None
        try:
            if delay > 0 and not (wait or self._sleep_through)(delay):
                raise PasswordTryAbandoned()
            outcome = bool(check())
            return outcome
        finally:
            self.finish_try(address, outcome)

    def _sleep_through(self, seconds):
        self._sleep(seconds)
        return True

    def start_try(self, address):
        """Count a try from this address in flight; return the seconds it waits for its turn."""
        with self._lock:
            now = self._clock()
            tries = self._records.get(address)
            if tries is not None and not tries.in_flight and tries.forgotten(now):
                del self._records[address]
                tries = None
            if tries is None:
                self._make_room()
                tries = self._records[address] = _Tries(now)
            rank = tries.failures + tries.in_flight
            tries.in_flight += 1
            if rank < FREE_PASSWORD_TRIES:
                return 0.0
            turn = max(now, tries.next_turn) + password_delay(rank)
            tries.next_turn = turn
            return turn - now

    def finish_try(self, address, outcome):
        """Tell a try's outcome: True (right password), False (wrong) or None (abandoned)."""
        with self._lock:
            now = self._clock()
            tries = self._records.get(address)
            if tries is None:  # evicted meanwhile (only with MAX_REMEMBERED_ADDRESSES busy)
                tries = self._records[address] = _Tries(now)
                tries.in_flight = 1
            tries.in_flight -= 1
            if outcome is False:
                tries.failures += 1
                tries.last_failure = now
            elif outcome:
                tries.failures = 0
                if not tries.in_flight:
                    del self._records[address]

    def _make_room(self):
        """Forget the address idle longest when MAX_REMEMBERED_ADDRESSES are remembered."""
        if len(self._records) < MAX_REMEMBERED_ADDRESSES:
            return
        idle = [address for address, tries in self._records.items() if not tries.in_flight]
        if idle:
            del self._records[min(idle, key=lambda address: self._records[address].last_failure)]


# What a try abandoned before its turn is answered (its connection had
# ended, so this is for the record: nobody reads it).
PASSWORD_NOT_CHECKED_MESSAGE = ("The password was not checked: the connection ended while it "
                                "waited its turn.")


class PasswordTryAbandoned(Exception):
    """A password try ended before its turn came: its connection ended meanwhile."""


class _Tries:
    """One address's password tries: wrong ones, those in flight, and the next turn."""

    __slots__ = ("failures", "in_flight", "last_failure", "next_turn")

    def __init__(self, now):
        self.failures = 0
        self.in_flight = 0
        self.last_failure = now
        self.next_turn = now

    def forgotten(self, now):
        return now - self.last_failure > FORGET_FAILURES_AFTER


def password_delay(rank):
    """Return how long a try of this rank waits after the one before it (rank >= free tries)."""
    doublings = min(rank - FREE_PASSWORD_TRIES, DOUBLINGS_TO_MAX)
    return min(FIRST_PASSWORD_DELAY * 2 ** doublings, MAX_PASSWORD_DELAY)


def fit_to_fd_limit(max_clients, warn):
    """Return --max-clients, lowered (with a warning) to what the fd limit allows.

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
    warn("warning: this server may have only %d files open at once (its 'ulimit -n'), so "
         "--max-clients is lowered from %d to %d. To allow more, raise the limit before "
         "starting the server, for example with 'ulimit -n %d'."
         % (soft, max_clients, lowered, need))
    return lowered
