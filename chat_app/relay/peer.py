"""One connection as the room sees it (Peer), what the room keeps of another computer
(Machine), and a frame rendered once per wire format for whoever receives it (Rendered).
"""

import socket
import threading
import time

from ..wire import text_format
from ..wire.nonblocking import shutdown_quietly
from ..wire.protocol import encode
from ..wire.rate_limit import SharedRateLimiter
from .access import is_loopback


class Peer:
    """One connection as the room sees it."""

    def __init__(self, outbox, address, on_end=None):
        self.outbox = outbox
        self.address = address
        self.local = is_loopback(address)  # this computer's: the log's shares do not count it
        self._ended = None  # an Event, made only for a reader that waits (held back)
        self._woken = False  # wake() was called: the next wait_for_end() returns at once
        self._on_end = on_end  # called once it ends (wakes a sender waiting for space)
        self.wire = "json"  # "text" once it is known to be a person at a terminal
        self.name = None
        self.key = None
        self.look_alike = None  # its name's look_alike_key, once joined
        self.teacher = False  # decided at the join, from what it proved; never changed after
        # The address its sanctions follow, and the token bucket it shares
        # with the other connections from there; None for this computer, and
        # under --shared-address (a bucket of its own, sanctions by name).
        self.machine = None
        self.limiter = None
        self.since = time.time()
        self.reason = None  # set once, when the server decides to end it
        self._reason_lock = threading.Lock()

    def wait_for_end(self, timeout):
        """Wait until end() is called, at most `timeout` seconds (None: no limit), or a wake()."""
        with self._reason_lock:
            if self.reason is not None or self._woken:
                self._woken = False
                return
            if self._ended is None:
                self._ended = threading.Event()
            ended = self._ended
        ended.wait(timeout)
        with self._reason_lock:
            self._woken = False
            if self.reason is None:
                ended.clear()  # it was a wake(): the next wait waits again

    def wake(self):
        """Cut the current (or else the next) wait_for_end() short, without ending anything.

        A password try waiting behind others is woken so when its turn
        comes (access.PasswordGuard); its waiter then asks the guard again.
        """
        with self._reason_lock:
            if self.reason is None:
                self._woken = True
                if self._ended is not None:
                    self._ended.set()

    def stop_reading(self):
        """Wake the connection's reader after end(): its socket reads as closed.

        Only the TCP socket is shut (for reading); a TLS layer stays, and
        the reader checks `reason` under the same lock before it reads, so
        OpenSSL never reads that end (which would spoil the TLS session and
        lose the bye).
        """
        with self.outbox.io_lock:
            shutdown_quietly(self.outbox.sock, socket.SHUT_RD)

    def end(self, reason):
        """Mark the connection for closing with a reason; return True the first time."""
        with self._reason_lock:
            if self.reason is not None:
                return False
            self.reason = reason
            ended = self._ended
        if ended is not None:
            ended.set()
        if self._on_end is not None:
            self._on_end()
        return True


class Rendered:
    """One frame, encoded at most once per wire format, whoever receives it."""

    __slots__ = ("frame", "_json", "_text")

    def __init__(self, frame, json_bytes=None):
        self.frame = frame
        self._json = json_bytes
        self._text = None

    def json_bytes(self):
        if self._json is None:
            self._json = encode(self.frame)
        return self._json

    def bytes_for(self, peer):
        """Return the frame's bytes for this peer's wire; b"" when a terminal shows nothing."""
        if peer.wire == "json":
            return self.json_bytes()
        if self._text is None:
            text = text_format.render_for_session(self.frame)
            self._text = b"" if text is None else (text + "\n").encode("utf-8")
        return self._text


class Machine:
    """What the room keeps of another computer while it has a connection (room lock held).

    The token bucket its connections share, the names of its members, and
    whether the console was asked about a shared address already.
    """

    __slots__ = ("limiter", "people", "asked")

    def __init__(self, rate, burst):
        self.limiter = SharedRateLimiter(rate, burst)
        self.people = {}  # name key -> True, for each of its members, in join order
        self.asked = False
