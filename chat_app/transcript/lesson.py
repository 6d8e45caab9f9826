"""The lesson a transcript shows: its lines in order, and the summary.

Lesson turns records (dicts shaped as the protocol's frames) into Entry
objects, one per line of the conversation, each with the words it shows,
and counts what the summary says.  The formats (formats.py, html.py) only
lay out a Lesson; none of them decides what is shown, so they cannot
disagree.  Times are this computer's local time.
"""

import datetime
import time

from ..wire.protocol import (
    DIRECTION_MARKS,
    LINE_SEPARATORS,
    counted,
    is_action,
    strip_controls,
)
from ..wire.names import name_key
from ..wire.records import format_size, problem
from ..wire.text_format import clock, left_words

# What a line that is no one's message says, by what happened.
JOINED_WORDS = {False: "joined", True: "joined as a teacher"}
HAND_WORDS = {True: "raised a hand", False: "no longer has a hand up"}
HAND_LEFT_WORDS = "no longer has a hand up: they left"
HANDS_LOWERED_WORDS = "The teacher lowered every raised hand (%s)."
KICKED_WORDS = "%s, who was told: %s"  # "was removed by the teacher", and the teacher's reason
STOPPED_WORDS = "The server stopped, and everyone in the room left then%s."
MORE_NAMES_WORDS = " and %d more"
# A source cut from the log (log_budget.py), and what it left out.
LOG_CUT_WORDS = ("From here on, this log keeps nothing more that came from %s until the server "
                 "restarted: that address had filled its share of the log (%s). Everyone in "
                 "the room still received it.")
LOG_LEFT_OUT_WORDS = ("So far %s (%s) that came from %s were left out of this log after it had "
                      "filled its share; everyone in the room received them.")
CLEARED_WORDS = ("The teacher cleared the room's history: everyone's window was emptied "
                 "(this record keeps what was said before).")
LOST_DELETION_WORDS = "The teacher deleted message %d, which is not in this log."
DELETED_MARK = "deleted by the teacher at %s"

# Notices about these changes repeat what a record of their own shows
# (a deleted message's mark, the cleared line), so they are not shown twice.
SHOWN_BY_RECORD = frozenset(["delete", "clear"])

# Characters no transcript keeps: those strip_controls removes (control
# characters but newline and tab, lone surrogates, bidi overrides, which a
# hand-edited log could hold though the server removes them), and line or
# paragraph separators, made plain line breaks.
SEPARATOR_BREAKS = {ord(ch): "\n" for ch in LINE_SEPARATORS}


def clean(text):
    """Return user text as a transcript keeps it: see SEPARATOR_BREAKS."""
    return strip_controls(str(text).translate(SEPARATOR_BREAKS))


def clean_name(text):
    """Return a name (or other one-line field) as clean(), on one line, without direction marks."""
    return "".join(ch for ch in clean(text) if ch not in DIRECTION_MARKS).replace("\n", " ")


def day_words(when):
    """Return the local date of a Unix time in words: Sunday 29 November 2026."""
    local = time.localtime(when)
    return "%s %d %s" % (time.strftime("%A", local), local.tm_mday,
                         time.strftime("%B %Y", local))


def local_day(when):
    return time.localtime(when)[:3]


def stamp(when):
    """Return a Unix time as a spreadsheet reads it: 2026-11-29 09:00:05 (local)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


def iso_time(when):
    """Return a Unix time in ISO 8601 with the local offset, for machines (HTML's <time>)."""
    return datetime.datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")


def zone_words(when):
    """Return this computer's time zone at a time: CET, UTC+01:00."""
    moment = datetime.datetime.fromtimestamp(when).astimezone()
    offset = moment.strftime("%z")
    utc = "UTC%s:%s" % (offset[:3], offset[3:])
    name = moment.tzname()
    return utc if not name or name.startswith(("UTC", "GMT", "+", "-")) else "%s, %s" % (name, utc)


# Units of a duration in words, largest first.
DURATION_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def duration_words(seconds):
    """Return a duration in words, to the minute: 1 hour 5 minutes, under a minute."""
    seconds = int(max(0, seconds))
    parts = []
    for unit, size in DURATION_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append("%d %s%s" % (count, unit, "" if count == 1 else "s"))
    return " ".join(parts) or "under a minute"


class Entry:
    """One line of the conversation: `kind` is a key of the formats' layout tables.

    Kinds: message, announcement, room (a change of the room's rules),
    joined, left, hand, cleared, lost_deletion, day (a new date begins).
    `name` is the person's (None for the room's lines); `text` the words
    shown; `to` the recipient of a private message; `deleted` when the
    teacher deleted it.
    """

    __slots__ = ("kind", "time", "name", "text", "to", "teacher", "action", "deleted", "about")

    def __init__(self, kind, when, text, name=None, to=None, teacher=False, action=False,
                 about=None):
        self.kind = kind
        self.time = when
        self.text = text
        self.name = name
        self.to = to
        self.teacher = teacher
        self.action = action
        self.deleted = None
        self.about = about

    @property
    def deleted_mark(self):
        """Return the words marking a message the teacher deleted, or None."""
        return DELETED_MARK % clock(self.deleted) if self.deleted is not None else None


class Person:
    """What the summary says of one person: messages sent, first and last time."""

    def __init__(self, name):
        self.name = name
        self.teacher = False
        self.messages = 0
        self.private = 0
        self.first = None
        self.last = None

    def wrote(self, when, private):
        if private:
            self.private += 1
        else:
            self.messages += 1
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)


class Lesson:
    """The lines and the summary of a transcript, from records in the order written."""

    def __init__(self, records, private=False, title=None):
        """Read records (any iterable: a log is read as it goes); see RECORD_READERS."""
        self.title = clean_name(title) if title else "Chat transcript"
        self.private = private
        self.entries = []
        self.people = {}  # name_key -> Person, in the order they first appear
        self.private_left_out = 0
        self.private_shown = 0
        self.announcements = 0
        self.deletions = 0
        self._by_id = {}  # id -> the Entry of a message or announcement shown
        self._seen = set()  # every message and notice id read
        self._kick_reasons = {}  # name key -> the reason of a kick whose left is to come
        self.records = 0  # records read, shown or not
        for record in records:
            if problem(record) is None:
                self.records += 1
                if record["type"] in RECORD_READERS:
                    RECORD_READERS[record["type"]](self, record)
        times = [entry.time for entry in self.entries]
        self.first = min(times) if times else None
        self.last = max(times) if times else None
        self.one_day = not times or local_day(self.first) == local_day(self.last)
        self._mark_days()

    # --- the summary ---------------------------------------------------------

    def when(self, moment):
        """Return a time as the summary shows it: HH:MM, with the date when days differ."""
        if moment is None:
            return ""
        if self.one_day:
            return clock(moment)
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))

    def span_words(self):
        """Return the lesson's time span: Sunday 29 November 2026, 09:00 to 09:54 (54 minutes)."""
        if not self.entries:
            return "Nothing was said in this log."
        first, last = self.first, self.last
        if self.one_day:
            span = "%s, %s to %s" % (day_words(first), clock(first), clock(last))
        else:
            span = "%s %s to %s %s" % (day_words(first), clock(first), day_words(last), clock(last))
        return "%s (%s)" % (span, duration_words(last - first))

    def notes(self):
        """Return the sentences the header adds under the time span."""
        notes = []
        if self.entries:
            notes.append("Times are this computer's local time (%s)." % zone_words(self.first))
        if self.private_left_out:
            notes.append(self.left_out_words() + " of this transcript.")
        elif self.private:
            notes.append("Private messages are included (%d), each marked with whom it went to."
                         % self.private_shown)
        if self.announcements:
            notes.append("The teacher made %s." % counted(self.announcements, "announcement"))
        if self.deletions:
            notes.append("Messages the teacher deleted are kept in this record, marked as "
                         "deleted.")
        return notes

    def left_out_words(self):
        """Return how many private messages were left out, in words."""
        count = self.private_left_out
        return "%d private message%s left out" % (count, " was" if count == 1 else "s were")

    def summary(self):
        """Return the people in the order they first appear."""
        return list(self.people.values())

    # --- reading the records ---------------------------------------------------

    def _person(self, name, teacher=False):
        person = self.people.setdefault(name_key(name), Person(clean_name(name)))
        person.teacher = person.teacher or bool(teacher)
        return person

    def _numbered(self, record):
        """Tell whether a message or notice is new (a window may pass one twice)."""
        if record["id"] in self._seen:
            return False
        self._seen.add(record["id"])
        return True

    def _message(self, record):
        if not self._numbered(record):
            return
        to = record.get("to")
        if to is not None and not self.private:
            self.private_left_out += 1
            return
        self.private_shown += to is not None
        text = record["text"]
        person = self._person(record["from"], record.get("teacher"))
        person.wrote(record["time"], to is not None)
        entry = Entry("message", record["time"], clean(text[4:] if is_action(text) else text),
                      name=person.name, to=None if to is None else clean_name(to),
                      teacher=bool(record.get("teacher")), action=is_action(text))
        self._by_id[record["id"]] = entry
        self.entries.append(entry)

    def _notice(self, record):
        if not self._numbered(record):
            return
        about = record.get("about")
        if about in SHOWN_BY_RECORD:
            return
        if about is None:
            self.announcements += 1
        entry = Entry("announcement" if about is None else "room", record["time"],
                      clean(record["text"]), about=about)
        self._by_id[record["id"]] = entry
        self.entries.append(entry)

    def _joined(self, record):
        person = self._person(record["name"], record.get("teacher"))
        self.entries.append(Entry("joined", record["time"],
                                  JOINED_WORDS[bool(record.get("teacher"))], name=person.name))

    def _left(self, record):
        person = self._person(record["name"])
        words = clean_name(left_words(record["reason"]))
        reason = self._kick_reasons.pop(name_key(record["name"]), None)
        if record["reason"] == "kicked" and reason is not None:
            words = KICKED_WORDS % (words, clean(reason))
        self.entries.append(Entry("left", record["time"], words, name=person.name))

    def _kick(self, record):
        """The teacher's reason, for the `left` record that follows."""
        self._kick_reasons[name_key(record["name"])] = record["reason"]

    def _stopped(self, record):
        """The server stopped; said only when someone was in the room then."""
        names = [clean_name(name) for name in record.get("names") or [] if isinstance(name, str)]
        if not names and not record.get("more_names"):
            return
        more = MORE_NAMES_WORDS % record["more_names"] if record.get("more_names") else ""
        words = STOPPED_WORDS % (": " + ", ".join(names) + more if names else "")
        self.entries.append(Entry("room", record["time"], words, about="stopped"))

    def _hand(self, record):
        person = self._person(record["name"])
        words = HAND_WORDS[record["up"]]
        if record.get("left") is not None and not record["up"]:
            words = HAND_LEFT_WORDS
        self.entries.append(Entry("hand", record["time"], words, name=person.name))

    def _hands_lowered(self, record):
        self.entries.append(Entry("room", record["time"], HANDS_LOWERED_WORDS
                                  % counted(record["count"], "hand"), about="hands_lowered"))

    def _log_cut(self, record):
        self.entries.append(Entry("room", record["time"], LOG_CUT_WORDS % (
            clean_name(record["address"]), format_size(record["bytes"])), about="log_cut"))

    def _log_left_out(self, record):
        self.entries.append(Entry("room", record["time"], LOG_LEFT_OUT_WORDS % (
            counted(record["records"], "record"), format_size(record["bytes"]),
            clean_name(record["address"])), about="log_left_out"))

    def _deleted(self, record):
        self.deletions += 1
        entry = self._by_id.get(record["id"])
        if entry is None:
            self.entries.append(Entry("lost_deletion", record["time"],
                                      LOST_DELETION_WORDS % record["id"]))
        elif entry.deleted is None:
            entry.deleted = record["time"]

    def _cleared(self, record):
        self.entries.append(Entry("cleared", record["time"], CLEARED_WORDS))

    def _mark_days(self):
        """Put a `day` line before each entry whose date is not the one before it."""
        marked, day = [], None
        for entry in self.entries:
            if day is not None and local_day(entry.time) != day:
                marked.append(Entry("day", entry.time, day_words(entry.time)))
            day = local_day(entry.time)
            marked.append(entry)
        self.entries = marked


# What each kind of record adds to the lesson; saved_state and rule (the
# rules, for the server's restart) add nothing, and frames a window receives
# that no log holds (room_state, welcome, ...) are passed over.
RECORD_READERS = {
    "message": Lesson._message,
    "notice": Lesson._notice,
    "joined": Lesson._joined,
    "left": Lesson._left,
    "hand": Lesson._hand,
    "hands_lowered": Lesson._hands_lowered,
    "log_cut": Lesson._log_cut,
    "log_left_out": Lesson._log_left_out,
    "deleted": Lesson._deleted,
    "cleared": Lesson._cleared,
    "kick": Lesson._kick,
    "stopped": Lesson._stopped,
}
