"""Console lines about connections turned away, summed up when they pile up.

A flood of connections from one address must not flood the teacher's
console.  The first line of a kind about an address (and one reason) is
printed at once; more of them within DIGEST_SECONDS are only counted, and
one line sums them up when that period ends.  While the flood goes on, it
prints one line a period.  No sockets here: the server reports what
happened, and calls tick() now and then to print the sums that are due.
"""

import threading
import time

# How long further lines of one kind about one address are counted
# instead of printed: a few seconds keeps a flood to a line a period.
DIGEST_SECONDS = 5.0

# Periods counted at once, at most; a flood from very many addresses sums
# up its oldest period early rather than growing this table.
MAX_PERIODS = 256

REFUSED = "refused"  # a connection was refused (full, --max-per-ip, TLS)
NO_TLS = "no_tls"    # a connection ended before its TLS handshake did

# What the console says: the first line, and the sum of the ones counted.
WORDS = {
    REFUSED: ("refused %(address)s: %(why)s",
              "refused %(count)d more connection(s) from %(address)s in the last "
              "%(seconds)d seconds: %(why)s"),
    NO_TLS: ("no encrypted connection with %(address)s: %(why)s",
             "%(count)d more connection(s) from %(address)s ended before their encryption "
             "(TLS) was set up, in the last %(seconds)d seconds: %(why)s"),
}


class ConsoleDigest:
    """Print the first line of a kind about an address; sum up the rest per period."""

    def __init__(self, console, clock=time.monotonic, seconds=DIGEST_SECONDS):
        self.console = console  # terminal.console.Console
        self._clock = clock
        self._seconds = seconds
        self._lock = threading.Lock()
        self._periods = {}  # (kind, address, why) -> [period end, count since its first line]

    def report(self, kind, address, why):
        """Tell the console that this happened to a connection from `address`."""
        with self._lock:
            now = self._clock()
            lines = self._due(now)
            key = (kind, address, why)
            period = self._periods.get(key)
            if period is None:
                if len(self._periods) >= MAX_PERIODS:
                    oldest = min(self._periods, key=self._periods.get)
                    lines.extend(self._end(oldest, now, again=False))
                self._periods[key] = [now + self._seconds, 0]
                lines.append(WORDS[kind][0] % {"address": address, "why": why})
            else:
                period[1] += 1
        self._print(lines)

    def tick(self):
        """Print the sums of the periods that have ended."""
        with self._lock:
            lines = self._due(self._clock())
        self._print(lines)

    def _due(self, now):
        """End the periods due at `now`; return their lines (lock held)."""
        lines = []
        for key in [key for key, (end, _) in self._periods.items() if end <= now]:
            lines.extend(self._end(key, now))
        return lines

    def _end(self, key, now, again=True):
        """End one period; one that counted lines starts the next (lock held)."""
        _, count = self._periods.pop(key)
        if not count:
            return []
        if again:  # the flood may go on: its next lines are counted, too
            self._periods[key] = [now + self._seconds, 0]
        kind, address, why = key
        return [WORDS[kind][1] % {"count": count, "address": address, "why": why,
                                  "seconds": self._seconds}]

    def _print(self, lines):
        for line in lines:  # never under the lock: the console may be slow
            self.console.info(line)
