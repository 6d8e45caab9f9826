"""Outgoing bytes per connection, written without ever blocking the writer.

Every connection's socket is non-blocking.  Whoever has frames for it (the
thread relaying a message, usually) puts them in its Outbox and calls
flush(), which writes as much as the socket takes at once and returns.
Whatever the socket cannot take yet stays queued in order, and the one
shared Flusher thread writes it when the socket becomes writable again.  A
reader that stalls therefore fills only its own outbox, and once that holds
more than its limit, put() says so and the connection is cut off.
"""

import selectors
import socket
import threading

# A client that falls this far behind is disconnected as too_slow.  About
# a thousand ordinary messages: far more than a healthy client ever lags.
MAX_BACKLOG_BYTES = 1024 * 1024


def shutdown_quietly(sock, how=socket.SHUT_RDWR):
    """Shut a socket down (both ways: its reader wakes up); ignore errors."""
    try:
        sock.shutdown(how)
    except OSError:
        pass  # already closed or reset: the reader wakes up either way


class Outbox:
    """The bytes waiting to be written to one socket, in order."""

    def __init__(self, sock, flusher, limit=MAX_BACKLOG_BYTES):
        self.sock = sock
        self.limit = limit
        self._flusher = flusher
        self._lock = threading.Lock()
        self._chunks = []
        self._pending = 0
        self._busy = False  # a thread is inside send() for this socket
        self._closed = False

    def put(self, data):
        """Queue bytes to send; return False if that would pass the limit."""
        with self._lock:
            if self._closed:
                return True
            if self._pending + len(data) > self.limit:
                return False
            self._chunks.append(data)
            self._pending += len(data)
            return True

    @property
    def pending(self):
        """Return how many bytes wait to be sent."""
        with self._lock:
            return self._pending

    def flush(self):
        """Send what is queued, as far as the socket takes it without waiting.

        Safe to call from any thread at any time: only one thread writes
        at once, and a thread that finds another writing leaves the work
        to it.  What does not fit is handed to the Flusher.
        """
        while True:
            with self._lock:
                if self._busy or self._closed or not self._chunks:
                    return
                self._busy = True
                chunks, self._chunks = self._chunks, []
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                # The peer is gone (reset, broken pipe).  Wake its reader,
                # which ends the connection and tells the room.
                with self._lock:
                    self._busy = False
                    self._closed = True
                    self._chunks, self._pending = [], 0
                shutdown_quietly(self.sock)
                return
            with self._lock:
                self._busy = False
                self._pending -= sent
                if sent < len(data):
                    self._chunks.insert(0, data[sent:])
                    blocked = True
                else:
                    blocked = False
            if blocked:
                self._flusher.watch(self)
                return

    def close(self):
        """Drop what is queued; later puts are ignored."""
        with self._lock:
            self._closed = True
            self._chunks, self._pending = [], 0
        self._flusher.forget(self)

    def idle(self):
        with self._lock:
            return self._closed or not self._chunks


class Flusher:
    """One thread that finishes the writes sockets could not take at once."""

    def __init__(self):
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._new = []
        self._running = True
        self._thread = threading.Thread(target=self._run, name="chat-flusher", daemon=True)
        self._thread.start()

    def watch(self, outbox):
        """Write the rest of this outbox once its socket is writable."""
        with self._lock:
            self._new.append(outbox)
        self._wake()

    def forget(self, outbox):
        """Stop watching an outbox; call before its socket is closed."""
        with self._lock:
            self._new = [item for item in self._new if item is not outbox]
            self._unregister(outbox)

    def stop(self):
        self._running = False
        self._wake()
        self._thread.join(0.2)  # it exits at once; never hold up a shutdown
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self):
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # the wake-up pipe is full (a wake-up is pending) or closed

    def _unregister(self, outbox):
        try:
            self._selector.unregister(outbox.sock)
        except (KeyError, ValueError):
            pass  # not registered, or its socket is closed already

    def _run(self):
        while self._running:
            try:
                events = self._selector.select()
            except OSError:
                continue  # Windows: a watched socket was closed meanwhile
            ready = []
            with self._lock:
                for key, _ in events:
                    if key.fileobj is self._wake_r:
                        self._drain_wakeups()
                    else:
                        ready.append(key.data)
                for outbox in self._new:
                    if outbox.idle():
                        continue
                    try:
                        self._selector.register(outbox.sock, selectors.EVENT_WRITE, outbox)
                    except KeyError:
                        pass  # already watched
                    except ValueError:
                        pass  # closed meanwhile
                self._new = []
            for outbox in ready:
                outbox.flush()
                if outbox.idle():
                    with self._lock:
                        self._unregister(outbox)

    def _drain_wakeups(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass  # BlockingIOError: drained
