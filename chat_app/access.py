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
# the first step up to the last, so guessing from a script gets nowhere.
FIRST_PASSWORD_DELAY = 0.5
MAX_PASSWORD_DELAY = 8.0

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
    """Slow down repeated wrong passwords, per address."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._records = {}  # address -> [failures, last failure, next allowed try]

    def wait_turn(self, address):
        """Sleep until this address may try a password again; return the seconds slept."""
        with self._lock:
            now = self._clock()
            record = self._records.get(address)
            if record is None or now - record[1] > FORGET_FAILURES_AFTER:
                self._records.pop(address, None)
                return 0.0
            failures = record[0]
            if failures < FREE_PASSWORD_TRIES:
                return 0.0
            step = min(FIRST_PASSWORD_DELAY * 2 ** (failures - FREE_PASSWORD_TRIES),
                       MAX_PASSWORD_DELAY)
            start = max(now, record[2])
            record[2] = start + step  # tries in parallel queue up behind each other
            wait = start + step - now
        self._sleep(wait)
        return wait

    def failed(self, address):
        with self._lock:
            now = self._clock()
            record = self._records.get(address)
            if record is None:
                if len(self._records) >= MAX_REMEMBERED_ADDRESSES:
                    oldest = min(self._records, key=lambda key: self._records[key][1])
                    del self._records[oldest]
                record = self._records[address] = [0, now, now]
            record[0] += 1
            record[1] = now

    def succeeded(self, address):
        with self._lock:
            self._records.pop(address, None)


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
