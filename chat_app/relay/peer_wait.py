"""Wait a while in a connection's thread, unless the connection ends meanwhile.

A password try waiting for its turn (access.PasswordGuard) may wait
minutes.  First in its address's line, it waits on the socket itself,
which reads as ended once the client closes it (or resets it) and once
the server shuts it for reading (Peer.stop_reading at shutdown), and on
the peer's end (Peer.end, also at shutdown): a client that gave up leaves
the line at once, and the next try goes on.  Behind others, it waits only
for the peer's end or for Peer.wake (its turn came), and looks at its
socket once it is first.  Input that arrives meanwhile stays unread for
the connection's reader; from then on only the peer's end can cut the
wait short.
"""

import selectors
import socket
import time

from ..wire import nonblocking


# A selector that needs no file descriptor of its own (epoll does): a
# waiting try must not fail for want of one when descriptors run short.
QUIET_SELECTOR = getattr(selectors, "PollSelector", selectors.SelectSelector)


def wait_unless_ended(peer, seconds):
    """Wait `seconds`; return True if the connection is still open then, False once it ends."""
    deadline = time.monotonic() + seconds
    if peer.reason is not None or _socket_says_ended(peer.outbox.sock, seconds):
        return False
    if peer.reason is None:
        peer.wait_for_end(max(0.0, deadline - time.monotonic()))
    return peer.reason is None


def _socket_says_ended(sock, seconds):
    """Wait until the socket has something to read (at most `seconds`); tell whether it ended."""
    try:
        with QUIET_SELECTOR() as selector:
            selector.register(sock, selectors.EVENT_READ)
            if not selector.select(seconds):
                return False  # the time passed, nothing happened
            # Peek below any TLS layer: only the end of the stream matters here.
            return socket.socket.recv(sock, 1, socket.MSG_PEEK) == b""
    except nonblocking.WOULD_BLOCK:
        return False  # woken without data after all: the peer's end decides
    except (OSError, ValueError):
        return True  # reset, or already closed


class PasswordTryWait:
    """How a connection's password try waits for its turn (the guard's waiter).

    `tell(seconds)` tells the client how long the wait may be, at most.
    """

    def __init__(self, peer, tell):
        self.peer = peer
        self.tell = tell

    def wait(self, seconds):
        """Wait `seconds` (None: until wake()); return False once the connection has ended."""
        if seconds is None:
            self.peer.wait_for_end(None)
            return self.peer.reason is None
        if seconds == 0:  # its turn now: a script that sent its join and half-closed gets its answer
            return self.peer.reason is None
        return wait_unless_ended(self.peer, seconds)

    def wake(self):
        self.peer.wake()
