"""The fanout: the thread that sends every connection its due bytes, in rounds, never waiting.

A round gives each socket everything due for it in one non-blocking
send() (at most outbox.MAX_SEND_BYTES of room frames).  The members in
the usual state ("plain": up to date, nothing of their own queued, not
blocked, not encrypted) all take the same bytes, and the round sends them
in one loop in C (Fanout._send_plain); Python then only moves their
cursors.  In a quiet room the thread that added a frame runs the round
itself; otherwise the Fanout thread, woken after something is queued,
runs them.  Under load, messages gather while a round runs, so one send
carries many of them.  A socket that takes less than it is offered is
"blocked": the fanout skips it until `selectors` says it is writable, so
a stalled reader costs the others nothing.  A blocked connection more
than its limit behind the furthest member is cut off as too_slow.  While
the room floods, the fanout keeps the server's threads on one CPU
(one_cpu.py).  What is due for each connection, and the stream it reads,
are outbox.py's.  docs/benchmarks.md has the measurements behind this
design.
"""

import itertools
import operator
import selectors
import socket
import threading
import time
import traceback

from .one_cpu import CALM_SECONDS, NEVER
from .outbox import BLOCKED, MAX_BACKLOG_BYTES, MAX_SEND_BYTES, MORE, UNUSUAL
from ..terminal.console import QUIET

# The fanout drops sent frames from the stream in steps of this many,
# so that trimming (a list copy under the stream's lock) stays rare.
TRIM_STEP = 512

# A frame added to a quiet room is sent by the thread that added it, in a
# round of its own, rather than by waking the fanout thread: at a
# classroom's pace every message is a round anyway, and handing it to
# another thread cost a thread wake-up and a hand-over of the interpreter
# lock for each.  "Quiet" is no round for this long; in a busier room the
# fanout thread takes the rounds, and the frames gather while it sends.
QUIET_SECONDS = 0.002

# A fault in a round (a bug) is reported at once, and again at most this
# often while it goes on: every message could meet it, and the console must
# stay readable.
FAULT_REPORT_SECONDS = 60.0

# What the fanout says about a fault in a round; the traceback follows.
FAULT_WORDS = (
    "unexpected error while sending the room's messages; the server goes on, but "
    "members may have missed a message or got one twice. Please report this "
    "with the lines below:")

# What the fanout reads from its members, in C, to send to the plain ones at once.
IS_PLAIN = operator.attrgetter("plain")
SOCKET_OF = operator.attrgetter("sock")


class Fanout:
    """The thread that sends, for every connection of the server.

    In a quiet room the thread that adds a frame sends its round itself
    (deliver()); the two never run a round at once.  A fault in a round
    (a bug) is told to `console` (its error()) with its traceback, and the
    rounds go on: the thread never dies of it, which would stop the room's
    messages.
    """

    def __init__(self, stream, one_cpu=NEVER, console=QUIET):
        self.stream = stream
        self._one_cpu = one_cpu  # told how many frames each round sends (one_cpu.py)
        self.console = console  # terminal.console.Console
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
        the fanout thread is woken and takes them in its next round.
        What this round leaves over (a member with more due, a blocked
        socket) is the fanout thread's too.
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
        if left_over or self._one_cpu.narrowed:  # the fanout widens once the room is calm
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
        """Tell the console of a fault: at once, then once a FAULT_REPORT_SECONDS, with a count."""
        self._faults += 1
        now = time.monotonic()
        last = self._fault_reported
        if last is not None and now - last < FAULT_REPORT_SECONDS:
            return
        more = self._faults - 1
        self._faults, self._fault_reported = 0, now
        if more:
            text = "(%d more since the last report)\n%s" % (more, text)
        self.console.error("%s\n%s" % (FAULT_WORDS, text))

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
        fanout wrongs no one; once the stream is full, up to its end, so
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
