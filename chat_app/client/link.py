"""The clients' network side: threads that never touch Tk.

A Link connects, joins and reads in one thread and writes from another,
so neither client ever waits on the network.  What it learns goes on a
queue as (kind, value) events, which the client's own thread drains:

- ("joined", welcome): joined, the first time or again after a reconnect;
- ("refused", (code, message)): the server refused the join, or (code
  "kicked") the teacher removed us, or (code "not_the_room") the room could
  not prove that it knows the passwords; the link ends;
- ("changed", change): a rejoin found the room changed (tls.CHANGES: now
  encrypted, no longer encrypted, another certificate); the link ends,
  and the client asks the person what to do (chat_state.changed_room);
- ("password", (message, sent)): the room wants a password (another one, if
  `sent`); the link ends, and the client asks for one;
- ("failed", message): the first connection failed; the link ends;
- ("waiting", (message, seconds)): the password waits its turn at the server
  (too many wrong ones from this address), at most `seconds`; the join goes on;
- ("frame", frame): any other frame from the server (pings are answered here);
- ("lost", message): the connection dropped, or a reconnect attempt failed;
- ("stopped", None): the same, after the server said goodbye without removing
  us (it is shutting down): the student's network is not to blame;
- ("retrying", seconds): the next attempt comes in that many seconds;
- ("sending", (sent, total)): says are going out paced, `sent` of `total`;
- ("sent", total): a paced run of says has all gone out.

After the first successful join the link keeps reconnecting, with
backoff, until close() is called.  Says are paced by a token bucket that
mirrors the server's (welcome's `limits`), so the server never has to hold
them back.
"""

import queue
import threading
import time

from .chat_state import (
    CLIENT_WORDS,
    KICKED,
    NOT_THE_ROOM,
    backoff_delays,
    limits_of,
    refusal_words,
)
from .connection import ConnectError, JoinRefused, RoomChanged, ServerConnection
from ..wire.rate_limit import RateLimiter
from ..wire.tls import NOW_ENCRYPTED

# How long closing waits for the leave frame to go out.  The window exits
# within a second of being closed, whatever the network does.
CLOSE_WAIT = 0.5

# Refusals that another try cannot fix: a bad name, and a room that is not
# what it claims (a fake, or a relay: trying again would only try it again).
# name_taken on a rejoin is retried: the server may still hold our old
# connection until its ping timeout.
FINAL_ON_REJOIN = ("bad_name", NOT_THE_ROOM, "bad_binding")

# The pacing stays a little inside the server's limits: frames that leave
# evenly can still arrive bunched, and the server measures on arrival.
PACE_MARGIN = 0.9
BURST_MARGIN = 2


def pacing_bucket(rate, burst, clock=time.monotonic):
    """The token bucket that paces says: the server's own (welcome's `limits`), a little inside.

    Says wait their turn instead of being refused: RateLimiter.reserve.
    """
    return RateLimiter(float(rate) * PACE_MARGIN, max(1, burst - BURST_MARGIN), clock)


class Progress:
    """How far a run of says has gone out: one run across reconnects.

    A run starts when a say is queued with none waiting and ends when the
    last of it is written.  Says that a rejoin sends again (ChatState kept
    them) stay part of their run, so the counts go on where they were
    ("Sending 33 of 61").  Shared by a Link's SendQueues, under its lock.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting = 0  # says queued, not yet written
        self._total = 0  # says in the current run
        self._sent = 0
        self._paced = False  # whether the current run had to wait for the pace

    def waiting(self):
        with self._lock:
            return self._waiting

    def added(self):
        """Count a say queued: it starts a run if none was waiting."""
        with self._lock:
            if self._waiting <= 0:
                self._waiting, self._total, self._sent, self._paced = 0, 0, 0, False
            self._waiting += 1
            self._total += 1

    def dropped(self):
        """Forget the says a lost connection's SendQueue dropped (ChatState keeps them)."""
        with self._lock:
            self._waiting = 0

    def sending_again(self, count):
        """Count `count` says of the run as waiting again: a rejoin sends them anew."""
        with self._lock:
            self._waiting = count
            if not count:
                self._total, self._sent, self._paced = 0, 0, False
            elif self._total >= count:
                self._sent = self._total - count
            else:  # the run had all been written before the line dropped
                self._total, self._sent = count, 0

    def pacing(self):
        """Note that the run waits for the pace; return (first time, (sent, total))."""
        with self._lock:
            first, self._paced = not self._paced, True
            return first, (self._sent, self._total)

    def written(self):
        """Count one say written; return the event to report, or None."""
        with self._lock:
            self._waiting -= 1
            self._sent += 1
            progress, paced = (self._sent, self._total), self._paced
            if self._waiting <= 0:
                self._waiting = self._total = self._sent = 0
                self._paced = False
        if not paced:
            return None
        return ("sent", progress[1]) if progress[0] == progress[1] else ("sending", progress)


class SendQueue:
    """A thread that sends one connection's frames in order, pacing the says."""

    def __init__(self, connection, bucket, events, progress):
        self._connection = connection
        self._bucket = bucket  # pacing_bucket: a RateLimiter
        self._events = events
        self._progress = progress
        self._frames = queue.Queue()
        self._dropping = threading.Event()  # set: skip waiting says, the link ends
        self._lock = threading.Lock()
        self._written = 0  # says written on this connection
        self._thread = threading.Thread(target=self._run, name="chat-writer", daemon=True)
        self._thread.start()

    def put(self, frame, again=False):
        """Queue a frame; `again` for a say the run counted before a reconnect."""
        if frame.get("type") == "say" and not again:
            self._progress.added()
        self._frames.put(frame)

    def written(self):
        """Return how many says this connection has written."""
        with self._lock:
            return self._written

    def finish(self, timeout, drop_says=False):
        """Send what is queued (at most `timeout` seconds), then stop.

        With drop_says, says still waiting for the pace are dropped, so a
        leave queued after them goes out at once.
        """
        if drop_says:
            self._dropping.set()
        self._frames.put(None)
        self._thread.join(timeout)

    def _run(self):
        while True:
            frame = self._frames.get()
            if frame is None:
                return
            is_say = frame.get("type") == "say"
            if is_say and not self._paced_send():
                continue
            if not self._connection.send(frame):
                return
            if is_say:
                with self._lock:
                    self._written += 1
                event = self._progress.written()
                if event is not None:
                    self._events.put(event)

    def _paced_send(self):
        """Wait for the say's turn; return False to drop it (the link is ending)."""
        if self._dropping.is_set():
            return False
        delay = self._bucket.reserve()
        if delay > 0:
            first, progress = self._progress.pacing()
            if first:
                self._events.put(("sending", progress))
            if self._dropping.wait(delay):
                return False
        return True


class Link:
    """One person's presence in the room, kept up across connection losses."""

    def __init__(self, host, port, name, password, events, tls=None, rejoining=False,
                 join_fields=None):
        self.host, self.port, self.name, self.password = host, port, name, password
        # join_fields(host, port) -> dict: added to each join (a teacher's proof), asked
        # again at each attempt: a restarted server has written a new token.
        self.join_fields = join_fields or (lambda host, port: {})
        self.tls = tls  # a tls.ClientTls to encrypt with, or None
        self.events = events
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._connection = None
        self._send_queue = None
        self._progress = Progress()
        self._joined_once = rejoining  # a rejoin retries failures instead of giving up
        self._removed = None  # the reason, once the teacher has removed us
        self._stopped = False  # the server said goodbye (shutting down) and is not back yet
        self._thread = threading.Thread(target=self._run, name="chat-session", daemon=True)

    def start(self):
        self._thread.start()

    @property
    def connected(self):
        with self._lock:
            return self._send_queue is not None

    def waiting(self):
        """Return how many says are queued to go out, paced."""
        with self._lock:
            return self._progress.waiting() if self._send_queue is not None else 0

    def written(self):
        """Return how many says this connection has written (0 while disconnected)."""
        with self._lock:
            return self._send_queue.written() if self._send_queue is not None else 0

    def send(self, frame):
        """Queue a frame for the server; return False while not connected."""
        with self._lock:
            if self._send_queue is None:
                return False
            self._send_queue.put(frame)
            return True

    def say(self, frame, state):
        """Send a say frame and have ChatState `state` await its answer.

        Return False while disconnected (nothing is sent then).
        """
        if not self.send(frame):
            return False
        state.sent(frame)
        return True

    def say_again(self, frames, state):
        """Send again the says a rejoin's ChatState kept, as part of their run.

        Lost again already: `state` keeps them for the next rejoin.
        """
        with self._lock:
            for frame in frames:
                state.sent(frame)
            if self._send_queue is None:
                return
            self._progress.sending_again(len(frames))
            for frame in frames:
                self._send_queue.put(frame, again=True)

    def close(self):
        """Leave the room politely and stop, within CLOSE_WAIT seconds."""
        self._stop.set()
        with self._lock:
            connection, send_queue = self._connection, self._send_queue
            self._send_queue = None
        if send_queue is not None:
            send_queue.put({"type": "leave"})
            send_queue.finish(CLOSE_WAIT, drop_says=True)
        if connection is not None:
            # Wake the link's thread, which closes the socket itself: closing
            # it here, under its readline(), could free the buffer it reads into.
            connection.shutdown()

    # --- the link's thread -----------------------------------------------

    def _run(self):
        delays = backoff_delays()
        while not self._stop.is_set():
            outcome = self._attempt()
            if outcome is None:
                return
            if outcome == "joined":
                delays = backoff_delays()
            delay = next(delays)
            self.events.put(("retrying", delay))
            if self._stop.wait(delay):
                return

    def _attempt(self):
        """Connect, join and serve once; return None when the link is over."""
        try:
            connection = ServerConnection.open(self.host, self.port, tls=self.tls)
        except RoomChanged as change:
            return self._changed(change.change) if self._joined_once else self._failed(str(change))
        except ConnectError as error:
            return self._failed(str(error))
        try:
            welcome = connection.join(self.name, self.password, self._password_waits,
                                      self.join_fields(self.host, self.port))
        except JoinRefused as refusal:
            connection.close()
            return self._refused(refusal)
        except ConnectError as error:
            connection.close()
            return self._failed(str(error))
        self.name = welcome.get("name", self.name)
        self._joined_once = True
        limits = limits_of(welcome)
        with self._lock:
            if self._stop.is_set():
                connection.close()
                return None
            self._connection = connection
            self._send_queue = SendQueue(connection, pacing_bucket(limits.rate, limits.burst),
                                         self.events, self._progress)
        self._stopped = False
        self.events.put(("joined", welcome))
        why = self._read(connection)
        with self._lock:
            send_queue, self._send_queue, self._connection = self._send_queue, None, None
        if send_queue is not None:
            send_queue.finish(0, drop_says=True)  # ChatState sends them again after the rejoin
            self._progress.dropped()
        connection.close()
        if self._stop.is_set():
            return None
        if self._removed is not None:  # the teacher removed us: coming back is for the user to decide
            self.events.put(("refused", (KICKED, "%s %s" % (
                CLIENT_WORDS["kicked"] % self._removed, CLIENT_WORDS["start_again"]))))
            return None
        self._lost(why)
        return "joined"

    def _password_waits(self, message, seconds):
        self.events.put(("waiting", (message, seconds)))

    def _refused(self, refusal):
        """Report a refused join; return None if another try cannot help."""
        if refusal.code == "bad_password":
            self.events.put(("password", (refusal.message, self.password is not None)))
            return None
        if refusal.code == "tls_required" and self._joined_once:
            return self._changed(NOW_ENCRYPTED)
        if not self._joined_once or refusal.code in FINAL_ON_REJOIN:
            self.events.put(("refused", (refusal.code,
                                         refusal_words(refusal.code, refusal.message))))
            return None
        self._lost(refusal.message)
        return "refused"

    def _changed(self, change):
        """Report a room that changed since the last join; the person decides (None: the end)."""
        self.events.put(("changed", change))
        return None

    def _failed(self, message):
        if not self._joined_once:
            self.events.put(("failed", message))
            return None
        self._lost(message)
        return "failed"

    def _lost(self, why):
        """Say the connection is gone, and whether the server had stopped."""
        self.events.put(("stopped", None) if self._stopped else ("lost", why))

    def _read(self, connection):
        """Pass frames on until the connection ends; return why it ended."""
        why = CLIENT_WORDS["closed"]
        while True:
            try:
                frame = connection.receive()
            except ConnectError as error:
                return str(error)
            if frame is None:
                return why
            if frame.get("type") == "ping":
                connection.send({"type": "pong"})  # directly: not behind paced says
                continue
            if frame.get("type") == "bye":
                why = CLIENT_WORDS["closed_why"] % frame.get("reason", "")
                if frame.get("kicked"):
                    self._removed = str(frame.get("reason", ""))
                else:
                    self._stopped = True
            self.events.put(("frame", frame))
