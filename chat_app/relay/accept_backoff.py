"""What the server does when accept() fails for want of descriptors or memory.

Retrying at once would spin: the listening socket stays readable while
connections wait in its backlog.  Instead the accepting thread pauses,
from FIRST_PAUSE doubling up to MAX_PAUSE, and wakes early when a
connection closes (a descriptor is free again).  Those waiting are not
left hanging meanwhile: one descriptor is kept spare, and on EMFILE it is
let go for a moment to accept each waiting connection and close it at once.
The console hears of it once when it starts and once when accepting works
again.  The room is not touched: members go on chatting.
"""

import errno
import os
import threading

from ..wire.nonblocking import wait_readable

# Windows reports its own numbers for too many sockets and no buffer space.
WSAEMFILE = 10024
WSAENOBUFS = 10055

# accept() errors that mean "out of resources": what happened, and what to
# do about it, in the teacher's words.
LOWER_MAX_CLIENTS = "or with a lower --max-clients"
FREE_MEMORY = "close programs you do not need and start the server again, " + LOWER_MAX_CLIENTS
NO_BUFFERS = "this computer is out of memory for network connections"
OUT_OF = {
    errno.EMFILE: ("this server has as many files and connections open as it may (its "
                   "'ulimit -n' is %(limit)s)",
                   "start the server after 'ulimit -n 4096', " + LOWER_MAX_CLIENTS),
    errno.ENFILE: ("this computer has as many files open as it may", FREE_MEMORY),
    errno.ENOBUFS: (NO_BUFFERS, FREE_MEMORY),
    errno.ENOMEM: ("this computer is out of memory", FREE_MEMORY),
    WSAEMFILE: ("this server has as many connections open as Windows allows it",
                "start the server again " + LOWER_MAX_CLIENTS),
    WSAENOBUFS: (NO_BUFFERS, FREE_MEMORY),
}

# The first pause after accept() fails, then doubled while it keeps failing
# (few percent of a core however long it lasts) ...
FIRST_PAUSE = 0.05

# ... up to this: a student who retries is let in within a second once
# descriptors are free, even if no connection's close woke the server.
MAX_PAUSE = 1.0

# Waiting connections closed at once per pause, at most (a full backlog).
MAX_SHED = 1024


def descriptor_limit():
    """Return the process's soft descriptor limit as text ('?' where unknown)."""
    try:
        import resource
    except ImportError:
        return "?"
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return "unlimited" if soft == resource.RLIM_INFINITY else str(soft)


class AcceptBackoff:
    """Pause accepting while resources are short; say so once, and once when it ends."""

    def __init__(self, console):
        self.console = console  # terminal.console.Console
        self._freed = threading.Event()  # set when a connection closes, or at shutdown
        self.pause = FIRST_PAUSE  # the next pause, in seconds
        self._short = False  # in a shortage: said so, and counting who was turned away
        self._turned_away = 0
        self._stopped = False  # the server is stopping: no more pauses
        self._spare = None
        self._take_spare()

    def failed(self, listening, error):
        """After accept() raised `error`: if resources are short, shed and pause; True if so."""
        words = OUT_OF.get(getattr(error, "errno", None))
        if words is None:
            return False
        if not self._short:
            self._short = True
            what, advice = words
            self.console.error(
                "cannot take new connections: %s. Students who try to join now are turned "
                "away; those in the room go on chatting, and the server takes connections "
                "again by itself once some close. To avoid this, %s."
                % (what % {"limit": descriptor_limit()}, advice))
        if self._stopped:
            return True
        if error.errno == errno.EMFILE:
            self._shed(listening)
        self._freed.wait(self.pause)
        self._freed.clear()
        self.pause = min(self.pause * 2, MAX_PAUSE)
        return True

    def accepted(self):
        """accept() worked: if a shortage was going on, it is over."""
        if self._short:
            self._short = False
            self.pause = FIRST_PAUSE
            self.console.info("taking new connections again (%d attempt(s) were turned away "
                              "meanwhile)" % self._turned_away)
            self._turned_away = 0
        if self._spare is None and not self._stopped:
            self._take_spare()

    def freed(self):
        """A connection closed: its descriptor is free, so stop pausing."""
        self._freed.set()

    def stop(self):
        """Stop pausing for good: the server is stopping (any thread may call this)."""
        self._stopped = True
        self._freed.set()

    def close(self):
        """Stop, and give back the spare descriptor (once no one accepts any more)."""
        self.stop()
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    def _shed(self, listening):
        """Close every waiting connection at once, with the spare descriptor's help."""
        for _ in range(MAX_SHED):
            if self._spare is None or not wait_readable(listening, 0):
                break
            os.close(self._spare)  # one descriptor free: enough to accept and close one
            self._spare = None
            try:
                connection, _ = listening.accept()
            except OSError:
                connection = None
            if connection is not None:
                connection.close()
                self._turned_away += 1
            self._take_spare()
            if connection is None:
                break

    def _take_spare(self):
        try:
            self._spare = os.open(os.devnull, os.O_RDONLY)
        except OSError:
            self._spare = None  # taken by someone else: try again after the next accept

