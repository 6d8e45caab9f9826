"""What the window client shows, decided without Tk.

ChatState turns server frames into log entries and keeps the room's state
as the client sees it: the user list, which message ids are already on
screen (so a rejoin's history shows nothing twice), the texts sent but not
yet confirmed (so nothing typed is lost across a reconnect), mentions and
the unread count.  The Tk code only draws what this returns, and the tests
exercise it without a display.
"""

import collections
import math
import re
import time
from collections import namedtuple

from ..wire.protocol import (
    DEFAULT_MAX_TEXT_CHARS,
    ERROR_MESSAGES,
    LOCKED_RULE,
    MAX_SLOW_SECONDS,
    PASSWORD_MISSING_MESSAGE,
    RECORDED_WORDS,
    STUDENT,
    TEACHER,
    ProtocolError,
    clean_text,
    counted,
    is_action,
    is_blank,
    slow_rule,
)
from ..wire.names import name_key
from ..wire.rate_limit import DEFAULT_BURST, DEFAULT_RATE
from ..wire.text_format import (
    CLOSED_WORDS,
    KICKED_WORDS,
    TEACHER_MARK,
    clock,
    left_words,
    safe,
)
from ..wire.tls import (
    MIN_PIN_DIGITS,
    NEW_CERTIFICATE,
    NOT_ENCRYPTED,
    NOW_ENCRYPTED,
    TlsError,
    grouped,
    parse_fingerprint,
    pin_matches,
)

# How many message ids to remember for de-duplication: far more than any
# history a server sends on a rejoin.
SEEN_IDS = 5000

# Reconnect delays in seconds: doubling from 1, at most 30.
BACKOFF_FIRST, BACKOFF_MAX = 1, 30

# A say written but not answered for this long means the server is stalled
# (suspended, overloaded): one on the same network answers in milliseconds.
CONFIRM_WAIT = 2.0

# Errors in reply to a say: the text was not relayed and goes back to the box.
# (rate_limited is not one: the server holds over-rate lines back and relays
# them later, so they must not be sent again.)
# The teacher's rules refuse a say the same way: muted, locked, slow_mode, private_off.
SAY_ERRORS = ("text_too_long", "empty_text", "no_such_user",
              "muted", "locked", "slow_mode", "private_off")

# Errors worth showing once per connection: the server holds over-rate
# lines back and sends them on; one word about it is enough.
ONCE_PER_CONNECTION = ("rate_limited",)

# What only the client can know, in the words the clients show.  Refusals
# the server explains are shown in the server's own words.
CLIENT_WORDS = {
    "password_type": "Type the password and press Enter.",
    "password_option": "Start the client with --password PASSWORD.",
    "name_option": "Start the client again with another --name NAME.",
    "no_name": "no name given. Start the client with --name NAME.",
    "kicked": KICKED_WORDS,
    "start_again": "Start the client again to rejoin.",
    "refused": "The server refused the join (%s).",
    "closed": "the server closed the connection",
    "closed_why": CLOSED_WORDS,
    # After a bye that was no removal: the server stopped, not the student's network.
    "stopped": "The chat server has stopped (the teacher ended the chat or is restarting it)",
    # The room could not prove that it knows a password (with how it failed).
    "not_the_room": ("This is not the room it claims to be: %s. Your password was not given "
                     "to it, and you have not joined. Check the address against the board and "
                     "tell the teacher: another computer may be posing as the room. (A room "
                     "that students reach through port forwarding must be encrypted for its "
                     "passwords to work: the teacher starts it with --tls-cert.)"),
}

# The session's refusal once the teacher has removed us (after the kicked bye).
KICKED = "kicked"

# The refusal a client makes itself when the room cannot prove that it knows
# a password (connection.ServerConnection.join; the message says how it failed).
NOT_THE_ROOM = "not_the_room"

# Join refusals that another name can fix: both clients ask for one.
NAME_REFUSALS = ("name_taken", "bad_name")


# The room's rules before a welcome says them (an older server says none).
NO_RULES = {"locked": False, "slow": 0, "private": True, "muted": []}

# What the clients say of the teacher's room, in their own words.
ROOM_WORDS = {
    "logged": RECORDED_WORDS,
    "hand_up": "Your hand is up: the teacher sees it in the list of raised hands. "
               "Lower it (/hand down) when you no longer need help.",
    "hand_down": "Your hand is down.",
    "slow_wait": "Slow mode: you can write to the room again in %s.",
    "slow_rule": "Slow mode: %s.",
    "locked": LOCKED_RULE,
    "muted": ERROR_MESSAGES["muted"],  # the rules line says what the refusal said
    "teacher_hand": "Teachers do not raise hands: the students' hands show in your list.",
    "hands": {True: "raised a hand.", False: "has no hand up now."},
    "hand_left": "left the room, so their raised hand went down.",
    "hands_lowered": "The teacher lowered every raised hand (%s).",
    "cleared_away": "The teacher cleared the conversation while you were away: earlier "
                    "messages are gone for everyone.",
}

# One line of the message log.  kind: message, join, leave, notice, event (a
# change of the room's rules), announcement, error, help.  id: the server's
# message id (None for the client's own lines); teacher: sent by a teacher.
Entry = namedtuple("Entry", "kind time sender text own private action history mention id teacher")


def entry(kind, text, time=None, sender="", own=False, private=None, action=False,
          history=False, mention=False, id=None, teacher=False):
    return Entry(kind, time, sender, text, own, private, action, history, mention, id, teacher)


def message_id(frame):
    """Return a frame's message id, or None when it has none (or an odd one)."""
    value = frame.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def flag(frame, key):
    """Tell whether a frame's field is true (JSON true only: an odd value is no)."""
    return frame.get(key) is True


def rules_of(value):
    """Return the room's rules from a welcome's state or a room_state frame."""
    value = value if isinstance(value, dict) else {}
    rules = dict(NO_RULES)
    for key, default in NO_RULES.items():
        if type(value.get(key)) is type(default):  # exactly: True is no number of seconds
            rules[key] = value[key]
    rules["muted"] = [safe(name) for name in rules["muted"] if isinstance(name, str)]
    rules["slow"] = max(0, rules["slow"])
    return rules


class Hands:
    """The raised hands, in the order they went up, each with its time."""

    def __init__(self, given=None):
        self._up = []  # [name, time], oldest first
        for hand in given if isinstance(given, list) else []:
            if isinstance(hand, dict) and isinstance(hand.get("name"), str):
                self.change(hand["name"], True, hand.get("time"))

    def change(self, name, up, when):
        """Raise or lower a hand: a raised hand raised again keeps its place and time."""
        index = self._index(name)
        if up and index is None:
            self._up.append([safe(name), when])
        elif not up and index is not None:
            del self._up[index]

    def _index(self, name):
        key = name_key(name)
        return next((index for index, (up, _) in enumerate(self._up)
                     if name_key(up) == key), None)

    def is_up(self, name):
        return self._index(name) is not None

    def rows(self):
        """Return (name, "HH:MM") for each raised hand, in the order they went up."""
        return [(name, clock(when)) for name, when in self._up]

    def names(self):
        return [name for name, _ in self._up]


# The frames of students' hands a teacher's client gets (hand_words says them).
HAND_FRAMES = ("hand", "hands_lowered")


def hand_words(frame):
    """Return what a teacher reads of a hand frame (HAND_FRAMES): 'amy raised a hand.'"""
    if frame.get("type") == "hands_lowered":
        count = frame.get("count")
        return ROOM_WORDS["hands_lowered"] % counted(count if isinstance(count, int) else 0,
                                                     "hand")
    name = safe(str(frame.get("name", "?")))
    if frame.get("left") is not None and not flag(frame, "up"):
        return "%s %s" % (name, ROOM_WORDS["hand_left"])
    return "%s %s" % (name, ROOM_WORDS["hands"][flag(frame, "up")])


def backoff_delays():
    """Yield reconnect delays: 1, 2, 4, ... 30, 30, ..."""
    delay = BACKOFF_FIRST
    while True:
        yield delay
        delay = min(delay * 2, BACKOFF_MAX)


def mentions(text, name):
    """Tell whether text names someone as a word ("hi Amy!" mentions amy)."""
    if not name:
        return False
    pattern = r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def title(room, unread):
    """Return the window title, with the unread count while there is one."""
    return ("(%d) %s" % (unread, room)) if unread else room


def join_problem(code, message):
    """Return what to tell someone whose join was refused: the server's words."""
    return message if message and message != "None" else CLIENT_WORDS["refused"] % code


def refusal_words(code, message):
    """Return the words of a refused join: the server's, or the client's own for NOT_THE_ROOM."""
    if code == NOT_THE_ROOM:
        return CLIENT_WORDS["not_the_room"] % message
    return message


# What the person answers when a rejoin finds the room changed: the
# fingerprint from the board, or yes to joining it unencrypted.
FINGERPRINT, CONSENT = "fingerprint", "consent"

# What a client says when a rejoin finds the room changed (tls.CHANGES),
# and what it asks for (FINGERPRINT or CONSENT).  Never a silent re-pin:
# only what the person types becomes the new pin.
CHANGED_ROOM = {
    NOW_ENCRYPTED: (
        "The room is encrypted now: the teacher has restarted it with encryption (TLS). "
        "To join it again, type the fingerprint from the board (at least its first %d "
        "digits, for example C71A 9210 44B3 0F2E)." % MIN_PIN_DIGITS, FINGERPRINT),
    NOT_ENCRYPTED: (
        "The room is no longer encrypted: anyone on the network could read what is written "
        "in it, and it may not even be the teacher's room. Join it unencrypted only if the "
        "teacher says it is unencrypted now; otherwise tell the teacher.", CONSENT),
    NEW_CERTIFICATE: (
        "The room shows a new certificate: its fingerprint no longer starts with %%s, the "
        "digits you joined with. If the teacher has restarted the room with a new "
        "certificate, type the new fingerprint from the board (at least its first %d "
        "digits). If the board still shows %%s, do not go on: another computer may be "
        "posing as the room; tell the teacher." % MIN_PIN_DIGITS, FINGERPRINT),
}

# The status line's words meanwhile.
CHANGED_STATUS = {
    NOW_ENCRYPTED: "Not connected: the room is encrypted now.",
    NOT_ENCRYPTED: "Not connected: the room is no longer encrypted.",
    NEW_CERTIFICATE: "Not connected: the room shows a new certificate.",
}

# Said of a typed fingerprint that cannot be one, or is the old one.
FINGERPRINT_WORDS = ("The fingerprint is the hexadecimal digits (0-9, A-F) on the board: at "
                     "least the first %d, spaces allowed, for example C71A 9210 44B3 0F2E."
                     % MIN_PIN_DIGITS)
SAME_FINGERPRINT = ("The room does not show those digits. Check the board again; if it shows "
                    "them, do not go on: tell the teacher.")

# NEW_CERTIFICATE's words when the pin that failed was just typed, not joined with.
TYPED_FINGERPRINT_WRONG = (
    "The room's certificate does not start with %s, the digits you typed. Check them against "
    "the board and type them again. If they are the board's, do not go on: another computer "
    "may be posing as the room; tell the teacher.")

ChangedRoom = namedtuple("ChangedRoom", "words asks")


def changed_room(change, pin=None, typed=False):
    """Return what to say and ask (a ChangedRoom) when a rejoin finds the room changed.

    `pin`: the fingerprint pinned so far, for NEW_CERTIFICATE's words;
    `typed`: it was typed after an earlier change, and has not joined yet.
    """
    words, asks = CHANGED_ROOM[change]
    if change == NEW_CERTIFICATE:
        shown = grouped(pin, MIN_PIN_DIGITS) if pin else "the fingerprint you were given"
        words = TYPED_FINGERPRINT_WRONG % shown if typed else words % (shown, shown)
    return ChangedRoom(words, asks)


def read_fingerprint(typed, old_pin=None):
    """Return (pin, None) for a typed fingerprint, or (None, what is wrong with it).

    One that agrees with `old_pin` (the one the room no longer shows) is refused.
    """
    try:
        pin = parse_fingerprint(typed)
    except TlsError:
        return None, FINGERPRINT_WORDS
    if old_pin and (pin_matches(old_pin, pin) or pin_matches(pin, old_pin)):
        return None, SAME_FINGERPRINT
    return pin, None


def password_problem(message, sent):
    """Return what to tell someone refused for the password.

    Only a password that was sent can be wrong: without one, the room
    simply needs one, whatever an older server says.
    """
    return message if sent else PASSWORD_MISSING_MESSAGE


Limits = namedtuple("Limits", "rate burst max_text")


def limits_of(welcome):
    """Return the room's Limits from a welcome (defaults when it has none)."""
    given = welcome.get("limits")
    given = given if isinstance(given, dict) else {}

    def number(key, default, kind):
        value = given.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        return kind(value) if ok else default

    return Limits(number("rate", DEFAULT_RATE, float), number("burst", DEFAULT_BURST, int),
                  number("max_text", DEFAULT_MAX_TEXT_CHARS, int) or DEFAULT_MAX_TEXT_CHARS)


def split_text(text, max_chars):
    """Cut text into pieces of at most max_chars, at line breaks where possible.

    Lines are kept together while they fit; a single line longer than the
    limit is cut at its last space that fits (or hard, if it has none).
    Pieces that show nothing are dropped, and blank lines and spaces at a
    piece's ends are trimmed (a pasted block often ends in a newline), while
    the indentation of its first line is kept.
    """
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) > max_chars:
            cut = line.rfind(" ", 1, max_chars + 1)
            cut = cut if cut > 0 else max_chars
            pieces.extend([current] if current else [])
            current = ""
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ")
        joined = current + "\n" + line if current else line
        if len(joined) <= max_chars:
            current = joined
        else:
            pieces.append(current)
            current = line
    pieces.append(current)
    return [piece.rstrip().lstrip("\n") for piece in pieces if not is_blank(piece)]


class ChatState:
    """The room as one client sees it."""

    def __init__(self, name, clock=time.monotonic):
        self.name = name
        self.users = []
        self.role = STUDENT
        self.teachers = set()  # name_key of each teacher in the room
        self.rules = dict(NO_RULES)
        self.hand = False  # the student's own hand is up
        self.hands = Hands()  # a teacher's: everyone's raised hands, in order
        self.logged = False  # the server keeps a log of what is said
        self._clock = clock
        self._slow_until = None  # clock time before which a room say is refused
        self.unread = 0
        self.focused = True
        self._seen = set()  # ids of messages on screen, to skip them in history
        self._seen_order = collections.deque()
        self._in_history = set()  # of those, the ones history keeps (room messages, announcements)
        self.gone = []  # ids on screen that the last rejoin's history left out: deleted meanwhile
        self.cleared_away = False  # the last rejoin found the room cleared while away
        self._cleared_through = None  # the last id the newest clear known here removed
        self._last_room_id = 0
        self._pending = collections.deque()  # say frames sent, not yet answered
        self._answered = 0  # says answered since the last join
        self._unanswered_since = None  # when says written began to wait for an answer
        self.limits = limits_of({})
        self._noted = set()  # ONCE_PER_CONNECTION errors shown since the last join
        self.removed = None  # the teacher's reason, once the teacher has removed us

    # --- what arrives --------------------------------------------------

    def welcome(self, frame):
        """Take a (re)join's welcome; return (history not yet shown, says to send again).

        The history comes back as message frames, oldest first; entry_for
        turns them into log entries.
        """
        self.name = frame.get("name", self.name)
        self.limits = limits_of(frame)
        self._noted.clear()
        self.removed = None
        self.users = [safe(user) for user in frame.get("users") or []]
        self.role = TEACHER if frame.get("role") == TEACHER else STUDENT
        self.teachers = {name_key(safe(name)) for name in frame.get("teachers") or []
                         if isinstance(name, str)}
        self.rules = rules_of(frame.get("state"))
        self.hand = flag(frame, "hand")
        self.hands = Hands(frame.get("hands") if self.role == TEACHER else None)
        self.logged = flag(frame, "logged")
        history = [item for item in frame.get("history") or [] if isinstance(item, dict)]
        ids = [item["id"] for item in history if isinstance(item.get("id"), int)]
        self.cleared_away = self._missed_clear(frame.get("cleared_through"))
        if not ids or max(ids) < self._last_room_id:
            self._forget_seen()  # a new server (restarted without --log): ids began again
        # Shown, of history's kind, and inside the span it covers, yet left out of it: a
        # teacher deleted it while this client was away (older ids may just be past --history).
        kept, oldest = set(ids), min(ids, default=None)
        self.gone = sorted(number for number in self._in_history
                           if oldest is not None and number >= oldest and number not in kept)
        self._in_history.difference_update(self.gone)
        unseen = []
        confirmed = collections.Counter()
        for item in history:
            if item.get("from") == self.name:
                confirmed[item.get("text")] += 1
            if self._remember(item):
                unseen.append(item)
        resend = []
        for say in self._pending:
            text = self._cleaned(say["text"])
            if "to" not in say and confirmed[text]:
                confirmed[text] -= 1  # it reached the room before the line dropped
            else:
                resend.append(say)
        self._pending.clear()
        self._answered, self._unanswered_since = 0, None
        return unseen, resend

    def apply(self, frame):
        """Return the log entries for one frame (an empty list for none)."""
        handler = self._handlers.get(frame.get("type"))
        return handler(self, frame) if handler else []

    def _on_message(self, frame):
        if frame.get("from") == self.name and self._pending:
            self._answer()
        if frame.get("from") == self.name and "to" not in frame and self.rules["slow"]:
            self._slow_until = self._clock() + self.rules["slow"]
        self._remember(frame)
        shown = self.entry_for(frame)
        if not shown.own and not self.focused:
            self.unread += 1
        return [shown]

    def _on_joined(self, frame):
        name = safe(frame.get("name", "?"))
        if name not in self.users:
            self.users.append(name)
        if flag(frame, "teacher"):
            self.teachers.add(name_key(name))
            return [entry("join", "%s joined%s" % (name, TEACHER_MARK), frame.get("time"))]
        return [entry("join", "%s joined" % name, frame.get("time"))]

    def _on_left(self, frame):
        name = safe(frame.get("name", "?"))
        if name in self.users:
            self.users.remove(name)
        self.teachers.discard(name_key(name))
        words = left_words(frame.get("reason"))
        return [entry("leave", "%s %s" % (name, words), frame.get("time"))]

    def _on_notice(self, frame):
        if not self._remember(frame):
            return []  # already shown before a reconnect
        if not self.focused:
            self.unread += 1
        return [self.entry_for(frame)]

    def _on_error(self, frame):
        if frame.get("code") == "slow_mode" and self.role == STUDENT:
            seconds = frame.get("seconds")
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                self._slow_until = self._clock() + min(max(seconds, 1), MAX_SLOW_SECONDS)
        if frame.get("code") in ONCE_PER_CONNECTION:
            if frame.get("code") in self._noted:
                return []
            self._noted.add(frame.get("code"))
        return [entry("error", safe(frame.get("message") or frame.get("code", "error")))]

    def _on_bye(self, frame):
        if frame.get("kicked"):
            self.removed = safe(frame.get("reason", ""))
            return []  # the session's "refused" event says it, with what to do
        words = CLIENT_WORDS["closed_why"] % safe(frame.get("reason", ""))
        return [entry("notice", words[:1].upper() + words[1:])]

    def _on_room_state(self, frame):
        self.rules = rules_of(frame)
        if not self.rules["slow"]:
            self._slow_until = None
        return []

    def _on_hand(self, frame):
        """Note a student's own hand, or for a teacher anyone's (its window also lists them).

        A teacher reads a line when a hand went down as its student left.
        """
        if self.role == TEACHER and isinstance(frame.get("name"), str):
            self.hands.change(frame["name"], flag(frame, "up"), frame.get("time"))
            if frame.get("left") is not None:
                return [entry("event", hand_words(frame), frame.get("time"))]
        if self.role != STUDENT or name_key(safe(str(frame.get("name", "")))) != name_key(
                self.name):
            return []
        self.hand = flag(frame, "up")
        return [entry("notice", ROOM_WORDS["hand_up" if self.hand else "hand_down"],
                      frame.get("time"))]

    def _on_hands_lowered(self, frame):
        """A teacher lowered every hand: the teacher's list empties, and says so."""
        if self.role != TEACHER:
            return []
        self.hands = Hands()
        return [entry("event", hand_words(frame), frame.get("time"))]

    def _on_deleted(self, frame):
        return []  # the window takes the message away; the notice after says why

    def _on_cleared(self, frame):
        self._missed_clear(frame.get("through"))
        self._in_history.clear()
        return []  # the window empties its log; the notice after says why

    def _missed_clear(self, through):
        """Take a clear's last id; tell whether a message on screen is among those it removed."""
        if not isinstance(through, int) or isinstance(through, bool):
            return False
        missed = (self._cleared_through is None or through > self._cleared_through) and any(
            number <= through for number in self._in_history)
        self._cleared_through = through
        if missed:
            self._in_history = {number for number in self._in_history if number > through}
        return missed

    _handlers = {
        "message": _on_message, "joined": _on_joined, "left": _on_left,
        "error": _on_error, "bye": _on_bye, "notice": _on_notice,
        "room_state": _on_room_state, "hand": _on_hand, "hands_lowered": _on_hands_lowered,
        "deleted": _on_deleted, "cleared": _on_cleared,
    }

    # --- the teacher's rules, as they bind this person ---------------------

    def is_teacher(self, name):
        """Tell whether `name` is a teacher in the room."""
        return name_key(name) in self.teachers

    def muted(self):
        """Tell whether the teacher has muted this person."""
        return name_key(self.name) in {name_key(name) for name in self.rules["muted"]}

    def slow_wait(self):
        """Return the whole seconds until this student may write to the room again (0: now)."""
        if self.role != STUDENT or self._slow_until is None:
            return 0
        left = self._slow_until - self._clock()
        if left <= 0:
            self._slow_until = None
            return 0
        return int(math.ceil(left))

    def rules_words(self):
        """Return what the line beside the Send button says about the rules now ("" for nothing)."""
        if self.role != STUDENT:
            return ""
        wait = self.slow_wait()
        if self.muted():
            return ROOM_WORDS["muted"]
        if self.rules["locked"]:
            return ROOM_WORDS["locked"]
        if wait:
            return ROOM_WORDS["slow_wait"] % counted(wait, "second")
        if self.rules["slow"]:
            return ROOM_WORDS["slow_rule"] % slow_rule(self.rules["slow"])
        return ""

    def say_refused(self, frame):
        """Return the text of the say an error answered, if it answered one."""
        if frame.get("type") == "error" and frame.get("code") in SAY_ERRORS and self._pending:
            return self._answer()
        return None

    def _answer(self):
        """Take the oldest say off the pending ones: the server answered it."""
        self._answered += 1
        self._unanswered_since = None  # the server is answering: the wait starts again
        return self._pending.popleft()

    # --- what is sent ----------------------------------------------------

    def sent(self, say):
        """Remember a say frame until the server answers it."""
        self._pending.append(say)

    def unconfirmed(self):
        """Return how many says the server has not answered yet (queued ones too)."""
        return len(self._pending)

    def waiting_for_server(self, written, now):
        """Return how many says the server leaves unanswered for CONFIRM_WAIT seconds.

        `written`: the says this connection has written so far; `now`: a
        monotonic clock.  0 while the server answers in time.  Called often
        (each client checks on every event and while idle): the wait counts
        from the first call that finds written says unanswered.
        """
        in_flight = written - self._answered
        if in_flight <= 0:
            self._unanswered_since = None
            return 0
        if self._unanswered_since is None:
            self._unanswered_since = now
        return in_flight if now - self._unanswered_since >= CONFIRM_WAIT else 0

    # --- focus -----------------------------------------------------------

    def focus(self, focused):
        self.focused = focused
        if focused:
            self.unread = 0

    # --- helpers ---------------------------------------------------------

    def _remember(self, frame):
        """Record a message's id; return False if it was on screen already."""
        number = message_id(frame)
        if number is None:
            return True
        if number in self._seen:
            return False
        if "to" not in frame:
            self._last_room_id = max(self._last_room_id, number)
            if "about" not in frame:  # a notice of a change is never in history
                self._in_history.add(number)
        self._seen.add(number)
        self._seen_order.append(number)
        if len(self._seen_order) > SEEN_IDS:
            oldest = self._seen_order.popleft()
            self._seen.discard(oldest)
            self._in_history.discard(oldest)
        return True

    def _forget_seen(self):
        self._seen.clear()
        self._seen_order.clear()
        self._in_history.clear()
        self._last_room_id = 0

    def entry_for(self, frame, history=False):
        """Return the log entry for a message or notice frame (history holds both)."""
        if frame.get("type") == "notice":
            kind = "event" if isinstance(frame.get("about"), str) else "announcement"
            return entry(kind, safe(str(frame.get("text", ""))), frame.get("time"),
                         history=history, id=message_id(frame))
        sender = safe(frame.get("from", "?"))
        text = str(frame.get("text", ""))
        own = name_key(sender) == name_key(self.name) if sender else False
        action = is_action(text)
        if action:
            text = text[4:]
        to = frame.get("to")
        return entry(
            "message", text, frame.get("time"), sender, own=own,
            private=safe(to) if to is not None else None, action=action, history=history,
            mention=not own and mentions(text, self.name), id=message_id(frame),
            teacher=flag(frame, "teacher"),
        )

    @staticmethod
    def _cleaned(text):
        try:
            return clean_text(text, 10 ** 9)
        except ProtocolError:
            return text
