"""What the teacher's window shows and sends, decided without Tk.

TeacherView reads the room as the window's ChatState (client/chat_state.py)
follows it (the rules from welcome.state and room_state, the raised hands in
order, who is here and who is a teacher) and says what each menu offers for
that state; control() and slow_frame() build the `control` frames of
docs/protocol.md ("The teacher's room").  ReceivedFrames keeps the frames a
window received, for a transcript made without the server's log.
teacher_panel.py draws all this with Tk.
"""

from collections import namedtuple

from ..client.chat_state import rules_of
from ..wire.names import name_key
from ..wire.protocol import MAX_SLOW_SECONDS
from ..wire.text_format import safe

# What the slow-mode dialog offers first when slow mode is off: a pause that
# calms a flood without stopping a discussion.
SUGGESTED_SLOW_SECONDS = 30

# The lesson's record keeps at most this many frames (a long lesson in a busy
# room is a few thousand); older ones give way, so memory stays bounded.
MAX_RECORDS = 100000

# The frames a transcript is made of (transcript/lesson.py shows these, and skips others).
RECORDED = ("message", "notice", "joined", "left", "deleted", "cleared", "hand", "hands_lowered")
NUMBERED = ("message", "notice")  # numbered by the server: the same id is the same frame

# One entry of a menu.  action: a control action (some ask the teacher
# first), or "private_to" or "save_transcript", which the window does itself;
# fields: the control's fields so far; check: None for a command, else
# whether the checkbutton is on; enabled: False greys it out.
MenuItem = namedtuple("MenuItem", "label action fields check enabled")


def item(label, action, fields=None, check=None, enabled=True):
    return MenuItem(label, action, dict(fields or {}), check, enabled)


# A menu entry that is a line between groups.
SEPARATOR = item("", None)


def control(action, **fields):
    """Return the control frame for an action and its fields."""
    frame = {"type": "control", "action": action}
    frame.update(fields)
    return frame


def slow_frame(seconds):
    """Return the control frame that sets slow mode to `seconds` (0: off); ValueError if out of range."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) \
            or not 0 <= seconds <= MAX_SLOW_SECONDS:
        raise ValueError("slow mode takes a whole number of seconds from 0 to %d"
                         % MAX_SLOW_SECONDS)
    return control("slow", seconds=seconds)


def slow_words(seconds):
    """Return how the Room menu says the slow mode in force."""
    return "off" if not seconds else "one message per %d s" % seconds


class RulesInForce:
    """The room's rules as room_state and welcome.state give them (chat_state.rules_of).

    What the teacher's window reads; the server's own record of the rules,
    which it changes, is relay/moderation.py's Rules.
    """

    def __init__(self, given=None):
        rules = rules_of(given)
        self.locked, self.slow = rules["locked"], rules["slow"]
        self.private, self.muted = rules["private"], rules["muted"]

    def is_muted(self, name):
        key = name_key(name)
        return any(name_key(muted) == key for muted in self.muted)


def rules_summary(rules):
    """Return the rules in force in a line for the teacher ("" when none is)."""
    said = [words for present, words in (
        (rules.locked, "Room locked."),
        (rules.slow, "Slow mode: %s." % slow_words(rules.slow)),
        (not rules.private, "Private messages between students: off."),
        (rules.muted, "Muted: %s." % ", ".join(rules.muted))) if present]
    return " ".join(said)


class TeacherView:
    """What the teacher's menus and hands list show, read from the window's ChatState; no Tk.

    The window's ChatState takes each frame first (ChatWindow.on_frame);
    changed() then says what of the teacher's panel that frame changed.
    """

    def __init__(self, state):
        self.state = state  # the window's client.chat_state.ChatState

    @property
    def rules(self):
        return RulesInForce(self.state.rules)

    def changed(self, frame):
        """Return what a frame, once the state has taken it, changed: "rules", "hands", or None."""
        handler = self._handlers.get(frame.get("type"))
        return handler(self, frame) if handler else None

    def _on_room_state(self, frame):
        return "rules"

    def _on_hand(self, frame):
        return "hands" if isinstance(frame.get("name"), str) else None

    def _on_hands_lowered(self, frame):
        return "hands"

    def _on_member(self, frame):
        """Someone joined or left: a raised hand of theirs shows as here, or away.

        The server lowers the hand of a student who leaves (its `hand` frame
        follows); only hands kept over a restart are up for someone away,
        and the list marks them so.
        """
        if not isinstance(frame.get("name"), str):
            return None
        return "hands" if self.state.hands.is_up(frame["name"]) else None

    def hand_rows(self):
        """Return (name, "HH:MM", here) for each raised hand, in the order they went up."""
        present = {name_key(name) for name in self.state.users}
        return [(name, when, name_key(name) in present)
                for name, when in self.state.hands.rows()]

    _handlers = {"room_state": _on_room_state, "hand": _on_hand,
                 "hands_lowered": _on_hands_lowered, "joined": _on_member, "left": _on_member}

    def user_menu(self, name):
        """Return the entries of a person's menu in the user list."""
        if name_key(name) == name_key(self.state.name):
            return [item("%s (you)" % name, None, enabled=False)]
        private = item("Private message to %s" % name, "private_to", {"name": name})
        if self.state.is_teacher(name):
            return [item("%s is a teacher" % name, None, enabled=False), private]
        items = []
        if self.rules.is_muted(name):
            items.append(item("Unmute %s" % name, "unmute", {"name": name}))
        else:
            items.append(item("Mute %s" % name, "mute", {"name": name}))
        items.append(item("Kick %s\u2026" % name, "kick", {"name": name}))
        if self.state.hands.is_up(name):
            items.append(item("Lower %s's hand" % name, "lower", {"name": name}))
        return items + [SEPARATOR, private]

    def message_menu(self, message_id, frame=None):
        """Return the entries of a message's menu (it has the id message_at gave).

        `frame`, the message or announcement itself when the window has it,
        names what is deleted: whose, and how it begins.
        """
        if message_id is None:
            return []
        return [item(delete_label(message_id, frame), "delete", {"id": message_id})]

    def room_menu(self):
        """Return the Room menu's entries for the rules in force."""
        rules = self.rules
        if rules.locked:
            lock = item("Unlock the room (students may talk again)", "unlock")
        else:
            lock = item("Lock the room (only teachers talk)", "lock")
        return [
            lock,
            item("Slow mode\u2026 (now %s)" % slow_words(rules.slow), "slow"),
            item("Slow mode off", "slow", {"seconds": 0}, enabled=rules.slow > 0),
            item("Private messages between students", "private",
                 {"allowed": not rules.private}, check=rules.private),
            SEPARATOR,
            item("Announcement\u2026", "announce"),
            item("Clear history\u2026", "clear"),
            SEPARATOR,
            item("Save transcript\u2026", "save_transcript"),
        ]


# How much of a message its Delete entry shows, so the teacher sees which one it is.
DELETE_PREVIEW_CHARS = 40


def delete_label(message_id, frame=None):
    """Return the Delete entry's words: whose message, and how it begins, when known."""
    if not isinstance(frame, dict) or not isinstance(frame.get("text"), str):
        return "Delete message %d (from every window and the history)" % message_id
    text = " ".join(safe(frame["text"]).split())
    if len(text) > DELETE_PREVIEW_CHARS:
        text = text[:DELETE_PREVIEW_CHARS - 1] + "\u2026"
    if isinstance(frame.get("from"), str):
        whose = "%s's message" % safe(frame["from"])
    else:
        whose = "the announcement"
    return "Delete %s \u201c%s\u201d (from every window and the history)" % (whose, text)


class ReceivedFrames:
    """The frames this window received, for a transcript made without the log.

    A record of frames; transcript/lesson.py's Lesson lays such records out.
    """

    def __init__(self, limit=MAX_RECORDS):
        self._records = []
        self._ids = set()  # ids of messages and notices recorded (a rejoin repeats history)
        self._limit = limit

    def welcome(self, welcome):
        """Record the history a (re)join brought that is not recorded yet."""
        for frame in welcome.get("history") or []:
            if isinstance(frame, dict):
                self.record(frame)

    def record(self, frame):
        """Keep a frame that belongs in a transcript (once, for numbered ones)."""
        if frame.get("type") not in RECORDED:
            return
        frame_id = frame.get("id")
        if frame["type"] in NUMBERED and isinstance(frame_id, int):
            if frame_id in self._ids:
                return
            self._ids.add(frame_id)
        self._records.append(frame)
        if len(self._records) > self._limit:
            del self._records[0]

    def records(self):
        return list(self._records)

    def find(self, message_id):
        """Return the recorded message or announcement with this id, or None."""
        if message_id not in self._ids:
            return None
        return next((frame for frame in reversed(self._records)
                     if frame.get("id") == message_id and frame.get("type") in NUMBERED), None)


def log_records(read_log, path, since):
    """Return (records of the log since `since`, the number of lines skipped).

    `read_log` is transcript.export.read_log.  Records without a time are kept:
    only what is known to be earlier is left out.
    """
    records, warnings = read_log(path)
    kept = [record for record in records
            if not isinstance(record.get("time"), (int, float)) or record["time"] >= since]
    return kept, len(warnings)

