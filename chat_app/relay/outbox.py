"""Outgoing bytes: the room's shared stream and each connection's outbox.

Fan-out costs the room one list append per message, whatever the number of
members.  The room appends each frame's bytes once to the Stream; a JSON
member's Outbox holds only a cursor into it, plus the few frames meant for
that connection alone (its welcome, errors, pongs), each tagged with the
stream position it must follow, so every member sees one order.  One
thread sends for all of them, in rounds (fanout.py); an Outbox tells it
what is due for its connection.  The stream keeps only what some member
has still to read, and senders wait while it holds more than
MAX_STREAM_BYTES; then a blocked connection is judged against the
stream's end, so readers who stop cannot hold the room up.  Memory stays
bounded under any load.  docs/benchmarks.md has the measurements behind
this design.
"""

import bisect
import collections
import threading

from ..wire import nonblocking
from ..wire.nonblocking import shutdown_quietly

# A client that falls this far behind is disconnected as too_slow.  About
# a thousand ordinary messages: far more than a healthy client ever lags.
MAX_BACKLOG_BYTES = 1024 * 1024

# Room frames kept for members still to read them.  Past this the fanout
# is behind (or a stalled member is about to be cut off), and senders wait.
# It must exceed MAX_BACKLOG_BYTES, or one stalled member would stop the room.
MAX_STREAM_BYTES = 4 * MAX_BACKLOG_BYTES

# The most room frames offered to one socket in one send().  A member far
# behind (the fanout lagged, or it just joined a busy room) catches up over
# several rounds, so no socket is ever offered more than this at once.
MAX_SEND_BYTES = 256 * 1024

# What Outbox.send_due() tells the fanout: everything due went out, more
# is due than one send offers, the socket took only part, or the usual
# case does not apply (prepare() and send_out() then serve the connection).
SENT, MORE, BLOCKED, UNUSUAL = range(4)

# What an Outbox holds while it has no frame of its own queued (nearly always).
NO_OWN_FRAMES = ()

class Stream:
    """The room's frames, encoded once, in the order every member sees them.

    Positions are absolute frame numbers: `base` is the first one still
    kept, `end` the next to be appended.  Only the room appends (under its
    own lock, which fixes the order) and only the fanout trims.

    While the room keeps a log, its frames are held: nothing at or after
    `released` is sent, nor any connection's own frame queued after it,
    until the log writer releases them (written, or given up on).
    """

    def __init__(self, max_bytes=MAX_STREAM_BYTES):
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._max_bytes = max_bytes
        self._closed = False
        self._released = None  # where held frames begin; None: none are held
        self.base = 0
        self.chunks = []
        self._ends = []  # _ends[i]: bytes appended up to and including chunks[i]
        self._total = 0
        self._trimmed = 0  # bytes appended before base

    @property
    def end(self):
        with self._lock:
            return self.base + len(self.chunks)

    @property
    def released(self):
        """Return the position up to which frames may be sent."""
        with self._lock:
            if self._released is None:
                return self.base + len(self.chunks)
            return max(self.base, self._released)  # held frames no member follows may be gone

    def hold(self):
        """Hold every frame appended from now on until it is released (a log is kept)."""
        with self._lock:
            if self._released is None:
                self._released = self.base + len(self.chunks)

    def release(self, position):
        """Let the frames before `position` be sent: their log lines are written or given up on."""
        with self._lock:
            if self._released is not None and position > self._released:
                self._released = position

    def release_all(self):
        """Send every frame as it comes from now on (no log is kept any more)."""
        with self._lock:
            self._released = None

    def append(self, data):
        with self._lock:
            self.chunks.append(data)
            self._total += len(data)
            self._ends.append(self._total)

    def bytes_from(self, position):
        """Return how many bytes were appended at or after `position`."""
        with self._lock:
            return self._total - self._offset(position)

    def bytes_between(self, start, stop):
        """Return the size of the frames from position `start` up to `stop`."""
        with self._lock:
            return self._offset(stop) - self._offset(start)

    def stop_after(self, start, end, size):
        """Return the position up to which frames from `start` hold `size` bytes, or `end`.

        For the fanout only: it alone trims, so base cannot move meanwhile.
        """
        ends, base = self._ends, self.base
        target = self._offset(start) + size
        index = bisect.bisect_left(ends, target, start - base, end - base)
        return min(end, base + index + 1)

    def _offset(self, position):
        index = position - self.base
        return self._ends[index - 1] if index > 0 else self._trimmed

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

    def full(self):
        with self._lock:
            return self._total - self._trimmed > self._max_bytes

    def wait_for_space(self, give_up=lambda: False):
        """Wait while the stream is full: the fanout is behind the senders.

        The fanout's trim wakes the waiters, and so does `wake_senders()`,
        which a connection calls when it ends: a waiter then stops early
        once `give_up()` is true (its own connection was cut off).
        """
        if self._total - self._trimmed <= self._max_bytes:
            return  # the usual case, seen without the lock: a frame more or less is no matter
        with self._lock:
            while (not self._closed and self._total - self._trimmed > self._max_bytes
                   and not give_up()):
                self._space.wait()

    def wake_senders(self):
        """Have every waiting sender look again whether it should give up."""
        with self._lock:
            self._space.notify_all()

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

    # A thousand connections: no __dict__ each, and the Condition and the
    # queue of own frames are made only when needed.
    __slots__ = ("sock", "limit", "on_overflow", "_fanout", "_stream", "_lock", "_drained",
                 "_drain_waiters", "cursor", "_until", "_own", "_own_bytes", "_partial",
                 "blocked", "_closed", "round", "plain")

    def __init__(self, sock, fanout, on_overflow, limit=MAX_BACKLOG_BYTES):
        self.sock = sock
        self.limit = limit
        self.on_overflow = on_overflow  # called (no locks held) to cut the connection off
        self._fanout = fanout
        self._stream = fanout.stream
        self._lock = threading.Lock()
        self._drained = None  # a Condition, notified when nothing waits; made by wait_drained()
        self._drain_waiters = 0  # threads in wait_drained(): only then notify
        self.cursor = None  # next stream position to send; None: not following the room
        self._until = None  # the stream position after which it gets no room frames (bye)
        self._own = NO_OWN_FRAMES  # (stream position, bytes) for this connection only
        self._own_bytes = 0
        self._partial = None  # the bytes to send next: prepared, or what the socket took only part of
        self.blocked = False
        self._closed = False
        self.round = 0  # the fanout's round that last served this outbox
        # True while the usual case holds: the cursor is where the fanout's
        # last round ended, and nothing but room frames is due.  Only the
        # fanout sets it (send_due()); whatever ends the usual case clears
        # it, under the lock, before the fanout could send past it.
        self.plain = False

    def encrypt(self, tls_sock):
        """Send through this TLS socket from now on (its handshake is done).

        It is never plain: its reader's recv() and every send() must take
        turns under this lock (io_lock).  A send in C that began before
        ends first: it reads the socket without this lock.
        """
        with self._fanout.plain_sends, self._lock:
            self.sock = tls_sock
            self.plain = False

    def follow(self, position):
        """Receive the room's frames from `position` on (a member joined, or None: it left).

        A send in C that began before ends first: it sets the cursor of
        the plain members it served without this lock.
        """
        with self._fanout.plain_sends, self._lock:
            self.cursor = position
            self.plain = False

    def stop_at(self, position):
        """Send no room frame from `position` on: its last frame (bye) is queued."""
        with self._lock:
            self._until = position
            self.plain = False

    def _room_end(self, end):
        """Return how far in the stream this connection is to be sent (lock held)."""
        return end if self._until is None else min(end, self._until)

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
            if not self._own:
                self._own = collections.deque()
            self._own.append((position, data))
            self._own_bytes += len(data)
            self.plain = False
            return True

    def flush(self):
        """Have the fanout send what is queued, soon."""
        self._fanout.wake(self)

    @property
    def pending(self):
        """Return how many bytes wait to be sent."""
        with self._lock:
            return self._pending()

    def _pending(self):
        """Return how many bytes wait to be sent (lock held)."""
        if self._closed:
            return 0
        waiting = self._own_bytes + (len(self._partial) if self._partial else 0)
        cursor = self.cursor
        if cursor is not None:
            if self._until is None:
                waiting += self._stream.bytes_from(cursor)
            elif cursor < self._until:
                waiting += self._stream.bytes_between(cursor, self._until)
        return waiting

    def wait_drained(self, timeout):
        """Wait until everything queued is sent (or dropped), at most `timeout` seconds.

        The fanout notifies after each send; return True if drained.
        """
        with self._lock:
            if self._drained is None:
                self._drained = threading.Condition(self._lock)
            self._drain_waiters += 1
            self.plain = False  # the fanout notifies only from send_due() and send_out()
        try:
            # A send in C to the plain members, begun before, notifies no one: let it end.
            self._fanout.wait_for_plain_sends()
            with self._lock:
                return self._drained.wait_for(lambda: not self._pending(), timeout)
        finally:
            with self._lock:
                self._drain_waiters -= 1

    def _notify_drained(self):
        """Wake wait_drained() callers to look again (lock held)."""
        if self._drain_waiters:
            self._drained.notify_all()

    def over_limit(self, end):
        """Return True if more than the limit waits, counting room frames up to `end`.

        The fanout passes the furthest position any member has been sent,
        so that its own lag is not held against a connection.
        """
        with self._lock:
            if self._closed:
                return False
            waiting = self._own_bytes + (len(self._partial) if self._partial else 0)
            cursor = self.cursor
            end = self._room_end(end)
        if cursor is not None and cursor < end:
            waiting += self._stream.bytes_between(cursor, end)
        return waiting > self.limit

    def send_due(self, chunks, base, end, joined):
        """Send a member the room's frames due up to `end`, in one call: the usual case.

        For the fanout alone, like prepare(), which it falls back on when
        this returns UNUSUAL: the connection has frames of its own queued,
        bytes the socket took only part of, a last frame, or is blocked or
        closed.  Otherwise return SENT, MORE (more than one send offers is
        due: the fanout comes back) or BLOCKED (the socket took only part).
        """
        with self._lock:
            cursor = self.cursor
            if (self._partial is not None or self._own or self._until is not None
                    or self.blocked or self._closed or cursor is None):
                return UNUSUAL
            if cursor >= end:
                return SENT
            batch = joined.get(cursor)
            if batch is None:
                stop = self._stream.stop_after(cursor, end, MAX_SEND_BYTES)
                batch = joined[cursor] = (b"".join(chunks[cursor - base:stop - base]), stop)
            data, self.cursor = batch
            status = self._send(data)
            if status == SENT and not self._closed:
                if batch[1] < end:
                    self.plain = False  # behind: the next round's frames are not its next
                    return MORE
                # Never a TLS socket (the handler swaps it in after the
                # handshake): its reader's recv() needs this lock held.
                self.plain = not (self._drain_waiters or nonblocking.is_tls(self.sock))
            return status

    def took(self, data, sent, end):
        """The fanout sent `data` (room frames up to `end`) in C: the socket took `sent` bytes.

        `sent` is the OSError that send() raised, if it raised one.  Called
        for a plain member that took less than all (rare): what is left
        goes first next time, as after _send().  Return BLOCKED or SENT.
        """
        with self._lock:
            if self._closed:
                return SENT
            self.cursor = end
            return self._taken(data, sent)

    def _send(self, data):
        """Send bytes, as far as the socket takes them (lock held); return BLOCKED or SENT."""
        try:
            sent = self.sock.send(data)
        except OSError as error:
            sent = error
        return self._taken(data, sent)

    def _taken(self, data, sent):
        """Note what a send() of `data` did: bytes taken, or the OSError it raised (lock held)."""
        if isinstance(sent, OSError):
            if not isinstance(sent, nonblocking.WOULD_BLOCK):
                # The peer is gone (reset, broken pipe).  Wake its reader,
                # which ends the connection and tells the room.
                self._drop()
                shutdown_quietly(self.sock)
                return SENT
            sent = 0
        if sent == len(data):
            self._partial = None
            if self._drain_waiters:
                self._drained.notify_all()
            return SENT
        self._partial = memoryview(data)[sent:]
        self.blocked = True
        self.plain = False
        return BLOCKED

    def prepare(self, chunks, base, end, joined):
        """Take what is due, up to stream position `end`, as the next bytes to send.

        Called by the fanout alone, with `chunks` and `base` from the stream
        and `end` where its held frames begin: an own frame queued after
        one of them waits for it too.  At most MAX_SEND_BYTES of room
        frames are taken at once; the cursor then stops short of `end`, and
        the fanout comes back for the rest.  `joined` maps a cursor to
        (bytes, stop), shared by the members at that cursor (usually all
        of them).  What the socket has not yet taken goes first, alone.
        Return True if there is something to send (see send_out()).
        """
        with self._lock:
            if self._partial is not None or self._closed:
                return not self._closed
            cursor = self.cursor
            if not self._own and self._until is None:  # the usual case: the room's frames only
                if cursor is None or cursor >= end:
                    return False
                batch = joined.get(cursor)
                if batch is None:
                    stop = self._stream.stop_after(cursor, end, MAX_SEND_BYTES)
                    batch = joined[cursor] = (b"".join(chunks[cursor - base:stop - base]), stop)
                self.cursor = batch[1]
                self._partial = batch[0]
                return True
            return self._take_own_frames(chunks, base, end)

    def _take_own_frames(self, chunks, base, released):
        """prepare() with frames of its own queued, or after its last room frame is set (lock held).

        Its own frames go in their places among the room's; nothing is
        shared with other members.
        """
        end = self._room_end(released)
        cursor = self.cursor
        if cursor is not None and cursor < end:
            end = self._stream.stop_after(cursor, end, MAX_SEND_BYTES)
        parts = []
        own = self._own
        while True:
            while own and own[0][0] <= released and (cursor is None or own[0][0] <= cursor):
                data = own.popleft()[1]
                self._own_bytes -= len(data)
                parts.append(data)
            if cursor is None or cursor >= end:
                break
            stop = min(end, own[0][0]) if own else end
            parts.extend(chunks[cursor - base:stop - base])
            cursor = stop
        self.cursor = cursor
        if not own:
            self._own = NO_OWN_FRAMES  # the deque goes until it is needed again
        if not parts:
            return False
        self._partial = parts[0] if len(parts) == 1 else b"".join(parts)
        return True

    def send_out(self):
        """Send what prepare() took, as far as the socket takes it; return True if blocked.

        The fanout prepares the connections that need it first and then
        sends to them one after another, so that the sends of a round
        follow each other closely: a receiver woken by the first finds
        the others' bytes there too.
        """
        with self._lock:
            data = self._partial
            if data is None or self._closed:
                return False
            return self._send(data) == BLOCKED

    def _drop(self):
        self._closed = True
        self.plain = False
        self._own = NO_OWN_FRAMES
        self._own_bytes = 0
        self._partial = None
        self.cursor = None
        self._notify_drained()

    def close(self):
        """Drop what is queued; nothing is sent on this socket after this returns."""
        with self._lock:
            self._drop()
        self._fanout.wait_for_plain_sends()  # one that began before the drop
        with self._lock:
            self.cursor = None  # that send set it without this lock
        self._fanout.forget(self)

    def send_close_notify(self):
        """On a TLS socket, send TLS close_notify: best effort, without waiting.

        Call after close().  The TLS layer stays (unwrap() raises when
        the peer's own close_notify has not come yet), so nothing after
        it could go out unencrypted.
        """
        if not nonblocking.is_tls(self.sock):
            return
        with self._lock:
            try:
                self.sock.unwrap()
            except (OSError, ValueError):
                pass  # SSLWantReadError: sent, the peer's reply not awaited; or gone

    @property
    def closed(self):
        return self._closed

    @property
    def held(self):
        """Tell whether own frames are still queued (they follow held room frames)."""
        return bool(self._own)

    @property
    def io_lock(self):
        """The lock held around send(); hold it to recv() on a TLS socket.

        OpenSSL does not allow one connection to read in one thread while
        another thread writes.
        """
        return self._lock
