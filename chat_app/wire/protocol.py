"""The chat_app wire protocol, with no I/O of its own.

Every frame is one JSON object encoded as UTF-8 on one line ending in "\\n"
("\\r\\n" is accepted).  This module turns received bytes into lines
(`LineSplitter`), lines into checked client frames (`decode_client_frame`),
and server frames into bytes (`encode`).  It also owns the rules for message
text, so the server, the clients and the tests share one definition (the
rules for names are names.py's).
It never touches a socket or a thread: bytes in, frames out, and the reverse.
docs/protocol.md is the human-readable contract for everything here.
"""

import json
import math
import re
import unicodedata

from .ignorable import is_default_ignorable
from .interpreter import for_anyone

# The TCP port a server listens on and a client connects to unless told otherwise.
DEFAULT_PORT = 1234

# Longest line a client may send, not counting its line ending.  A line
# that reaches this size without ending is answered with frame_too_long.
MAX_FRAME_BYTES = 64 * 1024

# Longest line a client must be ready to receive.  Room frames are far
# smaller; only the welcome, which carries the history, can grow this big,
# and the server drops the oldest history entries to stay under it.
MAX_SERVER_FRAME_BYTES = 8 * 1024 * 1024

# Longest name, counted in characters after NFKC normalisation.
MAX_NAME_CHARS = 32

# Default and ceiling for --max-text.  The ceiling keeps the longest say
# frame (4 UTF-8 bytes per character at worst) inside MAX_FRAME_BYTES.
DEFAULT_MAX_TEXT_CHARS = 4000
MAX_TEXT_CEILING = 10000

# A ping token is echoed back verbatim, so it is kept short.
MAX_TOKEN_CHARS = 256

# Bidirectional embedding, override and isolate controls.  They can make
# text render in a misleading order, so they are removed from messages.
BIDI_CONTROLS = frozenset(
    chr(c) for c in list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))
)

# Direction marks (LRM, RLM, ALM): invisible, they only nudge the order of
# neighbouring right-to-left text.  Messages keep them (a window lays out
# mixed scripts with them); a terminal lays out no direction and shows them
# as a stray glyph or a gap, so text_format drops them.
DIRECTION_MARKS = frozenset("\u200e\u200f\u061c")

# What strip_controls removes, as one character class that the re module
# matches in C: control characters (category Cc: U+0000-001F and
# U+007F-009F) other than tab and newline, surrogates (Cs), and the bidi
# controls.  A per-character loop in Python cost a 60-character message
# some 25 us, the largest part of relaying it.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff%s]" % "".join(sorted(BIDI_CONTROLS)))

# How deep a frame's JSON may nest.  A client frame is one object of
# strings and numbers; fields the server does not know are ignored, and may
# nest a little.  json's decoder recurses once per level, up to Python's
# recursion limit (1,000), and the stack pages a deep line touches stay with
# the connection's thread, so deep lines cost a room far more memory than
# flat ones (docs/benchmarks.md, "Figures behind the code").  Deeper lines
# are refused before they are decoded.
MAX_NESTING = 32

# A JSON string (its escapes included), and a bracket: for measuring nesting.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")

# A lone surrogate, which JSON's \\uD800 escapes can carry and UTF-8 cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")

# Line and paragraph separators.  Messages keep them; a terminal does not
# break the line for them (it shows nothing, a box, or breaks without the
# indent that marks a message's next line), so text_format makes them "\n".
LINE_SEPARATORS = frozenset("\u2028\u2029")

FATAL_ERRORS = frozenset(
    ["name_taken", "bad_name", "bad_password", "bad_teacher", "server_full",
     "frame_too_long", "join_timeout", "tls_required", "tls_unavailable", "bad_binding"]
)

# The join fields that hold a secret.  The shipped clients prove them and
# never send them (scram.py); older clients and scripts may still send them.
PROVEN_SECRETS = ("password", "teacher_password")

# The longest slow mode a teacher may set (a control's `seconds`): an hour,
# a lesson; anything longer is a typo that would silence the room.
MAX_SLOW_SECONDS = 3600

# What every refusal of a say to the room adds: the way that stays open.
STILL_TO_TEACHER = "You can still send the teacher a private message."

# What a locked room means for a student, wherever it is said (a welcome, a client's rules line).
LOCKED_RULE = "The room is locked: only the teacher writes to the room now. " + STILL_TO_TEACHER

# Slow mode's rule in words, with room for how long (counted seconds).
SLOW_RULE_WORDS = "each student may send one message to the room every %s"

# slow_mode's words, with room for the rule and how long is left to wait.
SLOW_MODE_WORDS = "Slow mode is on: %s. Wait %s, then send it again."

# The words of join_timeout and rate_limited, with room for the numbers
# (join_timeout_message, held_back_message).
JOIN_TIMEOUT_WORDS = ("Nothing was joined %s, so the connection is closed. "
                      "Connect again and send your name.")
RATE_LIMITED_WORDS = ("You are sending faster than this room allows%s. Your next lines "
                      "are held back and will follow in order; nothing is lost.")

# What each error code tells a person, and what they can do about it.
ERROR_MESSAGES = {
    "name_taken": "That name is already in use in this room. Choose another name.",
    "bad_name": (
        "Names are 1 to %d characters: letters, digits, '_', '-' and '.' "
        "(any alphabet, accents too), at least one letter or digit, and no "
        "spaces." % MAX_NAME_CHARS
    ),
    "bad_password": "Wrong password for this room. Ask the teacher for the password.",
    "bad_teacher": ("That join did not prove you are the teacher. Students join without "
                    "teacher fields; teachers join from the server's computer or with the "
                    "teacher password."),
    "server_full": (
        "The chat room is full, so you cannot join now. Try again in a few minutes, "
        "or ask the teacher to raise --max-clients."
    ),
    "frame_too_long": (
        "A line longer than %d bytes was received; the connection is closed."
        % MAX_FRAME_BYTES
    ),
    "join_timeout": JOIN_TIMEOUT_WORDS % "in time",
    "tls_required": (
        "This chat room is encrypted (TLS). Join with %s exactly as the teacher shows it on "
        "the board (nc and telnet cannot join an encrypted room)."
        % for_anyone('client --tls --tls-fingerprint "..." ADDRESS')
    ),
    "tls_unavailable": (
        "This chat server does not use encryption (TLS). Connect without --tls."
    ),
    "bad_binding": (
        "Your connection reached this room through another computer (a relay, or port "
        "forwarding or NAT on the way), so your password could not be proven over it; "
        "nothing was given away. Connect to the room's own address, as the teacher shows "
        "it. A room reached through port forwarding needs encryption for its passwords: "
        "the teacher starts it with --tls-cert and --tls-key."
    ),
    "bad_frame": "That line was not a valid frame.",
    "unknown_type": "Unknown frame type.",
    "not_joined": "Join the room first.",
    "already_joined": "You have already joined.",
    "text_too_long": "That message is too long.",
    "empty_text": "Empty messages are not sent.",
    "no_such_user": "Nobody of that name is in the room.",
    "rate_limited": RATE_LIMITED_WORDS % "",
    "muted": ("The teacher has muted you: your messages to the room are not sent. "
              + STILL_TO_TEACHER),
    "locked": ("The teacher has locked the room: only the teacher writes to the room now. "
               + STILL_TO_TEACHER),
    "slow_mode": "Slow mode is on: wait a little, then send your message again.",
    "private_off": ("The teacher has turned off private messages between students, so it was "
                    "not sent. " + STILL_TO_TEACHER),
    "not_teacher": "Only a teacher can change the room's rules.",
    "not_student": "Only students raise their hand; a teacher has no hand to raise.",
    "no_such_message": ("There is no message with that number in the room's history: it may "
                        "have been deleted or cleared already."),
    "bad_control": "That room control was not understood.",
}

# bad_password when the join carried no password at all (ERROR_MESSAGES has
# the words for a wrong one).
PASSWORD_MISSING_MESSAGE = (
    "This room needs a password. Ask the teacher for it.")

# What a password try that must wait its turn is told (password_wait_frame):
# why it waits, at most how long, and that typing it again does not help.
PASSWORD_WAIT_WORDS = (
    "Too many wrong passwords came from your computer's address, so passwords from it are "
    "checked slowly: yours is checked within %d seconds. Please wait for the answer; "
    "there is no need to type it again.")

# What welcome.role says a joiner is (docs/protocol.md, "The teacher's room").
TEACHER, STUDENT = "teacher", "student"

# What a recorded room (--log) tells students before they write a word: the
# join form, the name prompt of a text session, the first line after the welcome.
RECORDED_WORDS = "This room is recorded: the teacher keeps a log of what is said."

# Why a member left, in `left` frames (docs/protocol.md, "left reasons");
# text_format.LEFT_WORDS has the words people read for each.
LEFT_REASONS = ("quit", "disconnected", "timeout", "too_slow", "kicked")


def held_back_message(rate):
    """Return rate_limited's words: the lines are held back, paced at `rate` a second."""
    return RATE_LIMITED_WORDS % (" (%g messages a second)" % rate)


def join_timeout_message(seconds):
    """Return join_timeout's words for a join timeout of `seconds`."""
    return JOIN_TIMEOUT_WORDS % ("within %g seconds" % seconds)


class ProtocolError(Exception):
    """A frame broke the protocol; `code` is the error code to send back."""

    def __init__(self, code, message=None, **fields):
        self.code = code
        self.message = message or ERROR_MESSAGES[code]
        self.fields = fields  # more fields of the error frame (slow_mode's seconds)
        Exception.__init__(self, "%s: %s" % (code, self.message))

    @property
    def fatal(self):
        return self.code in FATAL_ERRORS

    def frame(self):
        """Return the error frame that reports this error."""
        frame = error_frame(self.code, self.message)
        frame.update(self.fields)
        return frame


class LineSplitter:
    """Cut a byte stream into lines, never holding more than the limit.

    Call `wanted()` for how many bytes to read next, then `feed()` them.
    A line longer than the limit raises ProtocolError("frame_too_long")
    as soon as it is seen, without waiting for its end.

    The work is linear in the bytes received however they are cut: only
    the new bytes are searched for a line end, and the unfinished line
    grows in place (a bytearray), copied once when it ends.  (Copying it
    on every read made a long line sent a byte at a time cost the server
    seconds of CPU: docs/benchmarks.md, "Drip attack".  A list of pieces
    instead would hold dozens of bytes of objects per byte received.)
    """

    def __init__(self, limit=MAX_FRAME_BYTES, chunk=64 * 1024):
        self._limit = limit
        self._chunk = chunk
        self._partial = bytearray()

    def wanted(self):
        """Return how many bytes may be read without passing the limit."""
        return max(1, min(self._chunk, self._limit + 2 - len(self._partial)))

    @property
    def pending(self):
        """Return how many bytes of an unfinished line are held."""
        return len(self._partial)

    def feed(self, data):
        """Add received bytes; return the complete lines, endings removed."""
        if not self._partial and len(data) <= self._limit:
            # The usual read: no line was left unfinished, and none can be too long.
            lines = data.split(b"\n")
            self._partial += lines.pop()
            if b"\r" in data:
                lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
            return lines
        lines = []
        start = 0
        end = data.find(b"\n")
        while end >= 0:
            self._partial += data[start:end]
            lines.append(self._finish_line())
            start = end + 1
            end = data.find(b"\n", start)
        self._partial += data[start:]
        # One byte more is a "\r" that may be the start of the line's "\r\n".
        if len(self._partial) > self._limit + self._partial.endswith(b"\r"):
            raise ProtocolError("frame_too_long")
        return lines

    def _finish_line(self):
        line = bytes(self._partial)
        del self._partial[:]
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > self._limit:
            raise ProtocolError("frame_too_long")
        return line


def _reject_constant(name):
    raise ValueError("%s is not allowed" % name)


# One decoder and one encoder for every frame: json.loads() and json.dumps()
# with options build a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

# Their C parts, called directly: a frame is read and written once per
# line and per message, and JSONDecoder.decode() and JSONEncoder.encode()
# wrap them in two Python calls each (and encode() builds the C encoder
# anew every time).  The full decoder still reads any line the scanner
# does not take whole, so its errors say what is wrong.  Frames are trees
# (no cycles to look for: markers None).  None where a Python lacks them.
_SCAN = _DECODER.scan_once
_QUOTE = json.encoder.encode_basestring  # a str as a JSON string, non-ASCII kept
try:
    _C_ENCODE = json.encoder.c_make_encoder(
        None, _ENCODER.default, _QUOTE, None,
        _ENCODER.key_separator, _ENCODER.item_separator, False, False, True)
except TypeError:  # no C encoder (None), or one that takes other arguments
    _C_ENCODE = None


def parse_object(line):
    """Return the JSON object on a line, or raise ProtocolError(bad_frame)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("bad_frame", "The line is not valid UTF-8 (byte %d)." % exc.start)
    if nesting(text) > MAX_NESTING:
        raise ProtocolError("bad_frame", "The JSON is nested too deeply.")
    try:
        obj, end = _SCAN(text, 0)  # the usual line: one object, nothing around it
    except (StopIteration, ValueError, RecursionError):
        end = None
    try:
        if end != len(text):
            obj = _DECODER.decode(text)
    except RecursionError:
        raise ProtocolError("bad_frame", "The JSON is nested too deeply.")
    except ValueError as exc:  # json.JSONDecodeError, huge integers, NaN
        raise ProtocolError("bad_frame", "The line is not valid JSON: %s." % exc)
    if not isinstance(obj, dict):
        raise ProtocolError("bad_frame", "A frame must be a JSON object.")
    return obj


def nesting(text):
    """Return how deep JSON text nests, counting no further than MAX_NESTING + 1.

    Brackets inside strings do not count.  A line with few brackets (every
    ordinary frame) is not looked at further.
    """
    brackets = text.count("[") + text.count("{")
    if brackets <= MAX_NESTING:
        return min(brackets, 1)
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):  # stops early: no list
        depth += 1 if bracket.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_NESTING:
                break
    return deepest


def looks_like_json_object(line):
    """Tell whether a first line is a JSON object (a program) or not (a person)."""
    try:
        parse_object(line)
    except ProtocolError:
        return False
    return True


# How a field's type is named in bad_frame's words.
TYPE_WORDS = {str: "a string", int: "an integer", bool: "a true/false"}


def _frame_word(obj):
    """Name a frame in bad_frame's words: its type, or a control's action."""
    action = obj.get("action")
    if obj["type"] == "control" and isinstance(action, str) and action in CONTROL_ACTIONS:
        return action
    return obj["type"]


def _field(obj, key, kind, required=True):
    value = obj.get(key)
    if type(value) is not str or kind is not str:  # a string field with a string skips this
        if value is None and not required:
            return None
        if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
            raise ProtocolError(
                "bad_frame",
                "'%s' frames need %s field '%s'."
                % (_frame_word(obj), TYPE_WORDS.get(kind, "a numeric"), key),
            )
        if not isinstance(value, str):
            return value
    if _SURROGATE.search(value):
        raise ProtocolError("bad_frame", "Field '%s' holds an unpaired surrogate." % key)
    return value


def _check_token(obj):
    token = obj.get("token")
    if token is None:
        return None
    if isinstance(token, str):
        token = _field(obj, "token", str)
        if len(token) <= MAX_TOKEN_CHARS:
            return token
    elif isinstance(token, (int, float)) and not isinstance(token, bool):
        if abs(token) <= 2 ** 53 and math.isfinite(token):
            return token
    raise ProtocolError(
        "bad_frame",
        "A ping token must be a number or a string of at most %d characters."
        % MAX_TOKEN_CHARS,
    )


# What each client frame type carries: field name -> (type, required).
CLIENT_FRAMES = {
    "join": {"name": (str, True), "password": (str, False),
             "teacher_token": (str, False), "teacher_password": (str, False),
             "nonce": (str, False), "teacher": (bool, False)},
    "proof": {"binding": (str, True), "password": (str, False),
              "teacher_password": (str, False)},
    "say": {"text": (str, True), "to": (str, False)},
    "ping": {},
    "pong": {},
    "leave": {},
    "hand": {"up": (bool, True)},
    "control": {"action": (str, True)},
    "info": {},
}

# What each `control` action carries besides `action`: field -> (type, required).
# An action not here is kept as it is: the room answers not_teacher to a
# student and bad_control to a teacher.
CONTROL_ACTIONS = {
    "mute": {"name": (str, True)},
    "unmute": {"name": (str, True)},
    "lock": {},
    "unlock": {},
    "slow": {"seconds": (int, True)},
    "private": {"allowed": (bool, True)},
    "delete": {"id": (int, True)},
    "clear": {},
    "lower": {"name": (str, True)},
    "lower_all": {},
    "kick": {"name": (str, True), "reason": (str, False)},
    "announce": {"text": (str, True)},
}


def decode_client_frame(line):
    """Parse and check one line from a client; return the frame as a dict.

    Only the known fields of a known type are kept, with their types
    checked.  Raises ProtocolError with bad_frame or unknown_type.
    """
    obj = parse_object(line)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_frame", "A frame needs a string field 'type'.")
    if kind not in CLIENT_FRAMES:
        raise ProtocolError(
            "unknown_type",
            "Unknown frame type %r; known types: %s."
            % (kind[:40], ", ".join(sorted(CLIENT_FRAMES))),
        )
    frame = {"type": kind}
    _take_fields(obj, CLIENT_FRAMES[kind], frame)
    if kind == "control":
        _take_fields(obj, CONTROL_ACTIONS.get(frame["action"], {}), frame)
    if kind == "ping":
        token = _check_token(obj)
        if token is not None:
            frame["token"] = token
    return frame


def _take_fields(obj, fields, frame):
    """Copy the checked `fields` ({key: (type, required)}) of obj into frame."""
    for key, (type_, required) in fields.items():
        value = _field(obj, key, type_, required)
        if value is not None:
            frame[key] = value


def encode(frame):
    """Return a frame as one UTF-8 JSON line."""
    if _C_ENCODE is None:
        return (_ENCODER.encode(frame) + "\n").encode("utf-8")
    return ("".join(_C_ENCODE(frame, 0)) + "\n").encode("utf-8")


# --- message text ----------------------------------------------------------

def strip_controls(text):
    """Remove control characters other than newline and tab, lone surrogates and bidi controls."""
    return _CONTROLS.sub("", text)


def is_blank(text):
    """Tell whether text shows nothing: only whitespace, controls and invisible characters.

    Invisible are format characters and every Default_Ignorable_Code_Point
    (a Hangul filler is a letter by category, yet shows nothing).
    """
    if text[:1].isalnum() and text[:1].isascii():
        return False  # the usual message: it starts with a visible letter or digit
    return all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs")
               or is_default_ignorable(ch) for ch in text)


def clean_text(raw, max_chars):
    """Return message text fit to relay, or raise ProtocolError.

    Line endings become "\\n"; control characters other than newline and
    tab, and bidirectional overrides, are removed.  Text that shows
    nothing (see is_blank) is empty_text.
    """
    text = strip_controls(raw.replace("\r\n", "\n").replace("\r", "\n"))
    if is_blank(text):
        raise ProtocolError("empty_text")
    if len(text) > max_chars:
        raise ProtocolError(
            "text_too_long",
            "That message has %d characters; the limit is %d. It was not sent."
            % (len(text), max_chars),
        )
    return text


# What starts a message that is an action: "/me waves".
ACTION_PREFIX = "/me "


def is_action(text):
    """Tell whether a message is an action ("/me waves")."""
    return text.startswith(ACTION_PREFIX)


# --- server frames ---------------------------------------------------------

def error_frame(code, message=None):
    return {"type": "error", "code": code, "message": message or ERROR_MESSAGES[code]}


# A room message as encode() writes it, spelt out: every member receives one
# per message, and this costs about half of encode() (1.8 us against 3.4 in
# Python 3.11).  Only for a frame of exactly these keys (message_frame()'s
# first five; a private or a teacher's message has more).
_MESSAGE_JSON = '{"type":"message","id":%d,"from":%s,"text":%s,"time":%r}\n'
_MESSAGE_KEYS = ("type", "id", "from", "text", "time")


def encode_message(frame):
    """Return a message frame as one UTF-8 JSON line, as encode() does."""
    if tuple(frame) != _MESSAGE_KEYS:
        return encode(frame)
    return (_MESSAGE_JSON % (frame["id"], _QUOTE(frame["from"]), _QUOTE(frame["text"]),
                             frame["time"])).encode("utf-8")


def message_frame(id_, sender, text, time, to=None, teacher=False):
    frame = {"type": "message", "id": id_, "from": sender, "text": text, "time": time}
    if to is not None:
        frame["to"] = to
    if teacher:
        frame["teacher"] = True
    return frame


def joined_frame(name, time, teacher=False):
    frame = {"type": "joined", "name": name, "time": time}
    if teacher:
        frame["teacher"] = True
    return frame


def left_frame(name, time, reason):
    return {"type": "left", "name": name, "time": time, "reason": reason}


def notice_frame(id_, text, time):
    """An announcement from the person running the server, to every member.

    It is numbered from the same counter as messages and kept in history.
    """
    return {"type": "notice", "id": id_, "text": text, "time": time}


def room_notice_frame(id_, text, time, about):
    """A change of the room (`about`: mute, lock, delete ...), said in words to every member."""
    frame = notice_frame(id_, text, time)
    frame["about"] = about
    return frame


def room_state_frame(state, time):
    """The room's rules (moderation.Rules.state()), sent to every member after a change."""
    frame = {"type": "room_state"}
    frame.update(state)
    frame["time"] = time
    return frame


def deleted_frame(id_, time):
    return {"type": "deleted", "id": id_, "time": time}


def cleared_frame(time, through):
    """A teacher cleared the room: every message and announcement up to id `through` is gone."""
    return {"type": "cleared", "through": through, "time": time}


def hand_frame(name, up, time, left=None):
    """A student's hand went up or down: to every teacher and to that student.

    `left` is the reason (LEFT_REASONS) when it went down because the
    student left the room.
    """
    frame = {"type": "hand", "name": name, "up": up, "time": time}
    if left is not None:
        frame["left"] = left
    return frame


def hands_lowered_frame(count, time):
    """A teacher lowered every raised hand, `count` of them: one frame to each teacher.

    Each of those students gets their own `hand` frame; the log keeps
    this record alone.
    """
    return {"type": "hands_lowered", "count": count, "time": time}


def info_frame(room, logged, password, version):
    """The answer to `info`, which may come before the join."""
    return {"type": "info", "room": room, "logged": logged, "password": password,
            "version": version}


def counted(count, thing):
    """Return a count in words: 1 second, 30 seconds, 1 message, 3 messages."""
    return "%d %s%s" % (count, thing, "" if count == 1 else "s")


def slow_rule(seconds):
    """Return slow mode's rule in words: each student may send one message ... every 30 seconds."""
    return SLOW_RULE_WORDS % counted(seconds, "second")


def slow_mode_error(every, left):
    """Return slow_mode's ProtocolError: one room message each `every` seconds, `left` to wait."""
    return ProtocolError("slow_mode", SLOW_MODE_WORDS % (slow_rule(every), counted(left, "second")),
                         seconds=left)


def challenge_frame(nonce, iterations, salts):
    """Ask a join for its proofs (docs/protocol.md, "Proving a password").

    `salts` maps each secret to prove ("password", "teacher_password") to
    its salt, as base64.
    """
    return {"type": "challenge", "nonce": nonce, "iterations": iterations, "salt": salts}


def password_wait_frame(seconds):
    """Tell a client whose password waits its turn how long the answer may take, at most.

    Its own frame type, not an error: older clients take any error before
    their welcome for a refusal, and ignore a frame they do not know.
    """
    whole = int(math.ceil(seconds))
    return {"type": "password_wait", "seconds": whole, "message": PASSWORD_WAIT_WORDS % whole}


def bye_frame(reason, kicked=False):
    """The last frame before the server closes; `kicked` asks clients not to reconnect."""
    frame = {"type": "bye", "reason": reason}
    if kicked:
        frame["kicked"] = True
    return frame


def limits_field(rate, burst, max_text):
    """Return the welcome's `limits`: what a client must stay within, so it can pace itself."""
    return {"rate": rate, "burst": burst, "max_text": max_text}


def welcome_frame(name, users, history, limits=None, room=None, extra=None):
    """Return a welcome frame (history is a list of frames, oldest first; it stays last).

    `extra` holds more fields (the teacher's room: role, teachers, state ...).
    """
    frame = {"type": "welcome", "name": name, "users": users}
    if room is not None:
        frame["room"] = room
    if limits is not None:
        frame["limits"] = limits
    if extra:
        frame.update(extra)
    frame["history"] = history
    return frame


# What a welcome whose head alone (everything but its history) would pass
# the limit leaves out, in this order: the newest raised hands (a teacher's),
# then the names of those who joined first (the joiner stays, last).  Each
# list's cut count goes in a field of its own.  Hands are at most one per
# student present, so only a room of tens of thousands gets here.
WELCOME_CUTS = (("hands", "more_hands", True), ("users", "more_users", False))


def fit_lists(frame, limit, cuts):
    """Return (frame, its line) within `limit` bytes, cutting the frame's lists if needed.

    `cuts` are (key, count key, from the end) in the order to cut: the
    list at `key` loses items from its end or from its start until the
    line fits, and `count key` says how many went (a cut frame is a copy).
    A frame that still does not fit once those lists are empty is returned
    as it is.
    """
    line = encode(frame)
    for key, count_key, from_end in cuts:
        items = frame.get(key)
        if len(line) <= limit:
            break
        if not items:
            continue
        # What must go: the excess, the count's field, and the comma the last item lacks.
        excess = len(line) - limit + len(',"%s":%d' % (count_key, len(items))) + 1
        kept = list(items)
        while kept and excess > 0:
            excess -= len(encode(kept.pop() if from_end else kept.pop(0)))  # its comma: the "\n"
        frame = dict(frame)
        frame[key] = kept
        frame[count_key] = len(items) - len(kept)
        line = encode(frame)
    return frame, line


def welcome_bytes(name, users, encoded_history, limits=None, limit=MAX_SERVER_FRAME_BYTES,
                  room=None, extra=None):
    """Return the welcome line, keeping the newest history that fits the limit.

    `encoded_history` holds each history message already JSON-encoded
    (without line ending), oldest first, so the welcome costs no re-encoding.
    A head that would not fit by itself loses hands and names (WELCOME_CUTS).
    """
    frame = welcome_frame(name, users, [], limits, room, extra)
    del frame["history"]  # put back last, after any count a cut adds
    history_field = len(',"history":[]')
    if len(encode(frame)) + history_field > limit:
        frame = fit_lists(frame, limit - history_field, WELCOME_CUTS)[0]
    frame["history"] = []
    head = encode(frame)
    space = limit - len(head)
    kept = []
    for item in reversed(encoded_history):
        space -= len(item) + 1
        if space < 0:
            break
        kept.append(item)
    kept.reverse()
    if not kept:
        return head
    # head ends with '[]}\n'; put the history between the brackets.
    return head[:-3] + b",".join(kept) + head[-3:]
