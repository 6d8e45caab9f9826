"""The window client's network side: threads that never touch Tk.

A Session connects, joins and reads in one thread and writes from another,
so the window never waits on the network.  What it learns goes on a queue
as (kind, value) events, which the Tk thread drains:

- ("joined", welcome): joined, the first time or again after a reconnect;
- ("refused", (code, message)): the server refused the join; the session ends;
- ("failed", message): the first connection failed; the session ends;
- ("frame", frame): any other frame from the server (pings are answered here);
- ("lost", message): the connection dropped, or a reconnect attempt failed;
- ("retrying", seconds): the next attempt comes in that many seconds.

After the first successful join the session keeps reconnecting, with
backoff, until close() is called.
"""

import queue
import threading

from .chat_state import backoff_delays
from .connection import ConnectError, JoinRefused, ServerConnection

# How long closing waits for the leave frame to go out.  The window exits
# within a second of being closed, whatever the network does.
CLOSE_WAIT = 0.5

# Refusals that another try cannot fix.  name_taken on a rejoin is retried:
# the server may still hold our old connection until its ping timeout.
FINAL_ON_REJOIN = ("bad_name", "bad_password")


class Writer:
    """A thread that sends one connection's frames in order."""

    def __init__(self, connection):
        self._connection = connection
        self._frames = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="chat-writer", daemon=True)
        self._thread.start()

    def put(self, frame):
        self._frames.put(frame)

    def finish(self, timeout):
        """Send what is queued (at most `timeout` seconds), then stop."""
        self._frames.put(None)
        self._thread.join(timeout)

    def _run(self):
        while True:
            frame = self._frames.get()
            if frame is None or not self._connection.send(frame):
                return


class Session:
    """One person's presence in the room, kept up across connection losses."""

    def __init__(self, host, port, name, password, events, tls=None):
        self.host, self.port, self.name, self.password = host, port, name, password
        self.tls = tls  # a tls.ClientTls to encrypt with, or None
        self.events = events
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._connection = None
        self._writer = None
        self._joined_once = False
        self._removed = None  # the reason, once the teacher has removed us
        self._thread = threading.Thread(target=self._run, name="chat-session", daemon=True)

    def start(self):
        self._thread.start()

    @property
    def connected(self):
        with self._lock:
            return self._writer is not None

    def send(self, frame):
        """Queue a frame for the server; return False while not connected."""
        with self._lock:
            if self._writer is None:
                return False
            self._writer.put(frame)
            return True

    def say(self, frame, state):
        """Send a say frame and have ChatState `state` await its answer.

        Return False while disconnected (nothing is sent then).
        """
        if not self.send(frame):
            return False
        state.sent(frame)
        return True

    def close(self):
        """Leave the room politely and stop, within CLOSE_WAIT seconds."""
        self._stop.set()
        with self._lock:
            connection, writer = self._connection, self._writer
            self._writer = None
        if writer is not None:
            writer.put({"type": "leave"})
            writer.finish(CLOSE_WAIT)
        if connection is not None:
            # Wake the session thread, which closes the socket itself: closing
            # it here, under its readline(), could free the buffer it reads into.
            connection.shutdown()

    # --- the session thread ---------------------------------------------

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
        """Connect, join and serve once; return None when the session is over."""
        try:
            connection = ServerConnection.open(self.host, self.port, tls=self.tls)
        except ConnectError as error:
            return self._failed(str(error))
        try:
            welcome = connection.join(self.name, self.password)
        except JoinRefused as refusal:
            connection.close()
            if not self._joined_once or refusal.code in FINAL_ON_REJOIN:
                self.events.put(("refused", (refusal.code, refusal.message)))
                return None
            self.events.put(("lost", refusal.message))
            return "refused"
        except ConnectError as error:
            connection.close()
            return self._failed(str(error))
        self.name = welcome.get("name", self.name)
        self._joined_once = True
        with self._lock:
            if self._stop.is_set():
                connection.close()
                return None
            self._connection, self._writer = connection, Writer(connection)
        self.events.put(("joined", welcome))
        why = self._read(connection)
        with self._lock:
            writer, self._writer, self._connection = self._writer, None, None
        if writer is not None:
            writer.finish(0)
        connection.close()
        if self._stop.is_set():
            return None
        if self._removed is not None:  # the teacher removed us: coming back is for the user to decide
            self.events.put(("refused", ("kicked", "The teacher removed you from the room (%s). "
                                         "Start the client again to rejoin." % self._removed)))
            return None
        self.events.put(("lost", why))
        return "joined"

    def _failed(self, message):
        if not self._joined_once:
            self.events.put(("failed", message))
            return None
        self.events.put(("lost", message))
        return "failed"

    def _read(self, connection):
        """Pass frames on until the connection ends; return why it ended."""
        why = "the server closed the connection"
        while True:
            try:
                frame = connection.receive()
            except ConnectError as error:
                return str(error)
            if frame is None:
                return why
            if frame.get("type") == "ping":
                self.send({"type": "pong"})
                continue
            if frame.get("type") == "bye":
                why = "the server closed the connection: %s" % frame.get("reason", "")
                if frame.get("kicked"):
                    self._removed = str(frame.get("reason", ""))
            self.events.put(("frame", frame))
