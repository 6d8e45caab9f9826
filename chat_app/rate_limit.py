"""A token bucket: a sustained rate with room for short bursts."""

import time

# Defaults for --rate-limit: five messages a second sustained is more than
# anyone types; twenty at once lets a pasted list or a quick exchange through.
DEFAULT_RATE = 5.0
DEFAULT_BURST = 20


class RateLimiter:
    """Allow `rate` events a second on average and `burst` at once.

    A rate of 0 turns the limit off.
    """

    def __init__(self, rate=DEFAULT_RATE, burst=DEFAULT_BURST, clock=time.monotonic):
        self._rate = float(rate)
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def allow(self):
        """Take one token; return False when none is left."""
        if self._rate <= 0:
            return True
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
