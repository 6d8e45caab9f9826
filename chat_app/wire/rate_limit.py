"""A token bucket: a sustained rate with room for short bursts.

It tells when the next token is due, so that a connection over its rate
is read again exactly then (held back, never dropped: session.py).  A
connection from this computer has a bucket of its own; the connections
from one other computer share one (SharedRateLimiter, given out by the
room: room.py), so that a second connection or a new name gets no more.
"""

import threading
import time

# Defaults for --rate-limit: five messages a second sustained is more than
# anyone types; twenty at once lets a pasted list or a quick exchange through.
DEFAULT_RATE = 5.0
DEFAULT_BURST = 20

# Rounding slack: a token due "now" by next_due() must count as there.
TOKEN_SLACK = 1e-9


class RateLimiter:
    """Allow `rate` events a second on average and `burst` at once.

    A rate of 0 turns the limit off.  Every method takes the time `now`
    (from the clock given, by default), so tests can drive it by hand.
    """

    def __init__(self, rate=DEFAULT_RATE, burst=DEFAULT_BURST, clock=time.monotonic, now=None):
        self._rate = float(rate)
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock() if now is None else now

    @property
    def rate(self):
        return self._rate

    def _refill(self, now):
        if now is None:
            now = self._clock()
        self._tokens = min(self._burst, self._tokens + max(0.0, now - self._stamp) * self._rate)
        self._stamp = max(self._stamp, now)

    def allow(self, now=None):
        """Take one token; return False when none is left."""
        if self._rate <= 0:
            return True
        self._refill(now)
        if self._tokens < 1 - TOKEN_SLACK:
            return False
        self._tokens = max(0.0, self._tokens - 1)
        return True

    def next_due(self, now=None):
        """Return the time at which the next token is due (`now` if one is there)."""
        if self._rate <= 0:
            return self._clock() if now is None else now
        self._refill(now)
        return self._stamp + max(0.0, 1.0 - self._tokens) / self._rate

    def reserve(self, now=None):
        """Take one token, ahead of time if none is left; return the seconds until it is due.

        For a sender that waits its turn instead of being refused (the
        client paces its says so: client/link.py).  Tokens taken ahead are
        owed, so each reservation waits behind the one before.
        """
        if self._rate <= 0:
            return 0.0
        self._refill(now)
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


class SharedRateLimiter(RateLimiter):
    """A RateLimiter that the connections of one computer take tokens from, each in its thread.

    Together they get one computer's rate: a token goes to whichever asks
    first, and the others are held back until the next one is due.
    """

    def __init__(self, rate=DEFAULT_RATE, burst=DEFAULT_BURST, clock=time.monotonic, now=None):
        super().__init__(rate, burst, clock, now)
        self._lock = threading.Lock()

    def allow(self, now=None):
        with self._lock:
            return RateLimiter.allow(self, now)

    def next_due(self, now=None):
        with self._lock:
            return RateLimiter.next_due(self, now)
