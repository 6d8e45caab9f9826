"""Outgoing bytes: the room's shared stream, each connection's outbox, one writer.

Fan-out costs the room one list append per message, whatever the number of
members.  The room appends each frame's bytes once to the Stream; a JSON
member's Outbox holds only a cursor into it, plus the few frames meant for
that connection alone (its welcome, errors, pongs), each tagged with the
stream position it must follow, so every member sees one order.

One Writer thread does every send.  Woken after something is queued, it
makes a round over the connections and gives each socket everything due
for it in one non-blocking send().  Under load, messages gather while a
round runs, so one send carries many of them; at rest a message leaves
within one thread wake-up.  A socket that takes less than it is offered is
"blocked": the writer skips it until `selectors` says it is writable, so a
stalled reader costs the others nothing.  A blocked connection more than
its limit behind is cut off as too_slow.  The stream keeps only what some
member has still to read, and senders wait while it holds more than
MAX_STREAM_BYTES, which bounds memory under any load.
"""

import collections
import selectors
import socket
import threading

# A client that falls this far behind is disconnected as too_slow.  About
# a thousand ordinary messages: far more than a healthy client ever lags.
MAX_BACKLOG_BYTES = 1024 * 1024

# Room frames kept for members still to read them.  Past this the writer
# is behind (or a stalled member is about to be cut off), and senders wait.
# It must exceed MAX_BACKLOG_BYTES, or one stalled member would stop the room.
MAX_STREAM_BYTES = 4 * MAX_BACKLOG_BYTES

# The writer drops sent frames from the stream in steps of this many,
# so that trimming (a list copy under the stream's lock) stays rare.
TRIM_STEP = 512


def shutdown_quietly(sock, how=socket.SHUT_RDWR):
    """Shut a socket down (both ways: its reader wakes up); ignore errors."""
    try:
        sock.shutdown(how)
    except OSError:
        pass  # already closed or reset: the reader wakes up either way


class Stream:
    """The room's frames, encoded once, in the order every member sees them.

    Positions are absolute frame numbers: `base` is the first one still
    kept, `end` the next to be appended.  Only the room appends (under its
    own lock, which fixes the order) and only the writer trims.
    """

    def __init__(self, max_bytes=MAX_STREAM_BYTES):
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._max_bytes = max_bytes
        self._closed = False
        self.base = 0
        self.chunks = []
        self._ends = []  # _ends[i]: bytes appended up to and including chunks[i]
        self._total = 0
        self._trimmed = 0  # bytes appended before base

    @property
    def end(self):
        with self._lock:
            return self.base + len(self.chunks)

    def append(self, data):
        with self._lock:
            self.chunks.append(data)
            self._total += len(data)
            self._ends.append(self._total)

    def bytes_from(self, position):
        """Return how many bytes were appended at or after `position`."""
        with self._lock:
            index = position - self.base
            before = self._ends[index - 1] if index > 0 else self._trimmed
            return self._total - before

    def retained(self):
        with self._lock:
            return self._total - self._trimmed

    def trim(self, position):
        """Forget the frames before `position`: every member has them."""
        with self._lock:
            count = position - self.base
            if count <= 0:
                return
            self._trimmed = self._ends[count - 1]
            del self.chunks[:count]
            del self._ends[:count]
            self.base = position
            self._space.notify_all()

    def wait_for_space(self, timeout=0.1):
        """Wait while the stream is full: the writer is behind the senders."""
        with self._lock:
            while not self._closed and self._total - self._trimmed > self._max_bytes:
                self._space.wait(timeout)

    def close(self):
        """Let every waiting sender go: the server is stopping."""
        with self._lock:
            self._closed = True
            self._space.notify_all()


class Outbox:
    """What one connection has still to receive: a stream cursor and its own frames.

    Its lock is held across send() to make sure no one else writes to, or
    closes, the socket meanwhile; the socket is non-blocking, so that
    never waits.
    """

    def __init__(self, sock, writer, on_overflow, limit=MAX_BACKLOG_BYTES):
        self.sock = sock
        self.limit = limit
        self.on_overflow = on_overflow  # called (no locks held) to cut the connection off
        self._writer = writer
        self._stream = writer.stream
        self._lock = threading.Lock()
        self.cursor = None  # next stream position to send; None: not following the room
        self._own = collections.deque()  # (stream position, bytes) for this connection only
        self._own_bytes = 0
        self._partial = None  # memoryview of what the socket took only part of
        self.blocked = False
        self._closed = False
        self.round = 0  # the writer's round that last served this outbox

    def follow(self, position):
        """Receive the room's frames from `position` on (a member joined)."""
        with self._lock:
            self.cursor = position

    def put(self, data):
        """Queue bytes for this connection alone; return False past the limit.

        They follow every room frame appended before this call.
        """
        position = self._stream.end
        with self._lock:
            if self._closed:
                return True
            waiting = self._own_bytes + (len(self._partial) if self._partial else 0)
            if waiting + len(data) > self.limit:
                return False
            self._own.append((position, data))
            self._own_bytes += len(data)
            return True

    def flush(self):
        """Have the writer send what is queued, soon."""
        self._writer.wake(self)

    @property
    def pending(self):
        """Return how many bytes wait to be sent."""
        with self._lock:
            if self._closed:
                return 0
            waiting = self._own_bytes + (len(self._partial) if self._partial else 0)
            cursor = self.cursor
        if cursor is not None:
            waiting += self._stream.bytes_from(cursor)
        return waiting

    def over_limit(self):
        return self.pending > self.limit

    def write(self, chunks, base, end):
        """Send what is due up to stream position `end`; return True if blocked.

        Called by the writer alone, with `chunks` and `base` from the stream.
        """
        with self._lock:
            if self._closed:
                return False
            if self._partial is not None:
                if not self._send(self._partial):
                    return True
            parts = []
            own, cursor = self._own, self.cursor
            while True:
                while own and (cursor is None or own[0][0] <= cursor):
                    data = own.popleft()[1]
                    self._own_bytes -= len(data)
                    parts.append(data)
                if cursor is None or cursor >= end:
                    break
                stop = min(end, own[0][0]) if own else end
                parts.extend(chunks[cursor - base:stop - base])
                cursor = stop
            self.cursor = cursor
            if not parts:
                return False
            return not self._send(parts[0] if len(parts) == 1 else b"".join(parts))

    def _send(self, data):
        """Send as much as the socket takes; return True if it took it all."""
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            # The peer is gone (reset, broken pipe).  Wake its reader,
            # which ends the connection and tells the room.
            self._drop()
            shutdown_quietly(self.sock)
            return True
        if sent == len(data):
            self._partial = None
            return True
        self._partial = memoryview(data)[sent:]
        self.blocked = True
        return False

    def _drop(self):
        self._closed = True
        self._own.clear()
        self._own_bytes = 0
        self._partial = None
        self.cursor = None

    def close(self):
        """Drop what is queued; nothing is sent on this socket after this returns."""
        with self._lock:
            self._drop()
        self._writer.forget(self)

    @property
    def closed(self):
        return self._closed


class Writer:
    """The one thread that sends, for every connection of the server."""

    def __init__(self, stream):
        self.stream = stream
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._dirty = set()  # outboxes with frames of their own to send
        self._woken = False  # a wake-up byte is on its way
        self._members = ()  # outboxes following the stream (set by the room)
        self._rounds = 0
        self._running = True
        self._thread = threading.Thread(target=self._run, name="chat-fanout", daemon=True)
        self._thread.start()

    def set_members(self, outboxes):
        """Follow this tuple of outboxes from the next round on (room lock held)."""
        self._members = outboxes

    def wake(self, outbox=None):
        """Start a round soon; include `outbox` in it even if it is not a member."""
        if outbox is not None:
            with self._lock:
                self._dirty.add(outbox)
        if self._woken:
            return  # a round starts after the flag is cleared, and will see this
        self._woken = True
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # the wake-up socket is full (a wake-up is pending) or closed

    def forget(self, outbox):
        """Stop watching an outbox; call before its socket is closed."""
        with self._lock:
            self._dirty.discard(outbox)
            self._unregister(outbox)

    def stop(self):
        self._running = False
        self.stream.close()
        self._woken = False
        self.wake()
        self._thread.join(0.5)  # it exits at once; never hold up a shutdown
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

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
            writable = []
            with self._lock:
                for key, _ in events:
                    if key.fileobj is self._wake_r:
                        # Clear the flag only once the bytes are read: a waker
                        # that set it meanwhile has its byte still to come.
                        self._drain_wakeups()
                        self._woken = False
                    else:
                        self._unregister(key.data)
                        writable.append(key.data)
            for outbox in writable:
                outbox.blocked = False
            if self._running:
                self._round(writable)

    def _round(self, writable):
        """Give every connection what is due for it, without waiting on any."""
        stream = self.stream
        self._rounds += 1
        number = self._rounds
        base, end = stream.base, stream.end  # only this thread moves base
        chunks = stream.chunks
        members = self._members
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        lowest = end
        overflowed = []
        for group in (members, writable, dirty):
            for outbox in group:
                if outbox.round == number:
                    continue
                outbox.round = number
                if outbox.blocked:
                    if outbox.over_limit():
                        overflowed.append(outbox)
                elif outbox.write(chunks, base, end):
                    with self._lock:
                        if not outbox.closed:
                            self._watch(outbox)
                    if outbox.over_limit():
                        overflowed.append(outbox)
        for outbox in members:
            cursor = outbox.cursor
            if cursor is not None and cursor < lowest:
                lowest = cursor
        if lowest - base >= TRIM_STEP or (lowest > base and stream.retained() > MAX_BACKLOG_BYTES):
            stream.trim(lowest)
        for outbox in overflowed:
            outbox.on_overflow()

    def _watch(self, outbox):
        try:
            self._selector.register(outbox.sock, selectors.EVENT_WRITE, outbox)
        except KeyError:
            pass  # already watched
        except ValueError:
            pass  # closed meanwhile

    def _drain_wakeups(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass  # BlockingIOError: drained
