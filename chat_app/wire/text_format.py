"""Render server frames as plain lines for terminals.

Used by the server for text sessions (nc, telnet) and by the terminal
client.  Every line returned is safe to print: no control characters other
than the newline that ends it, so no one can paint another person's terminal
with escape sequences; no direction marks, and line or paragraph separators
become line breaks indented like any other line of the message.
"""

import bisect
import functools
import itertools
import re
import time
import unicodedata

from .names import name_key
from .protocol import (
    ACTION_PREFIX,
    DIRECTION_MARKS,
    ERROR_MESSAGES,
    LINE_SEPARATORS,
    LOCKED_RULE,
    RECORDED_WORDS,
    is_action,
    slow_rule,
    strip_controls,
)

# Continuation lines of a multi-line message are indented this far, so
# they read as part of the message above them.
INDENT = "    "

# A text session's terminal (nc, telnet) is taken to be this wide: the
# server cannot know it, and 80 columns is every terminal's size until
# someone resizes it.  The server wraps what it sends them to fit (wrap).
SESSION_COLUMNS = 80

# The narrowest terminal wrap() allows for: narrower, the indent would
# leave too little of a row for words.
MIN_COLUMNS = 20

# Characters whose columns wrap() keeps at hand: those of a lesson's
# messages; beyond this many it starts again, so no text can grow it.
MAX_CACHED_WIDTHS = 4096

# Long lines whose rows wrap() keeps at hand: more than the history of a
# welcome holds by default (room.DEFAULT_HISTORY, 100 messages), so each
# nc join after the first wraps none of it again, under the room's lock.
MAX_CACHED_LINES = 256

# Whitespace where a row breaks: dropped.
_SPACES = re.compile(r"\s*")

# What an action (/me waves) is shown between, after its sender's name: <amy> *waves*.
ACTION_MARK = "*"

# What a terminal prints instead of characters it would show wrongly: a tab
# as spaces; a line or paragraph separator as the line break it means, so a
# message's next line gets the indent (a separator shown as nothing would
# glue the lines, a bare break would let a line pose as a new message);
# direction marks as nothing.
TERMINAL_REPLACEMENTS = dict(
    [(ord("\t"), "    ")]
    + [(ord(ch), "\n") for ch in LINE_SEPARATORS]
    + [(ord(ch), None) for ch in DIRECTION_MARKS]
)

# What people read for each of protocol.LEFT_REASONS.
LEFT_WORDS = {
    "quit": "left",
    "disconnected": "left (connection lost)",
    "timeout": "left (not responding)",
    "too_slow": "left (too slow to keep up)",
    "kicked": "was removed by the teacher",
}

# What a `bye` tells the person it ends: removed by the teacher, or the server closed.
KICKED_WORDS = "The teacher removed you from the room (%s)."

# How a teacher's name reads on their messages and in their join: "<ms_lee (teacher)>".
TEACHER_MARK = " (teacher)"

# What a student at a terminal reads of their own hand (`hand` frames, welcome.hand).
HAND_WORDS = {True: "* Your hand is up: the teacher can see it.",
              False: "* Your hand is down."}

# What a welcome says of the room's rules, when they are not the usual ones.
RECORDED_LINE = "* " + RECORDED_WORDS
LOCKED_WORDS = "* " + LOCKED_RULE
SLOW_WORDS = "* Slow mode is on: %s."
MUTED_WORDS = "* " + ERROR_MESSAGES["muted"]
PRIVATE_OFF_WORDS = ("* Private messages between students are off; the teacher can still be "
                     "messaged.")
CLOSED_WORDS = "the server closed the connection: %s"


def char_columns(char):
    """Return how many terminal columns one character takes: 2 wide, 0 combining, else 1.

    Where terminals differ, this errs wide (a zero-width format character
    counts 1), so a row measured to fit never spills over.
    """
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def columns(text):
    """Return how many terminal columns text takes (wide East Asian characters: 2)."""
    return sum(map(char_columns, text))


def safe(text):
    """Return text fit for a terminal: no control characters, nor direction marks.

    Tabs become spaces and line or paragraph separators "\n" (see
    TERMINAL_REPLACEMENTS).
    """
    return strip_controls(str(text).translate(TERMINAL_REPLACEMENTS))


def safe_line(text):
    """Return text fit for one terminal line: as safe(), and line breaks as spaces.

    For names and other one-line fields, so that no line break in them can
    start a line that poses as another message.
    """
    return safe(text).replace("\n", " ")


def people(count):
    """Return a number of people in words: 1 person, 14 people."""
    return "1 person" if count == 1 else "%d people" % count


def clock(when):
    """Return a Unix time as local HH:MM."""
    try:
        return time.strftime("%H:%M", time.localtime(float(when)))
    except (TypeError, ValueError, OverflowError, OSError):
        return "--:--"


def wrap(text, width):
    """Return text broken into rows that a terminal `width` columns wide shows as they are.

    Rows keep out of the last column (a row that fills it makes some
    terminals, the Windows console among them, start a new row by
    themselves, and the line's end then leaves an empty one), so the
    terminal never breaks a row itself; every row after the first of a
    line is indented (INDENT), so nothing a person wrote can start a row
    that looks like one of the program's own.  Rows break at spaces where
    they can, dropping the spaces at the break; a run longer than a row is
    cut.  Columns count as char_columns says.
    """
    room = max(width, MIN_COLUMNS) - 1
    return "\n".join(
        row for line in text.split("\n")
        for row in ((line,) if len(line) * 2 <= room else _rows(line, room)))


@functools.lru_cache(maxsize=MAX_CACHED_LINES)
def _rows(line, room):
    """Return one line as rows of at most `room` columns, all but the first indented.

    A row's end is found by arithmetic (ASCII) or by bisection on the
    columns each prefix of the line takes, and its break with str.rfind,
    so a long line costs little more than reading it once; and a line
    wrapped before (the history in each nc join's welcome) costs a lookup.
    """
    line = line.rstrip()  # spaces at its end would only make rows of spaces
    end = len(line)
    # ends[i]: the columns line[:i + 1] takes; None: one each (ASCII).
    ends = None if line.isascii() else list(
        itertools.accumulate(map(_WIDTHS.__getitem__, line)))
    rows, lead, start = [], "", 0
    while True:
        at = _overflow(ends, start, room - len(lead))
        if at >= end:
            rows.append(lead + line[start:])
            return tuple(rows)
        cut = line.rfind(" ", start, at + 1)  # the last space that fits, or the one after
        if cut == -1 or not line[start:cut].strip() or (
                cut < at and not _word_fits(line, ends, cut, room - len(INDENT))):
            cut = max(at, start + 1)  # no space to break at, or the word is cut anyway
        rows.append(lead + line[start:cut].rstrip())
        start = _SPACES.match(line, cut).end()
        if start >= end:
            return tuple(rows)
        lead = INDENT


def _overflow(ends, start, columns):
    """Return the index of the first character from `start` beyond `columns` columns."""
    if ends is None:
        return start + columns
    return bisect.bisect_right(ends, (ends[start - 1] if start else 0) + columns, start)


def _word_fits(line, ends, at, room):
    """Tell whether the word after the spaces at `at` fits in `room` columns."""
    first = _SPACES.match(line, at).end()
    beyond = _overflow(ends, first, room)
    return beyond >= len(line) or line.find(" ", first, beyond + 1) != -1


class _Widths(dict):
    """The columns of each character seen (char_columns), looked up at C speed."""

    def __missing__(self, char):
        if len(self) >= MAX_CACHED_WIDTHS:
            self.clear()
        width = self[char] = char_columns(char)
        return width


_WIDTHS = _Widths()


def _lines(prefix, text):
    first, *rest = safe(text).split("\n")
    return "\n".join([prefix + first] + [INDENT + line for line in rest])


def render_message(frame):
    """Return a message as a terminal shows it: "[12:02] <amy> hi", "[12:02] <amy> *waves*".

    Everything a person wrote follows their name in angle brackets, an
    action (/me) between asterisks: a line without "<name>" is the
    program's own, and no text can pass for a join, a leave or a notice.
    """
    sender = safe_line(frame.get("from", "?")) + (TEACHER_MARK if frame.get("teacher") else "")
    text = str(frame.get("text", ""))
    to = frame.get("to")
    private = "(private to %s) " % safe_line(to) if to is not None else ""
    if is_action(text):
        text = ACTION_MARK + text[len(ACTION_PREFIX):].strip() + ACTION_MARK
    return _lines("[%s] <%s> %s" % (clock(frame.get("time")), sender, private), text)


def render_joined(frame):
    mark = TEACHER_MARK if frame.get("teacher") else ""
    return "[%s] * %s%s joined" % (clock(frame.get("time")), safe_line(frame.get("name", "?")),
                                   mark)


def render_hand(frame):
    """Tell a student at a terminal where their own hand is (only they and teachers get it)."""
    return HAND_WORDS[frame.get("up") is True]


def render_rules(frame):
    """Return a welcome's lines about the room: recorded, locked, slow, your hand ..."""
    state = frame.get("state") if isinstance(frame.get("state"), dict) else {}
    lines = [RECORDED_LINE] if frame.get("logged") is True else []
    if state.get("locked") is True:
        lines.append(LOCKED_WORDS)
    if isinstance(state.get("slow"), int) and state["slow"] > 0:
        lines.append(SLOW_WORDS % slow_rule(state["slow"]))
    if state.get("private") is False:
        lines.append(PRIVATE_OFF_WORDS)
    muted = state.get("muted") if isinstance(state.get("muted"), list) else []
    joiner = frame.get("name")
    if isinstance(joiner, str) and name_key(joiner) in {
            name_key(name) for name in muted if isinstance(name, str)}:
        lines.append(MUTED_WORDS)  # muted from the start: a new name on a muted computer
    if frame.get("hand") is True:
        lines.append(HAND_WORDS[True])
    return lines


def left_words(reason):
    """Return what a member did, in words, for a `left` reason (unknown ones as they are)."""
    return LEFT_WORDS.get(reason, "left (%s)" % safe_line(reason))


def render_left(frame):
    words = left_words(frame.get("reason"))
    return "[%s] * %s %s" % (clock(frame.get("time")), safe_line(frame.get("name", "?")), words)


def render_notice(frame):
    return _lines("[%s] *** " % clock(frame.get("time")), str(frame.get("text", "")))


def render_error(frame):
    return "! " + safe(frame.get("message") or frame.get("code", "error"))


def render_bye(frame):
    words = KICKED_WORDS if frame.get("kicked") else CLOSED_WORDS
    words = words % safe(frame.get("reason", ""))
    return "* " + words[:1].upper() + words[1:]


def render_users(users):
    names = [safe_line(name) for name in users]
    if len(names) == 1:
        return "* You are alone in the room."
    return "* %d people in the room: %s" % (len(names), ", ".join(names))


def render_welcome(frame):
    lines = []
    history = frame.get("history") or []
    if history:
        lines.append("* Earlier messages:")
        lines.extend(HISTORY_RENDERERS[item["type"]](item) for item in history
                     if isinstance(item, dict) and item.get("type") in HISTORY_RENDERERS)
        lines.append("* End of earlier messages.")
    lines.append("* Welcome, %s! Type /help for commands." % safe_line(frame.get("name", "")))
    lines.append(render_users(frame.get("users") or []))
    lines.extend(render_rules(frame))
    return "\n".join(lines)


# What a welcome's history may hold: room messages and the teacher's announcements.
HISTORY_RENDERERS = {"message": render_message, "notice": render_notice}

RENDERERS = {
    "message": render_message,
    "joined": render_joined,
    "left": render_left,
    "notice": render_notice,
    "error": render_error,
    "password_wait": render_error,  # "! why the password waits, and how long at most"
    "bye": render_bye,
    "welcome": render_welcome,
    "hand": render_hand,
    # deleted, cleared and room_state show nothing of their own: their notice says it.
}


def render(frame):
    """Return a frame as text lines (no final newline), or None if not shown."""
    renderer = RENDERERS.get(frame.get("type"))
    return renderer(frame) if renderer else None


# After the server's goodbye, nc and telnet stay open until the person acts.
SESSION_END_HINT = ("* Press Ctrl+C to close this connection; to join again, run the same "
                    "nc (or telnet) command again.")


# Frames that carry only the server's words to the one person they are
# for (errors, and the password's wait): nobody else's text, so nothing to
# wrap against, and a line that reads as one.
OWN_WORDS = ("error", "password_wait")


def render_for_session(frame):
    """Return a frame as a person at nc or telnet reads it: as render(), wrapped to fit
    SESSION_COLUMNS, and after a bye, what next.
    """
    text = render(frame)
    if text is None:
        return None
    if frame.get("type") not in OWN_WORDS:
        text = wrap(text, SESSION_COLUMNS)
    if frame.get("type") == "bye":
        text += "\n" + SESSION_END_HINT
    return text
