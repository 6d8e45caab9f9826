"""Lay out a transcript's Lesson as one self-contained HTML page.

The page needs nothing else: its style is inline, it has no scripts, no
images and no links, and its Content-Security-Policy forbids them too, so
even a page edited by hand after it was written loads nothing and runs
nothing.  Every text from the log is escaped (a message "<script>" shows as
those characters).  Text cells are laid out by their own text's direction
(dir="auto", isolated), so right-to-left messages read right and no
message can reorder the page around it; the bidi overrides a hand-edited
log might hold are already removed (lesson.clean).
"""

from html import escape

from ..wire.text_format import clock
from .formats import person_words
from .lesson import iso_time

# Nothing may load or run: only the inline style below.
CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em;
       padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
p.note { margin: .2em 0; color: #555; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1.5em; }
th, td { text-align: start; vertical-align: top; padding: .25em .6em;
         border-bottom: 1px solid #e4e4e4; }
th { background: #f3f3f3; }
td.time { white-space: nowrap; color: #666; font-variant-numeric: tabular-nums; }
td.name { white-space: nowrap; font-weight: 600; }
td.text { white-space: pre-wrap; overflow-wrap: anywhere; unicode-bidi: isolate; width: 100%; }
table.summary { width: auto; min-width: 30em; }
th.number, td.number { text-align: end; font-variant-numeric: tabular-nums; }
.teacher { font-weight: normal; font-size: .8em; color: #fff; background: #2a6f3f;
           border-radius: .6em; padding: 0 .45em; margin-inline-start: .3em; }
.private { color: #6a3fa0; font-style: italic; }
.mark { display: block; font-size: .85em; font-style: italic; color: #a4262c; }
tr.deleted td.text span.said { color: #888; }
tr.announcement td { background: #fff6d6; font-weight: 600; }
tr.room td, tr.event td, tr.cleared td, tr.lost_deletion td { color: #555; font-style: italic; }
tr.cleared td { border-top: 2px solid #a4262c; }
tr.day td { font-weight: 700; background: #f3f3f3; }
@media print { body { margin: 0; max-width: none; } }
"""


def _text_cell(content):
    return '<td class="text" dir="auto">%s</td>' % content


def _name_cell(entry):
    if entry.name is None:
        return '<td class="name"></td>'
    badge = ' <span class="teacher">teacher</span>' if entry.teacher else ""
    return '<td class="name" dir="auto"><bdi>%s</bdi>%s</td>' % (escape(entry.name), badge)


def _mark(entry):
    """Return the deleted mark of an entry the teacher deleted, or nothing."""
    if entry.deleted is None:
        return ""
    return '<span class="mark">%s</span>' % escape(entry.deleted_mark.capitalize())


def _row_class(entry, row_class):
    return row_class + (" deleted" if entry.deleted is not None else "")


def _message(entry):
    parts = [_mark(entry)]
    if entry.to is not None:
        parts.append('<span class="private">private to <bdi>%s</bdi>:</span> ' % escape(entry.to))
    if entry.action:
        parts.append("* <bdi>%s</bdi> " % escape(entry.name))
    parts.append('<span class="said">%s</span>' % escape(entry.text))
    return _row_class(entry, "message"), "".join(parts)


def _plain(row_class):
    def layout(entry):
        return (_row_class(entry, row_class or entry.kind),
                _mark(entry) + '<span class="said">%s</span>' % escape(entry.text))
    return layout


# Each kind of line: its row's class and its text cell's content.
HTML_ROWS = {
    "message": _message,
    "announcement": _plain(None),
    "room": _plain(None),
    "joined": _plain("event"),
    "left": _plain("event"),
    "hand": _plain("event"),
    "cleared": _plain(None),
    "lost_deletion": _plain(None),
    "day": _plain(None),
}


def _row(lesson, entry):
    row_class, content = HTML_ROWS[entry.kind](entry)
    when = "" if entry.kind == "day" else (
        '<time datetime="%s">%s</time>' % (iso_time(entry.time), clock(entry.time)))
    cells = ['<td class="time">%s</td>' % when, _name_cell(entry)]
    if lesson.private:
        cells.append('<td class="name" dir="auto">%s</td>' % escape(entry.to or ""))
    cells.append(_text_cell(content))
    return '<tr class="%s">%s</tr>' % (row_class, "".join(cells))


def _summary(lesson):
    numbers = ["Messages"] + (["Private"] if lesson.private else [])
    heads = (["<th>Name</th>"] + ['<th class="number">%s</th>' % head for head in numbers]
             + ["<th>First</th>", "<th>Last</th>"])
    rows = ["<tr>%s</tr>" % "".join(heads)]
    for person in lesson.summary():
        numbers = [person.messages] + ([person.private] if lesson.private else [])
        cells = [_name_cell(person)]
        cells += ['<td class="number">%d</td>' % number for number in numbers]
        cells += ['<td class="time">%s</td>' % lesson.when(moment)
                  for moment in (person.first, person.last)]
        rows.append('<tr title="%s">%s</tr>'
                    % (escape(person_words(lesson, person)), "".join(cells)))
    return '<table class="summary">\n%s\n</table>' % "\n".join(rows)


def render_html(lesson):
    """Return the lesson as one HTML page that needs no other file."""
    title = escape(lesson.title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="%s">' % CONTENT_POLICY,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % title,
        "<style>%s</style>" % STYLE,
        "</head>",
        "<body>",
        '<h1 dir="auto">%s</h1>' % title,
        '<p class="note">%s</p>' % escape(lesson.span_words()),
    ]
    parts += ['<p class="note">%s</p>' % escape(note) for note in lesson.notes()]
    if lesson.summary():
        parts += ["<h2>Who wrote</h2>", _summary(lesson)]
    heads = ["Time", "Name"] + (["To"] if lesson.private else []) + ["Text"]
    parts += ["<h2>The conversation</h2>", '<table class="conversation">',
              "<tr>%s</tr>" % "".join("<th>%s</th>" % head for head in heads)]
    parts += [_row(lesson, entry) for entry in lesson.entries]
    parts += ["</table>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
