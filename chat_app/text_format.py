"""Render server frames as plain lines for terminals.

Used by the server for text sessions (nc, telnet) and by the terminal
client.  Every line returned is safe to print: no control characters other
than the newline that ends it, so no one can paint another person's terminal
with escape sequences; no direction marks, and line or paragraph separators
become line breaks indented like any other line of the message.
"""

import time

from .protocol import (
    DIRECTION_MARKS, LINE_SEPARATORS, LOCKED_RULE, RECORDED_WORDS, is_action, slow_rule,
    strip_controls,
)

# Continuation lines of a multi-line message are indented this far, so
# they read as part of the message above them.
INDENT = "    "

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
PRIVATE_OFF_WORDS = ("* Private messages between students are off; the teacher can still be "
                     "messaged.")
CLOSED_WORDS = "the server closed the connection: %s"


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


def _lines(prefix, text):
    first, *rest = safe(text).split("\n")
    return "\n".join([prefix + first] + [INDENT + line for line in rest])


def render_message(frame):
    sender = safe_line(frame.get("from", "?")) + (TEACHER_MARK if frame.get("teacher") else "")
    text = str(frame.get("text", ""))
    to = frame.get("to")
    stamp = "[%s] " % clock(frame.get("time"))
    if is_action(text):
        suffix = " (private to %s)" % safe_line(to) if to is not None else ""
        return _lines("%s* %s " % (stamp, sender), text[4:] + suffix)
    private = "(private to %s) " % safe_line(to) if to is not None else ""
    return _lines("%s<%s> %s" % (stamp, sender, private), text)


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


def render_for_session(frame):
    """Return a frame as a person at nc or telnet reads it: as render(), and after a bye, what next."""
    text = render(frame)
    if text is not None and frame.get("type") == "bye":
        text += "\n" + SESSION_END_HINT
    return text
