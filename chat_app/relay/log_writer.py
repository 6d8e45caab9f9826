"""The log writer: the one thread that writes the room's events to the --log file.

The room hands each event's encoded line to `put` while it holds its lock;
that only appends to a queue in memory, so a slow, blocked or full disk
cannot hold the room up.  The thread writes the queue in order, a batch at a time
(history_log.py keeps every write whole lines or nothing).  When a write
fails, as on a full disk, the console says so once, the unwritten lines stay
queued, and the write is tried again every RETRY_SECONDS until it succeeds.
The queue holds at most MAX_PENDING_BYTES: past it, further events are not
kept for the log (they still reach everyone) until the queue has been
written out; the console says so when it starts and how many were left out
when it ends.  At stop, `close` gives the queue FLUSH_SECONDS to reach the
disk and says what could not be written.

Each line comes with the room's stream position after its frame.  The
stream holds its frames back until `on_release` is called with a position
past them: after the line is written, or once it is given up on, so that no
one is sent an event a server killed right after could have lost.  The
thread that relayed an event waits (at most KEEP_UP_SECONDS) for that, then
wakes the sender.  A line is given up on, with every line queued so far,
when that wait runs out (the log counts as stalled), when a write fails, or
when it does not fit in the queue; while the log is stalled or failing, new
lines are released as they come and nothing waits for the log, until it
has caught up.  A frame the room does not log (`skip`) is released with the
line queued before it.

Each file of the log starts with a snapshot of the room's rules and hands
(`snapshot`, which history_log.py writes), and so does the next write after
lines were left out: the log's record of the room is whole again from there.
"""

import collections
import errno
import os
import tempfile
import threading
import time

from .history_log import format_size
from ..terminal.console import QUIET

# Unwritten log lines held in memory: thousands of the longest messages, or
# many hours of an ordinary lesson, while the teacher frees some disk space.
MAX_PENDING_BYTES = 16 * 1024 * 1024

# How often a failed write (a full disk) is tried again.
RETRY_SECONDS = 1.0

# At stop, how long the queue gets to reach the disk: the server stops
# within two seconds, whatever the disk does.
FLUSH_SECONDS = 0.4

# How a teacher appends one file to another, on this system.
APPEND_COMMAND = "type" if os.name == "nt" else "cat"

# The longest a relayed event waits for its line to be written while the
# log keeps up: a write to a healthy disk takes microseconds, and 10 ms of
# delay is below what anyone in the room can notice.  Past it the log
# counts as stalled, and nothing waits for it until it has caught up.
KEEP_UP_SECONDS = 0.01

# What the console says when a write fails, by error number, and otherwise.
KEPT_IN_MEMORY = ("Chat goes on; the room's events are kept in memory (up to %s) and written to "
                  "the log as soon as it can be written again." % format_size(MAX_PENDING_BYTES))
WRITE_FAILED = {
    errno.ENOSPC: "cannot write to the log file %(path)s: the disk is full. " + KEPT_IN_MEMORY
                  + " Free some space on that disk (delete or move big files).",
}
if hasattr(errno, "EDQUOT"):  # not on every system
    WRITE_FAILED[errno.EDQUOT] = ("cannot write to the log file %(path)s: your disk quota is "
                                  "used up. " + KEPT_IN_MEMORY + " Free some of your files' space.")
WRITE_FAILED_OTHERWISE = ("cannot write to the log file %(path)s: %(error)s. " + KEPT_IN_MEMORY
                          + " Check the disk and that the file can be written.")
TOO_FAR_BEHIND = (
    "the log file %s has fallen %s behind (its disk is full or it is blocked): chat goes on, but "
    "the room's events from now on are missing from the log until it catches up. Free some "
    "disk space, or restart the server with --log on another disk."
    % ("%s", format_size(MAX_PENDING_BYTES)))


class Queued:
    """What `put` did with a line: a warning for the console, and a short wait for it.

    The line's frame is sent once it is released: wait for that before
    waking the sender.
    """

    __slots__ = ("warning", "_writer", "_number")

    def __init__(self, warning, writer=None, number=None):
        self.warning = warning
        self._writer = writer
        self._number = number  # the line's place in the queue, if worth waiting for

    def wait_released(self):
        """Wait until the line is written or given up on, at most KEEP_UP_SECONDS.

        Never call it under a lock.
        """
        if self._number is not None:
            self._writer.wait_released(self._number)


class LogWriter:
    """The queue of lines for one HistoryLog, and the thread that writes them."""

    # Called (log lock held: memory only) with the stream position up to
    # which the room's frames may be sent: their lines are written or given
    # up on.  The room sets it to its Stream's release().
    on_release = None

    def __init__(self, log, console=QUIET):
        self.log = log
        self.console = console  # terminal.console.Console
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # lines came, or it stops
        self._progress = threading.Condition(self._lock)  # lines were written
        self._pending = collections.deque()  # encoded lines, oldest first
        self._positions = collections.deque()  # the stream position after each one's frame
        self._pending_bytes = 0
        self._queued = 0  # lines ever queued ...
        self._written = 0  # ... and written: a line's number is its place in this count
        self._released = 0  # lines written or given up on: their frames may be sent
        self._last_position = None  # the stream position given with the last line
        self._stalled = False  # a wait ran out or a write failed, and it has not caught up
        self._writing_since = None  # when the write under way began (time.monotonic)
        self._left_out = 0  # lines not kept since the queue was last full
        self._resnapshot = False  # lines were left out: the next write starts with a snapshot
        self._failure = None  # what the console was told while writes fail
        self._failure_reason = None  # the last failed write's error
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="chat-log", daemon=True)
        self._thread.start()

    @property
    def path(self):
        return self.log.path

    @property
    def snapshot(self):
        """The room's function returning the encoded snapshot line each file starts with."""
        return self.log.snapshot

    @snapshot.setter
    def snapshot(self, make):
        self.log.snapshot = make

    @property
    def max_size(self):
        """The log's --log-max-size (0: one file, never renamed)."""
        return self.log.max_size

    def put(self, line, position=None, warning=None):
        """Queue one encoded line (room lock held: memory only); return a Queued, or None.

        `position` is the room's stream position after the line's frame.
        The Queued's warning is for the console: `warning`, or the words
        said the first time a line does not fit in the queue; wait_released()
        is worth calling while the log keeps up.
        """
        with self._lock:
            if position is not None:
                self._last_position = position
            if self._pending_bytes + len(line) > MAX_PENDING_BYTES:
                self._left_out += 1
                self._resnapshot = True
                self._give_up()
                if self._left_out == 1:
                    warning = " ".join(filter(None, (warning, TOO_FAR_BEHIND % self.log.path)))
                return Queued(warning) if warning else None
            self._pending.append(line)
            self._positions.append(position)
            self._pending_bytes += len(line)
            self._queued += 1
            self._changed.notify()
            if not self._keeping_up():
                self._give_up()
                return Queued(warning) if warning else None
            return Queued(warning, self, self._queued)

    def skip(self, position):
        """Let a frame the log leaves out go with the line before it (room lock held).

        `position` is the room's stream position after the frame.  Return
        a Queued to wait on (the line before it), or None.
        """
        with self._lock:
            if position is None:
                return None
            self._last_position = position
            if not self._pending:  # every line before it is written, or given up on
                self._release(position)
                return None
            self._positions[-1] = position  # released once that line is written
            if not self._keeping_up():
                self._give_up()
                return None
            return Queued(None, self, self._queued)

    def _keeping_up(self):
        """Tell whether the log writes as fast as it is given lines (lock held)."""
        if self._failure is not None or self._stalled:
            return False
        started = self._writing_since
        return started is None or time.monotonic() - started < KEEP_UP_SECONDS

    def _give_up(self):
        """Release every line queued so far, written or not (lock held)."""
        self._released = self._queued
        self._release(self._last_position)
        self._progress.notify_all()

    def _release(self, position):
        """Let the room send its frames up to `position` (lock held)."""
        if position is not None and self.on_release is not None:
            self.on_release(position)

    def wait_released(self, number):
        """Wait until line `number` is written or given up on, at most KEEP_UP_SECONDS.

        If it is not, the log counts as stalled: every line queued so far
        is given up on, so that their frames are sent.
        """
        with self._lock:
            if not self._progress.wait_for(lambda: self._released >= number or self._stopping,
                                           KEEP_UP_SECONDS):
                self._stalled = True
                self._give_up()

    def pending(self):
        """Return how many lines wait to be written."""
        with self._lock:
            return len(self._pending)

    def close(self, timeout=FLUSH_SECONDS):
        """Write what is queued within `timeout` seconds, say what could not be, close."""
        with self._lock:
            self._stopping = True
            self._changed.notify()
            self._progress.notify_all()
        self._thread.join(timeout)
        stuck = self._thread.is_alive()  # a write that does not return (a blocked disk)
        with self._lock:
            unwritten, left_out = list(self._pending), self._left_out
        if unwritten or left_out:
            why = ("a write did not finish within %g s" % timeout if stuck
                   else "the last write failed: %s" % self._failure_reason)
            self.console.error("%d room event(s) could not be written to the log file %s before "
                               "the server stopped (%s). %s"
                               % (len(unwritten) + left_out, self.log.path, why,
                                  self._save_elsewhere(unwritten, left_out)))
        if not stuck:
            self.log.close()

    def _save_elsewhere(self, lines, left_out):
        """Write the unwritten lines to the home (or temporary) folder; say where."""
        name = "%s.unsaved-%s" % (os.path.basename(self.log.path),
                                  time.strftime("%Y%m%d-%H%M%S"))
        folders = (os.path.expanduser("~"), tempfile.gettempdir())  # the log's disk is full
        for folder in (folders if lines else ()):
            path = os.path.join(folder, name)
            try:
                handle = open(path, "xb")
            except OSError:
                continue
            try:
                with handle:
                    handle.write(b"".join(lines))
            except OSError:  # that disk is full too: leave no piece of it there
                os.remove(path)
                continue
            words = ("They were saved in %s: once the log's disk has space, add them to the "
                     "log with '%s %s >> %s' so that a restart reloads them."
                     % (path, APPEND_COMMAND, path, self.log.path))
            break
        else:
            words = ("They are missing from it." if lines else "")
        if left_out:
            words += (" %d of them did not fit in memory while the log was behind and are "
                      "missing from it." % left_out)
        return words.strip()

    # --- the thread ---------------------------------------------------

    def _run(self):
        while True:
            with self._lock:
                self._changed.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return
                batch = list(self._pending)
                self._writing_since = time.monotonic()
                resnapshot, self._resnapshot = self._resnapshot, False
            if resnapshot:
                self.log.snapshot_due = True
            written, error = self.log.write(batch)
            with self._lock:
                self._writing_since = None
                position = None
                for _ in range(written):
                    self._pending_bytes -= len(self._pending.popleft())
                    position = self._positions.popleft()
                self._written += written
                if self._written > self._released:
                    self._released = self._written
                    self._release(position)
                if error is not None:
                    self._stalled = True
                    self._give_up()
                self._progress.notify_all()
                emptied = not self._pending
                if emptied:
                    self._stalled = False  # caught up: worth waiting for again
                left_out = self._left_out if emptied else 0
                if emptied:
                    self._left_out = 0  # a full queue starts a new count, and a new warning
            if error is None:
                self._written_again(left_out)
                continue
            self._failed(error)
            with self._lock:
                if self._stopping:
                    return
                self._changed.wait_for(lambda: self._stopping, RETRY_SECONDS)

    def _failed(self, error):
        """Say once that writes fail, and why."""
        self._failure_reason = error.strerror or str(error)
        if self._failure is not None:
            return
        words = WRITE_FAILED.get(error.errno, WRITE_FAILED_OTHERWISE)
        self._failure = words % {"path": self.log.path, "error": self._failure_reason}
        self.console.error(self._failure)

    def _written_again(self, left_out):
        """Say that writes succeed again, and what is missing from the log, if anything."""
        if self._failure is not None:
            self._failure = None
            self.console.info("the log file %s can be written again: the room's events kept in "
                              "memory meanwhile are in it now" % self.log.path)
        if left_out:
            self.console.error("%d room event(s) did not fit in memory while the log file %s was "
                               "behind: they are missing from it (everyone received them)."
                               % (left_out, self.log.path))
