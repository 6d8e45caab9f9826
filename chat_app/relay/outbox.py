"""Outgoing bytes: the room's shared stream, each connection's outbox, one writer.

Fan-out costs the room one list append per message, whatever the number of
members.  The room appends each frame's bytes once to the Stream; a JSON
member's Outbox holds only a cursor into it, plus the few frames meant for
that connection alone (its welcome, errors, pongs), each tagged with the
stream position it must follow, so every member sees one order.

A round gives each socket everything due for it in one non-blocking
send() (at most MAX_SEND_BYTES of room frames).  The members in the usual
state ("plain": up to date, nothing of their own queued, not blocked,
not encrypted) all take the same bytes, and the round sends them in one
loop in C (Writer._send_plain); Python then only moves their cursors.
In a quiet room the thread that added a frame runs the round itself;
otherwise one Writer thread, woken after something is queued, runs them.
Under load, messages gather while a round runs, so one send carries many
of them.  A socket that takes less than it is offered is "blocked": the
writer skips it until `selectors` says it is writable, so a stalled
reader costs the others nothing.  A blocked connection more than its
limit behind the furthest member is cut off as too_slow.  The stream
keeps only what some member has still to read, and senders wait while it
holds more than MAX_STREAM_BYTES; then a blocked connection is judged
against the stream's end, so readers who stop cannot hold the room up.
Memory stays bounded under any load.  While the room floods, the writer
keeps the server's threads on one CPU (one_cpu.py).
docs/benchmarks.md has the measurements behind this design.
"""

import bisect
import collections
import itertools
import operator
import selectors
import socket
import sys
import threading
import time
import traceback

from ..wire import nonblocking
from .one_cpu import CALM_SECONDS, NEVER
from ..wire.nonblocking import shutdown_quietly

# A client that falls this far behind is disconnected as too_slow.  About
# a thousand ordinary messages: far more than a healthy client ever lags.
MAX_BACKLOG_BYTES = 1024 * 1024

# Room frames kept for members still to read them.  Past this the writer
# is behind (or a stalled member is about to be cut off), and senders wait.
# It must exceed MAX_BACKLOG_BYTES, or one stalled member would stop the room.
MAX_STREAM_BYTES = 4 * MAX_BACKLOG_BYTES

# The most room frames offered to one socket in one send().  A member far
# behind (the writer lagged, or it just joined a busy room) catches up over
# several rounds, so no socket is ever offered more than this at once.
MAX_SEND_BYTES = 256 * 1024

# The writer drops sent frames from the stream in steps of this many,
# so that trimming (a list copy under the stream's lock) stays rare.
TRIM_STEP = 512

# A frame added to a quiet room is sent by the thread that added it, in a
# round of its own, rather than by waking the writer thread: at a
# classroom's pace every message is a round anyway, and handing it to
# another thread cost a thread wake-up and a hand-over of the interpreter
# lock for each.  "Quiet" is no round for this long; in a busier room the
# writer thread takes the rounds, and the frames gather while it sends.
QUIET_SECONDS = 0.002

# A fault in a round (a bug) is reported at once, and again at most this
# often while it goes on: every message could meet it, and the console must
# stay readable.
FAULT_REPORT_SECONDS = 60.0

# What the writer says about a fault in a round; the traceback follows.
FAULT_WORDS = (
    "unexpected error while sending the room's messages; the server goes on, but "
    "members may have missed a message or got one twice. Please report this "
    "with the lines below:")


def print_fault(text):
    """Report a fault in a round where no console is given (tests, embedded use)."""
    print(text, file=sys.stderr)


# What Outbox.send_due() tells the writer: everything due went out, more
# is due than one send offers, the socket took only part, or the usual
# case does not apply (prepare() and send_out() then serve the connection).
SENT, MORE, BLOCKED, UNUSUAL = range(4)

# What an Outbox holds while it has no frame of its own queued (nearly always).
NO_OWN_FRAMES = ()

# What the writer reads from its members, in C, to send to the plain ones at once.
IS_PLAIN = operator.attrgetter("plain")
SOCKET_OF = operator.attrgetter("sock")


class Stream:
    """The room's frames, encoded once, in the order every member sees them.

    Positions are absolute frame numbers: `base` is the first one still
    kept, `end` the next to be appended.  Only the room appends (under its
    own lock, which fixes the order) and only the writer trims.

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

        For the writer only: it alone trims, so base cannot move meanwhile.
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
        """Wait while the stream is full: the writer is behind the senders.

        The writer's trim wakes the waiters, and so does `wake_senders()`,
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
    __slots__ = ("sock", "limit", "on_overflow", "_writer", "_stream", "_lock", "_drained",
                 "_drain_waiters", "cursor", "_until", "_own", "_own_bytes", "_partial",
                 "blocked", "_closed", "round", "plain")

    def __init__(self, sock, writer, on_overflow, limit=MAX_BACKLOG_BYTES):
        self.sock = sock
        self.limit = limit
        self.on_overflow = on_overflow  # called (no locks held) to cut the connection off
        self._writer = writer
        self._stream = writer.stream
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
        self.round = 0  # the writer's round that last served this outbox
        # True while the usual case holds: the cursor is where the writer's
        # last round ended, and nothing but room frames is due.  Only the
        # writer sets it (send_due()); whatever ends the usual case clears
        # it, under the lock, before the writer could send past it.
        self.plain = False

    def encrypt(self, tls_sock):
        """Send through this TLS socket from now on (its handshake is done).

        It is never plain: its reader's recv() and every send() must take
        turns under this lock (io_lock).  A send in C that began before
        ends first: it reads the socket without this lock.
        """
        with self._writer.plain_sends, self._lock:
            self.sock = tls_sock
            self.plain = False

    def follow(self, position):
        """Receive the room's frames from `position` on (a member joined, or None: it left).

        A send in C that began before ends first: it sets the cursor of
        the plain members it served without this lock.
        """
        with self._writer.plain_sends, self._lock:
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
        """Have the writer send what is queued, soon."""
        self._writer.wake(self)

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

        The writer notifies after each send; return True if drained.
        """
        with self._lock:
            if self._drained is None:
                self._drained = threading.Condition(self._lock)
            self._drain_waiters += 1
            self.plain = False  # the writer notifies only from send_due() and send_out()
        try:
            # A send in C to the plain members, begun before, notifies no one: let it end.
            self._writer.wait_for_plain_sends()
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

        The writer passes the furthest position any member has been sent,
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

        For the writer alone, like prepare(), which it falls back on when
        this returns UNUSUAL: the connection has frames of its own queued,
        bytes the socket took only part of, a last frame, or is blocked or
        closed.  Otherwise return SENT, MORE (more than one send offers is
        due: the writer comes back) or BLOCKED (the socket took only part).
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
        """The writer sent `data` (room frames up to `end`) in C: the socket took `sent` bytes.

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

        Called by the writer alone, with `chunks` and `base` from the stream
        and `end` where its held frames begin: an own frame queued after
        one of them waits for it too.  At most MAX_SEND_BYTES of room
        frames are taken at once; the cursor then stops short of `end`, and
        the writer comes back for the rest.  `joined` maps a cursor to
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

        The writer prepares the connections that need it first and then
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
        self._writer.wait_for_plain_sends()  # one that began before the drop
        with self._lock:
            self.cursor = None  # that send set it without this lock
        self._writer.forget(self)

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


class Writer:
    """The thread that sends, for every connection of the server.

    In a quiet room the thread that adds a frame sends its round itself
    (deliver()); the two never run a round at once.  A fault in a round
    (a bug) is given to `on_fault` with its traceback, and the rounds go
    on: the thread never dies of it, which would stop the room's messages.
    """

    def __init__(self, stream, one_cpu=NEVER, on_fault=print_fault):
        self.stream = stream
        self._one_cpu = one_cpu  # told how many frames each round sends (one_cpu.py)
        self._on_fault = on_fault
        self._faults = 0  # faults not yet reported
        self._fault_reported = None  # time.monotonic() of the last report
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._dirty = set()  # outboxes with frames of their own to send
        self._woken = False  # a wake-up byte is on its way
        self._again = False  # some members have more due than one send offers
        self._members = ()  # outboxes following the stream (set by the room)
        self._rounds = 0
        self._round_lock = threading.Lock()  # held by whichever thread runs a round
        # Held while plain members are sent to in C, without their own locks:
        # an outbox that closes, or that changes what that send reads or
        # writes (its socket, its cursor), waits for it.  Taken before any
        # outbox's lock, never the other way round.
        self.plain_sends = threading.Lock()
        self._round_ended = 0.0  # time.monotonic() when the last round ended
        self._last_end = 0  # the stream's end when the members were last served
        self._running = True
        self._thread = threading.Thread(target=self._run, name="chat-fanout", daemon=True)
        self._thread.start()

    def set_members(self, outboxes):
        """Follow this tuple of outboxes from the next round on (room lock held)."""
        self._members = outboxes
        self._last_end = None  # serve them all next round, and trim what none needs

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

    def deliver(self):
        """Send the frames just added to the stream: now, in this thread, if the room is quiet.

        Otherwise (a round is running or due, or one ended moments ago)
        the writer thread is woken and takes them in its next round.
        What this round leaves over (a member with more due, a blocked
        socket) is the writer thread's too.
        """
        if (self._woken or not self._running
                or time.monotonic() - self._round_ended < QUIET_SECONDS
                or not self._round_lock.acquire(blocking=False)):
            self.wake()
            return
        try:
            self._round_or_recover(())
            left_over = self._again or self._dirty
        finally:
            self._round_lock.release()
        if left_over or self._one_cpu.narrowed:  # the writer widens once the room is calm
            self.wake()

    def wait_for_plain_sends(self):
        """Wait until no round sends to the plain members (an outbox closes, or waits to drain).

        Its `plain` is cleared by then, so no later round sends to it.
        """
        with self.plain_sends:
            pass

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
        self._one_cpu.widen()  # the process may go on (teach's window, a test run)
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
                events = self._selector.select(
                    0 if self._again else CALM_SECONDS if self._one_cpu.narrowed else None)
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
                with self._round_lock:
                    self._round_or_recover(writable)

    def _round_or_recover(self, writable):
        """Run a round; after a fault in it, report it and serve every connection again.

        The next round (with the next frame: a fault that repeats must not
        spin) serves each member from its own cursor, as after the members
        change, and the connections this one had taken on; a frame a send
        in C had sent before the fault may then go twice.
        """
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        try:
            self._round(writable, dirty)
        except Exception:
            self._last_end = None
            self._again = False
            with self._lock:
                self._dirty.update(dirty, writable)
            self._report_fault(traceback.format_exc().rstrip())

    def _report_fault(self, text):
        """Give a fault to on_fault: at once, then once a FAULT_REPORT_SECONDS, with a count."""
        self._faults += 1
        now = time.monotonic()
        last = self._fault_reported
        if last is not None and now - last < FAULT_REPORT_SECONDS:
            return
        more = self._faults - 1
        self._faults, self._fault_reported = 0, now
        if more:
            text = "(%d more since the last report)\n%s" % (more, text)
        self._on_fault("%s\n%s" % (FAULT_WORDS, text))

    def _round(self, writable, dirty):
        """Give every connection what is due for it, without waiting on any.

        The plain members take the new room frames all at once
        (_send_plain()); each other member in the usual case (send_due())
        is served in one call.  The rest, and the connections that became
        writable (`writable`) or have frames of their own (`dirty`), are
        prepared first and then sent one after another: the Python work
        of a round stays out of the gaps between its send() calls.
        """
        stream = self.stream
        self._rounds += 1
        number = self._rounds
        base, end = stream.base, stream.released  # only this thread moves base
        chunks, joined = stream.chunks, {}
        self._again = False
        blocked, again, unusual = [], [], []
        members = self._members
        last = self._last_end  # once: set_members() may set it to None meanwhile
        serve_members = end != last  # new room frames: every member has some due
        frames = end - last if last is not None else 0  # (members changed)
        if serve_members:
            if last is not None:  # the same members as last round
                members = self._send_plain(members, chunks, base, last, end, joined, blocked)
            self._last_end = end
            for outbox in members:
                status = outbox.send_due(chunks, base, end, joined)
                if status == MORE:
                    outbox.round = number
                    again.append(outbox)
                elif status == BLOCKED:
                    outbox.round = number
                    self._blocked(outbox, blocked)
                elif status == UNUSUAL:
                    unusual.append(outbox)
        ready, held = [], []
        for outbox in itertools.chain(unusual, writable, dirty):
            if outbox.round == number:
                continue  # served already (a member that was also writable or dirty)
            outbox.round = number
            if outbox.blocked:
                blocked.append(outbox)
            elif outbox.prepare(chunks, base, end, joined):
                ready.append(outbox)
            elif outbox.held:
                held.append(outbox)  # its own frames follow a frame the log still holds
        for outbox in ready:
            if outbox.send_out():
                self._blocked(outbox, blocked)
            elif outbox.cursor is not None and outbox.cursor < end:
                again.append(outbox)
            elif outbox.held:
                held.append(outbox)
        retained = stream.retained()
        if ((serve_members and end - base >= TRIM_STEP)
                or retained > MAX_BACKLOG_BYTES):
            # Members that were behind may have caught up: drop what all have.
            lowest = min([outbox.cursor for outbox in members
                          if outbox.cursor is not None] or [end])
            if lowest - base >= TRIM_STEP or (lowest > base and retained > MAX_BACKLOG_BYTES):
                stream.trim(lowest)
        if again:
            with self._lock:
                self._dirty.update(again)
            self._again = True
        if held:  # served again once the log releases what they follow (it wakes a round)
            with self._lock:
                self._dirty.update(held)
        if blocked:
            self._cut_off_laggards(blocked, end)
        self._round_ended = time.monotonic()
        self._one_cpu.count(frames, self._round_ended)
        self._one_cpu.calm(self._round_ended)

    def _send_plain(self, members, chunks, base, start, end, joined, blocked):
        """Send the new room frames to every plain member in one loop in C; return the others.

        A plain member's cursor is where the last round ended (`start`), so
        they all take the same bytes, and nothing of their own is due.
        What each send() returned is looked at in Python only if one took
        less than all or raised (then the loop goes on after it).  No
        member's lock is taken: whatever ends the usual case clears `plain`
        under it first, and close(), wait_drained(), follow() and encrypt()
        wait for this lock (`plain_sends`), so a closed socket is never
        sent to and no cursor is set behind their backs.  A frame of a
        member's own, queued while this runs, follows these frames: as
        put() promises.
        """
        if self.stream.stop_after(start, end, MAX_SEND_BYTES) != end:
            return members  # more than one send() offers: each member's own steps
        with self.plain_sends:
            flags = list(map(IS_PLAIN, members))
            if True not in flags:
                return members
            plain = list(itertools.compress(members, flags))
            data = b"".join(chunks[start - base:end - base])
            joined[start] = (data, end)
            socks = list(map(SOCKET_OF, plain))
            send = operator.methodcaller("send", data)
            results = []
            while len(results) < len(socks):
                try:
                    results.extend(map(send, socks[len(results):]))
                except OSError as error:  # the others still get theirs
                    results.append(error)
            size = len(data)
            for outbox, sent in zip(plain, results):
                if sent == size:
                    outbox.cursor = end
                elif outbox.took(data, sent, end) == BLOCKED:
                    outbox.round = self._rounds
                    self._blocked(outbox, blocked)
        if len(plain) == len(members):
            return ()
        return [outbox for outbox, flag in zip(members, flags) if not flag]

    def _blocked(self, outbox, blocked):
        """Watch a socket that took only part of its bytes until it is writable."""
        blocked.append(outbox)
        with self._lock:
            if not outbox.closed:
                self._watch(outbox)

    def _cut_off_laggards(self, blocked, end):
        """Cut off the blocked connections too far behind the others.

        "Behind" counts up to the furthest member's position, so a lagging
        writer wrongs no one; once the stream is full, up to its end, so
        that readers who stopped can never hold the room up.
        """
        if self.stream.full():
            furthest = end
        else:
            furthest = max([outbox.cursor for outbox in self._members
                            if outbox.cursor is not None] or [end])
        for outbox in blocked:
            if outbox.over_limit(furthest):
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
