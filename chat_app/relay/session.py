"""One connection's life, as a state table, with no I/O of its own.

A `Session` is told what happened (a first byte, received bytes, the TLS
handshake's end, a name refused, a join, a frame with no token left) and
what time it is; it moves along TRANSITIONS and answers with actions for
the handler to carry out: (SEND, frame), (PROMPT, text), (START_TLS, None),
(REFUSE, ProtocolError), (END, reason).  The handler (handler.py) only
moves bytes.  Each timer is its own deadline (prompt, join, ping,
ping_timeout, resume), so one can never hide another; `expire(now)` fires
the ones due, in order.  Tests drive it with a fake clock
(tests/relay/test_session.py); h11's `_state.py` is the model.

Reading is held back, never dropped: a frame that changes the room (a
`say`, a `hand`, a `control`) with no token left goes back to the front of
the queue, the state becomes HELD_BACK, and `reading` is False until the
resume timer (when the next token is due).  What the peer sent meanwhile
waits in the kernel's socket buffer, in order.  The tokens come from the
connection's own bucket, or from one its computer's connections share
(the `limiter` given: rate_limit.SharedRateLimiter).
"""

from ..wire.protocol import (
    RECORDED_WORDS,
    LineSplitter,
    ProtocolError,
    held_back_message,
    join_timeout_message,
    looks_like_json_object,
)
from ..wire.rate_limit import DEFAULT_BURST, RateLimiter
from ..wire.tls import TLS_HANDSHAKE_BYTE

# A silent connection is probably a person who typed "nc host 1234";
# after this long they are asked for their name (or, at a full or an
# encrypted server, told in plain words why they cannot join).
PROMPT_DELAY = 1.0

# A read this small that ends no line looks like a drip: a line sent a few
# bytes at a time, so that the server works once per byte.  The next read
# then waits DRIP_PAUSE, and the bytes gather in the socket to be taken
# together.  Nobody typing, even a byte per key (telnet), notices 5 ms.
DRIP_BYTES = 512
DRIP_PAUSE = 0.005

# A member whose lines come back to back (a script, or a class pasting at
# once) is read in gulps: a read that ends a line within BURST_GAP of the
# read before makes the next read wait BURST_PAUSE, so that the lines that
# arrive meanwhile are taken in one wake-up of the thread rather than one
# each (a W2 sender's lines come well under a millisecond apart).  The pause
# is longer than the gap, so that it always gathers more than one line: a
# thread wake-up costs more than a line.  A person never sends two lines
# 1 ms apart (a paste arrives in one read), so people wait for nothing; a
# script's line waits at most 2 ms more.
BURST_GAP = 0.001
BURST_PAUSE = 0.002

PROMPT_NAME = "Welcome to chat_app. Type your name and press Enter:"
# ... and in a room with a log (--log): said before anyone writes a word.
PROMPT_NAME_LOGGED = "Welcome to chat_app. %s Type your name and press Enter:" % RECORDED_WORDS
PROMPT_ANOTHER_NAME = "Type another name and press Enter:"
PROMPT_PASSWORD = "This room has a password. Type it and press Enter:"

# --- states ---------------------------------------------------------------
CLASSIFYING = "classifying"  # nothing received: TLS, a program or a person?
HANDSHAKING = "handshaking"  # the TLS handshake runs
LOGGING_IN = "logging_in"    # waiting for a join (or, from a person, a name)
PROVING = "proving"          # a join was challenged; waiting for its proof (scram.py)
PASSWORD = "password"        # a person gave a name; waiting for the password
CHATTING = "chatting"        # a member: lines are messages and commands
HELD_BACK = "held_back"      # a member over the rate limit: not read until a token is due
CLOSING = "closing"          # a fatal error was sent; the handler lets it drain and closes
DONE = "done"                # the connection ends

# --- events ---------------------------------------------------------------
PLAIN_BYTE = "plain_byte"            # the first byte is not TLS, at a plain server
TLS_HELLO = "tls_hello"              # the first byte starts a TLS handshake, at a TLS server
REFUSED = "refused"                  # full, per-IP, or the wrong side of TLS
SILENT = "silent"                    # the prompt delay passed without a line
FIRST_LINE = "first_line"            # the wire (JSON or text) is known
HANDSHAKE_DONE = "handshake_done"
HANDSHAKE_FAILED = "handshake_failed"
PASSWORD_ASKED = "password_asked"
CHALLENGED = "challenged"            # a join must prove a password: the challenge is sent
NAME_REFUSED = "name_refused"
PASSWORD_REFUSED = "password_refused"
JOINED = "joined"
JOIN_TIMEOUT = "join_timeout"
HEARD = "heard"                      # a member sent something
PING_DUE = "ping_due"
PING_UNANSWERED = "ping_unanswered"
NO_TOKEN = "no_token"
TOKEN_DUE = "token_due"
FATAL = "fatal"                      # a line broke the protocol fatally
ENDED = "ended"                      # the peer closed, quit, or was ended by the server

LIVE_STATES = (CLASSIFYING, HANDSHAKING, LOGGING_IN, PROVING, PASSWORD, CHATTING, HELD_BACK)

# The states in which lines are read and handled.
READING_STATES = (LOGGING_IN, PROVING, PASSWORD, CHATTING)

TRANSITIONS = {
    (CLASSIFYING, PLAIN_BYTE): LOGGING_IN,
    (CLASSIFYING, TLS_HELLO): HANDSHAKING,
    (CLASSIFYING, SILENT): LOGGING_IN,  # asked for a name
    (CLASSIFYING, REFUSED): CLOSING,
    (CLASSIFYING, JOIN_TIMEOUT): CLOSING,
    (HANDSHAKING, HANDSHAKE_DONE): LOGGING_IN,
    (HANDSHAKING, HANDSHAKE_FAILED): DONE,
    (HANDSHAKING, REFUSED): CLOSING,
    (LOGGING_IN, SILENT): LOGGING_IN,
    (LOGGING_IN, FIRST_LINE): LOGGING_IN,
    (LOGGING_IN, NAME_REFUSED): LOGGING_IN,
    (LOGGING_IN, PASSWORD_ASKED): PASSWORD,
    (LOGGING_IN, JOINED): CHATTING,
    (LOGGING_IN, JOIN_TIMEOUT): CLOSING,
    (LOGGING_IN, CHALLENGED): PROVING,
    (PROVING, JOINED): CHATTING,
    (PROVING, JOIN_TIMEOUT): CLOSING,
    (PASSWORD, PASSWORD_REFUSED): PASSWORD,
    (PASSWORD, NAME_REFUSED): LOGGING_IN,
    (PASSWORD, JOINED): CHATTING,
    (PASSWORD, JOIN_TIMEOUT): CLOSING,
    (CHATTING, HEARD): CHATTING,
    (CHATTING, PING_DUE): CHATTING,
    (CHATTING, PING_UNANSWERED): DONE,
    (CHATTING, NO_TOKEN): HELD_BACK,
    (HELD_BACK, TOKEN_DUE): CHATTING,
    (CLOSING, ENDED): DONE,
}
for _state in LIVE_STATES:
    TRANSITIONS[(_state, FATAL)] = CLOSING
    TRANSITIONS[(_state, ENDED)] = DONE
del _state

# --- timers, each its own deadline (the event each one fires) -------------
PROMPT_TIMER = "prompt"              # SILENT, or REFUSED at a full or encrypted server
JOIN_TIMER = "join"                  # JOIN_TIMEOUT
PING_TIMER = "ping"                  # PING_DUE
PING_TIMEOUT_TIMER = "ping_timeout"  # PING_UNANSWERED
RESUME_TIMER = "resume"              # TOKEN_DUE

# --- actions for the handler ---------------------------------------------
SEND = "send"            # send this frame, in the connection's wire format
PROMPT = "prompt"        # write this line to a person
START_TLS = "start_tls"  # run the TLS handshake now
REFUSE = "refuse"        # send this fatal ProtocolError, let it drain, close
END = "end"              # end the connection with this leave reason

JSON, TEXT = "json", "text"

# First bytes that only programs send: a JSON object, or a TLS handshake.
PROGRAM_FIRST_BYTES = (ord("{"), TLS_HANDSHAKE_BYTE)


class HoldBack(Exception):
    """A frame found no token: the line waits until one is due (raised by the handler)."""


class SessionError(Exception):
    """An event arrived in a state with no transition for it: a bug in the caller."""


class Session:
    """The life of one connection, driven by events and the time passed in."""

    __slots__ = ("state", "wire", "first", "tls", "refusal", "join_timeout", "ping_interval",
                 "ping_timeout", "timers", "_lines", "_next", "limiter", "holding",
                 "_splitter", "_pause", "_last_line_at", "_actions",
                 "prompt_name")  # a thousand connections: no dict each

    def __init__(self, now, join_timeout, ping_interval=0.0, ping_timeout=0.0,
                 rate=0.0, burst=DEFAULT_BURST, tls=False, refusal=None,
                 prompt_delay=PROMPT_DELAY, prompt_name=PROMPT_NAME, limiter=None):
        """Start a connection's life at `now`.

        Its tokens come from `limiter`, shared with the other connections
        of its computer, or else from a bucket of its own of `rate` and `burst`.
        """
        self.state = CLASSIFYING
        self.wire = None  # JSON or TEXT once known
        self.first = None  # the first byte received
        self.tls = tls  # the server encrypts: the first byte must start a handshake
        self.refusal = refusal  # a ProtocolError to send instead of serving (server_full)
        self.join_timeout = join_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.timers = {PROMPT_TIMER: now + prompt_delay, JOIN_TIMER: now + join_timeout}
        self._lines = []  # received lines, in order; those from _next on are not yet handled
        self._next = 0
        self.limiter = RateLimiter(rate, burst, now=now) if limiter is None else limiter
        self.holding = False  # in a held-back episode: its notice is sent
        self._splitter = LineSplitter()
        self._pause = 0.0  # how long the next read waits: a drip, or a burst of lines
        self._last_line_at = None  # when the last read that ended a line came
        self._actions = []
        self.prompt_name = prompt_name  # what a person is asked first (PROMPT_NAME_LOGGED)

    # --- what the handler asks ------------------------------------------

    @property
    def finished(self):
        """Tell whether the reading loop is over (closing or done)."""
        return self.state in (CLOSING, DONE)

    @property
    def reading(self):
        """Tell whether the handler should read the socket now.

        At a plain server the first read also classifies the connection
        (received() looks at its first byte); only TLS needs a peek.
        """
        if self.state == CLASSIFYING:
            return not self.tls
        return self.state in READING_STATES and not self.queued

    @property
    def peeking(self):
        """Tell whether the handler should look at the first byte without taking it (TLS)."""
        return self.state == CLASSIFYING and self.tls

    @property
    def queued(self):
        """Return how many received lines wait to be handled."""
        return len(self._lines) - self._next

    def next_deadline(self):
        """Return when the next timer fires, or None."""
        return min(self.timers.values()) if self.timers else None

    def wanted(self):
        """Return how many bytes the next read may take (at most one line's limit)."""
        return self._splitter.wanted()

    def next_line(self):
        """Return the next line to handle, or None (none queued, or held back)."""
        if self.state not in READING_STATES or not self.queued:
            return None
        line = self._lines[self._next]
        self._next += 1
        if self.wire is None:
            self.wire = JSON if looks_like_json_object(line) else TEXT
            self.timers.pop(PROMPT_TIMER, None)
            self._fire(FIRST_LINE)
        return line

    # --- events ---------------------------------------------------------

    def expire(self, now):
        """Fire every timer due at `now`, earliest first; return the actions."""
        if not self._actions and (not self.timers or min(self.timers.values()) > now):
            return []  # nothing due: the usual case, each time round the reading loop
        while self.timers and not self.finished:
            name = min(self.timers, key=self.timers.get)
            if self.timers[name] > now:
                break
            del self.timers[name]
            TIMER_HANDLERS[name](self, now)
        return self._take()

    def first_byte(self, byte, now):
        """Classify the connection by its first byte: TLS, a program ('{') or a person."""
        self._classify(byte)
        return self._take()

    def _classify(self, byte):
        self.first = byte
        is_tls = byte == TLS_HANDSHAKE_BYTE
        if is_tls and self.tls:
            # A program: no prompt, and its handshake has until the join timeout.
            self.timers.pop(PROMPT_TIMER, None)
            self._fire(TLS_HELLO)
            self._act(START_TLS, None)
        elif is_tls:
            self.wire = JSON
            self._refuse(REFUSED, ProtocolError("tls_unavailable"))
        else:
            wire = JSON if byte == ord("{") else TEXT
            refusal = ProtocolError("tls_required") if self.tls else self.refusal
            if refusal is not None:
                self.wire = wire
                self._refuse(REFUSED, refusal)
            else:
                self._fire(PLAIN_BYTE)

    def handshake_done(self, now):
        """The connection is encrypted: only programs speak TLS."""
        if self.refusal is not None:
            self.wire = JSON
            self._refuse(REFUSED, self.refusal)
        else:
            self._fire(HANDSHAKE_DONE)
        return self._take()

    def handshake_failed(self, now):
        self._fire(HANDSHAKE_FAILED)
        return self._take()

    def received(self, data, now):
        """Queue the complete lines in received bytes; return the actions."""
        if self.state == CLASSIFYING:
            self._classify(data[0])
            if self.state != LOGGING_IN:  # refused: what it sent is not read
                return self._take()
        try:
            lines = self._splitter.feed(data)
            self._pace(data, lines, now)
            if self.queued:
                self._lines.extend(lines)
            else:
                self._lines, self._next = lines, 0
        except ProtocolError as error:  # a line over the limit
            self._refuse(FATAL, error)
            return self._take()
        if self.state == CHATTING:
            self._fire(HEARD)
            self._restart_ping(now)
        return self._take()

    def pause_before_read(self):
        """Return how long to let bytes gather before the next read (once per read)."""
        pause, self._pause = self._pause, 0.0
        return pause

    def _pace(self, data, lines, now):
        """Set the pause before the next read: a drip's, a burst's, or none."""
        if not lines:
            self._pause = DRIP_PAUSE if len(data) < DRIP_BYTES else 0.0
            return
        last, self._last_line_at = self._last_line_at, now
        self._pause = BURST_PAUSE if last is not None and now - last < BURST_GAP else 0.0

    def password_asked(self, now):
        """A person gave a name for a room with a password: ask for it."""
        self._fire(PASSWORD_ASKED)
        self._prompt(PROMPT_PASSWORD, now)
        return self._take()

    def challenged(self, challenge, now):
        """A join must prove a password: send the challenge frame, then await the proof.

        The join timer goes on: challenge and proof are part of joining.
        """
        self._fire(CHALLENGED)
        self._act(SEND, challenge)
        return self._take()

    def login_refused(self, error, now):
        """A person's name or password was refused: explain, ask again."""
        self._act(PROMPT, "! " + error.message)
        if error.code == "bad_password":
            self._fire(PASSWORD_REFUSED if self.state == PASSWORD else NAME_REFUSED)
            self._prompt(PROMPT_PASSWORD, now)
        else:
            self._fire(NAME_REFUSED)
            self._prompt(PROMPT_ANOTHER_NAME, now)
        return self._take()

    def asked_again(self, now):
        """A person sent an empty or unreadable name: the prompt gives them a new timeout."""
        self.timers[JOIN_TIMER] = now + self.join_timeout
        return self._take()

    def joined(self, now):
        self._fire(JOINED)
        self.timers.pop(PROMPT_TIMER, None)
        self.timers.pop(JOIN_TIMER, None)
        self._restart_ping(now)
        return self._take()

    def take_token(self, now):
        """Take a token for a frame that changes the room; return False when none is left.

        The handler then holds the line back (hold_back).
        """
        return self.limiter.allow(now)

    def hold_back(self, now):
        """Put the line just taken (it found no token) back first in line; stop reading until one is due."""
        self._next -= 1
        self._fire(NO_TOKEN)
        self.timers.pop(PING_TIMER, None)  # it is visibly sending: no ping,
        self.timers.pop(PING_TIMEOUT_TIMER, None)  # and no time-out, while held back
        self.timers[RESUME_TIMER] = self.limiter.next_due(now)
        if not self.holding:
            self.holding = True
            self._act(SEND, ProtocolError(
                "rate_limited", held_back_message(self.limiter.rate)).frame())
        return self._take()

    def idle(self, now):
        """Nothing is queued and nothing waits to be read: a held-back episode is over."""
        self.holding = False

    def fatal(self, error):
        self._refuse(FATAL, error)
        return self._take()

    def ended(self):
        """The connection is over (closed by the peer, quit, kicked, drained)."""
        if self.state != DONE:
            self._fire(ENDED)
        self.timers.clear()
        return self._take()

    # --- timers -----------------------------------------------------------

    def _silent(self, now):
        refusal = ProtocolError("tls_required") if self.tls else self.refusal
        if self.state == CLASSIFYING and refusal is not None:
            self.wire = TEXT  # silence: a person at a terminal
            self._refuse(REFUSED, refusal)
            return
        self._fire(SILENT)
        self._act(PROMPT, self.prompt_name)

    def _join_expired(self, now):
        if self.state == CLASSIFYING and (self.tls or self.refusal is not None):
            self._silent(now)  # the prompt's words, sooner
            return
        if self.wire is None:  # no whole line came: '{' or TLS is a program, all else a person
            self.wire = JSON if self.first in PROGRAM_FIRST_BYTES else TEXT
        self._refuse(JOIN_TIMEOUT, ProtocolError(
            "join_timeout", join_timeout_message(self.join_timeout)))

    def _ping_due(self, now):
        self._fire(PING_DUE)
        self._act(SEND, {"type": "ping"})
        self.timers[PING_TIMEOUT_TIMER] = now + self.ping_timeout

    def _ping_unanswered(self, now):
        self._fire(PING_UNANSWERED)
        self._act(END, "timeout")

    def _token_due(self, now):
        self._fire(TOKEN_DUE)
        self._restart_ping(now)

    # --- internals --------------------------------------------------------

    def _restart_ping(self, now):
        """Ping a JSON member after ping_interval without a word from it."""
        self.timers.pop(PING_TIMEOUT_TIMER, None)
        if self.wire == JSON and self.ping_interval > 0:
            self.timers[PING_TIMER] = now + self.ping_interval

    def _prompt(self, text, now):
        """Ask a person for something; they have the join timeout to answer."""
        self._act(PROMPT, text)
        self.timers[JOIN_TIMER] = now + self.join_timeout

    def _refuse(self, event, error):
        self._fire(event)
        self.timers.clear()
        self._act(REFUSE, error)

    def _fire(self, event):
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise SessionError("no transition from %s on %s" % (self.state, event))

    def _act(self, kind, value):
        self._actions.append((kind, value))

    def _take(self):
        actions, self._actions = self._actions, []
        return actions


# What each timer does when it fires.
TIMER_HANDLERS = {
    PROMPT_TIMER: Session._silent,
    JOIN_TIMER: Session._join_expired,
    PING_TIMER: Session._ping_due,
    PING_TIMEOUT_TIMER: Session._ping_unanswered,
    RESUME_TIMER: Session._token_due,
}
