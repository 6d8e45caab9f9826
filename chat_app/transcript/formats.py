"""Lay out a transcript's Lesson as plain text, Markdown or CSV.

Each format is a table from the kind of a line (lesson.Entry) to
how it is laid out, so a new kind of line is one row in each table.  Text
from the log is made inert for the format it lands in: plain text loses
control characters and direction marks (as on a terminal); Markdown gets
every character it would interpret escaped; CSV cells that a spreadsheet
would run as a formula get a leading apostrophe.
"""

import csv
import io

from ..wire.protocol import counted
from ..wire.text_format import (
    ACTION_MARK,
    INDENT,
    SESSION_COLUMNS,
    TEACHER_MARK,
    clock,
    safe,
    safe_line,
    wrap,
)
from .lesson import stamp

PRIVATE_MARK = "(private to %s) "


def name_label(entry_or_person):
    """Return a name with its teacher mark, as one-line text."""
    return entry_or_person.name + (TEACHER_MARK if entry_or_person.teacher else "")


def person_words(lesson, person):
    """Return what the summary says of one person, in a sentence's words."""
    if not person.messages and not person.private:
        return "no messages"
    words = counted(person.messages, "message")
    if lesson.private:
        words += " and %d private" % person.private
    return "%s, %s to %s" % (words, lesson.when(person.first), lesson.when(person.last))


# --- plain text ----------------------------------------------------------------

def _txt_lines(prefix, text):
    """Return text after a prefix, its further lines indented as on the terminal.

    Wrapped as `nc` users read it (text_format.wrap, SESSION_COLUMNS), so
    that shown in a terminal, no text can start a row that looks like the
    transcript's own.
    """
    first, *rest = safe(text).split("\n")
    return wrap("\n".join([prefix + first] + [INDENT + line for line in rest]), SESSION_COLUMNS)


def _txt_mark(entry):
    return "[%s] " % entry.deleted_mark if entry.deleted is not None else ""


def _txt_message(entry):
    mark = _txt_mark(entry)
    private = PRIVATE_MARK % safe_line(entry.to) if entry.to is not None else ""
    name = safe_line(name_label(entry))
    text = ACTION_MARK + entry.text + ACTION_MARK if entry.action else entry.text
    # As on the terminal: all a person wrote follows "<name>", an action between asterisks.
    return _txt_lines("[%s] <%s> " % (clock(entry.time), name), mark + private + text)


def _txt_event(entry):
    return "[%s] * %s %s" % (clock(entry.time), safe_line(entry.name), safe_line(entry.text))


def _txt_room(entry):
    return _txt_lines("[%s] -- " % clock(entry.time), entry.text)


def _txt_announcement(entry):
    return _txt_lines("[%s] *** " % clock(entry.time), _txt_mark(entry) + entry.text)


def _txt_day(entry):
    return "--- %s ---" % entry.text


TXT_LINES = {
    "message": _txt_message,
    "announcement": _txt_announcement,
    "room": _txt_room,
    "joined": _txt_event,
    "left": _txt_event,
    "hand": _txt_event,
    "cleared": _txt_room,
    "lost_deletion": _txt_room,
    "day": _txt_day,
}


def render_txt(lesson):
    """Return the lesson as plain lines, like the terminal client's."""
    lines = [safe_line(lesson.title), "=" * len(safe_line(lesson.title)), lesson.span_words()]
    lines += lesson.notes()
    people = lesson.summary()
    if people:
        lines += ["", "Who wrote:"]
        lines += ["  %s: %s" % (safe_line(name_label(person)), person_words(lesson, person))
                  for person in people]
    lines.append("")
    lines += [TXT_LINES[entry.kind](entry) for entry in lesson.entries]
    return "\n".join(lines) + "\n"


# --- Markdown -----------------------------------------------------------------

# What Markdown (CommonMark and GitHub's tables, strikethrough and math)
# would read as markup in a table cell or a heading, escaped so text stays
# text; a line break becomes <br>, the only break a table cell can hold.
MARKDOWN_ESCAPES = dict(
    [(ord(ch), "\\" + ch) for ch in "\\`*_[]|~#$!"]
    + [(ord("&"), "&amp;"), (ord("<"), "&lt;"), (ord(">"), "&gt;"), (ord("\n"), "<br>")]
)


def md(text):
    """Return text escaped for a Markdown table cell or heading."""
    return str(text).translate(MARKDOWN_ESCAPES)


def _md_name(who):
    """Return the name of an Entry or a Person for a Markdown cell, with its teacher mark."""
    return md(who.name) + (" *(teacher)*" if who.teacher else "")


def _md_marked(entry, text):
    """Return a cell's text after the deleted mark, if the teacher deleted it."""
    if entry.deleted is None:
        return text
    return "**(%s)** %s" % (md(entry.deleted_mark), text)


def _md_message(entry):
    text = md(entry.text)
    if entry.action:
        text = "\\* %s %s" % (md(entry.name), text)
    return _md_name(entry), _md_marked(entry, text)


def _md_event(entry):
    return md(entry.name), "*%s*" % md(entry.text)


def _md_room(entry):
    return "", "*Room:* %s" % md(entry.text)


def _md_bold(entry):
    return "", "**%s**" % md(entry.text)


def _md_announcement(entry):
    return "", _md_marked(entry, "**Announcement:** %s" % md(entry.text))


MARKDOWN_CELLS = {
    "message": _md_message,
    "announcement": _md_announcement,
    "room": _md_room,
    "joined": _md_event,
    "left": _md_event,
    "hand": _md_event,
    "cleared": _md_bold,
    "lost_deletion": _md_bold,
    "day": _md_bold,
}


def _md_row(cells):
    return "| %s |" % " | ".join(cells)


def _md_summary(lesson):
    heads = ["Name", "Messages"] + (["Private"] if lesson.private else []) + ["First", "Last"]
    rows = [_md_row(heads), _md_row(["---"] * len(heads))]
    for person in lesson.summary():
        private = [str(person.private)] if lesson.private else []
        rows.append(_md_row([_md_name(person), str(person.messages)] + private
                            + [lesson.when(person.first), lesson.when(person.last)]))
    return rows


def render_md(lesson):
    """Return the lesson as Markdown: a heading, the summary and one table of lines."""
    lines = ["# " + md(lesson.title), "", md(lesson.span_words()), ""]
    lines += [md(note) + "  " for note in lesson.notes()]
    if lesson.summary():
        lines += ["", "## Who wrote", ""] + _md_summary(lesson)
    heads = ["Time", "Name"] + (["To"] if lesson.private else []) + ["Text"]
    lines += ["", "## The conversation", "", _md_row(heads), _md_row(["---"] * len(heads))]
    for entry in lesson.entries:
        name, text = MARKDOWN_CELLS[entry.kind](entry)
        to = [md(entry.to or "")] if lesson.private else []
        when = "" if entry.kind == "day" else clock(entry.time)
        lines.append(_md_row([when, name] + to + [text]))
    return "\n".join(lines) + "\n"


# --- CSV ----------------------------------------------------------------------

# The columns: the four people read first, then what a spreadsheet needs to
# sort and filter (the kind of line, the teacher's mark, when it was deleted).
CSV_HEADER = ("time", "name", "to", "text", "kind", "teacher", "deleted")

# A cell starting with one of these is run as a formula by spreadsheets
# (OWASP's "CSV injection"); an apostrophe first makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell):
    """Return a cell a spreadsheet shows as text, never runs."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _csv_kind(entry):
    if entry.kind == "message":
        return "action" if entry.action else "message"
    if entry.kind == "room":
        return "room " + entry.about
    return entry.kind


def _csv_row(entry):
    return [stamp(entry.time), entry.name or "", entry.to or "", entry.text, _csv_kind(entry),
            "teacher" if entry.teacher else "",
            stamp(entry.deleted) if entry.deleted is not None else ""]


def render_csv(lesson):
    """Return the lesson as CSV rows under CSV_HEADER (the date is in each time)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for entry in lesson.entries:
        if entry.kind != "day":
            writer.writerow([inert(cell) for cell in _csv_row(entry)])
    return out.getvalue()
