"""How much of the --log one source may fill, with no I/O of its own.

A log keeps at most ROTATED_LOGS_KEPT + 1 files of --log-max-size: what
comes after pushes the oldest out.  So that one machine, under any number
of names, can never push the lesson out of the log, each source (an
address) may fill one file's worth per server run, its share.  The room
asks `take` under its lock before it logs a record a student caused (a
message, a join or leave, a hand); teachers and this computer (loopback)
are never counted.  Past its share, a source's records are no longer
logged (they are still relayed and kept in history): the log gets one
`log_cut` record in place of the one that did not fit, then a
`log_left_out` summary every SUMMARY_SECONDS while that source goes on,
and one for each source cut when the server stops.  Tests drive it with
a fake clock (tests/relay/test_log_budget.py).
"""

from .history_log import DEFAULT_MAX_SIZE, format_size
from ..wire.records import log_cut_record, log_left_out_record

# While a source past its share goes on sending, how often the log says how
# much it has left out: a summary line now and then, never one per record.
SUMMARY_SECONDS = 300

# What the console says when a source is cut, and what it left out at stop.
CUT_WORDS = ("the log keeps nothing more from %s until the server restarts: what came from that "
             "address has filled its share of the log (%s, one --log-max-size). It still reaches "
             "everyone, and everyone else's messages go on into the log. Type /who to see who "
             "joined from there.")
LEFT_OUT_WORDS = ("the log left out %d record(s) (%s) sent from %s after it had filled its "
                  "share; everyone received them.")


def share_for(max_size):
    """Return one source's share of a log of files of `max_size` (0: one file never renamed).

    A log that never rotates loses nothing to a flood, but fills the
    teacher's disk: a source then gets the default file size.
    """
    return max_size or DEFAULT_MAX_SIZE


class _Source:
    """What one address has written to the log this run, and left out past its share."""

    __slots__ = ("written", "cut", "left_out", "left_out_bytes", "summarized")

    def __init__(self):
        self.written = 0
        self.cut = False
        self.left_out = 0
        self.left_out_bytes = 0
        self.summarized = None  # when the log last said what it left out


class LogBudget:
    """Each source's share of the log, and what was left out past it."""

    def __init__(self, share, summary_seconds=SUMMARY_SECONDS):
        self.share = share
        self.summary_seconds = summary_seconds
        self._sources = {}  # address -> _Source

    def take(self, address, size, now):
        """Count a record of `size` bytes from `address`; return (keep it, record, words).

        `record` is a record to log instead (the cut, or a summary of what
        was left out), or None; `words` are for the console, or None.
        """
        source = self._sources.get(address)
        if source is None:
            source = self._sources[address] = _Source()
        if not source.cut:
            if source.written + size <= self.share:
                source.written += size
                return True, None, None
            source.cut = True
            source.summarized = now
            self._leave_out(source, size)
            return (False, log_cut_record(address, source.written, now),
                    CUT_WORDS % (address, format_size(self.share)))
        self._leave_out(source, size)
        if now - source.summarized < self.summary_seconds:
            return False, None, None
        source.summarized = now
        return False, self._summary(address, source, now), None

    def is_cut(self, address):
        """Tell whether the log no longer keeps what comes from `address`."""
        source = self._sources.get(address)
        return source is not None and source.cut

    def summaries(self, now):
        """Return (record, words) of what was left out from each source cut, for the stop."""
        return [(self._summary(address, source, now),
                 LEFT_OUT_WORDS % (source.left_out, format_size(source.left_out_bytes), address))
                for address, source in self._sources.items() if source.cut]

    @staticmethod
    def _leave_out(source, size):
        source.left_out += 1
        source.left_out_bytes += size

    @staticmethod
    def _summary(address, source, now):
        return log_left_out_record(address, source.left_out, source.left_out_bytes, now)
