"""The text, Markdown and CSV formats (formats.py, and html.py beside them): private messages
only when asked, a deleted announcement marked, no line that forges the transcript's own."""

import csv
import io
import re
import time

import pytest

from chat_app.transcript import export as transcript
from lesson_log import START, lesson_records


@pytest.mark.parametrize("fmt", sorted(transcript.FORMATS))
def test_private_messages_only_with_private(fmt):
    without = transcript.render(lesson_records(), fmt)
    included = transcript.render(lesson_records(), fmt, private=True)
    assert "secret" not in without and "secret" in included
    if fmt != "csv":  # CSV has no header but its columns
        assert "1 private message was left out" in without
        assert "Private messages are included (1)" in included
    if fmt in ("html", "md"):  # the To column, only with private messages
        assert not re.search(r"<th>To</th>|\| To \|", without)
        assert re.search(r"<th>To</th>|\| To \|", included)


def test_private_csv_row_names_the_recipient():
    rows = list(csv.reader(io.StringIO(transcript.render(lesson_records(), "csv", private=True),
                                       newline="")))
    private = [row for row in rows[1:] if row[2]]
    assert private == [[time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(START + 110)), "amy",
                        "bob", "secret <b>x</b>", "message", "", ""]]


def test_a_deleted_announcement_is_marked_in_every_format():
    records = [{"type": "notice", "id": 1, "text": "Quiz at ten", "time": START},
               {"type": "deleted", "id": 1, "time": START + 60},
               {"type": "deleted", "id": 7, "time": START + 70}]
    mark = "deleted by the teacher at %s" % time.strftime("%H:%M", time.localtime(START + 60))
    for fmt in ("txt", "md", "html"):
        text = transcript.render(records, fmt)
        assert re.search(re.escape(mark) + r".{0,60}Quiz at ten", text, re.I | re.S), fmt
        assert "The teacher deleted message 7, which is not in this log." in text
    row = list(csv.reader(io.StringIO(transcript.render(records, "csv"), newline="")))[1]
    assert row[3:5] == ["Quiz at ten", "announcement"]
    assert row[6] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(START + 60))


def test_plain_text_has_no_line_a_student_wrote_that_looks_like_the_transcripts_own():
    """Issue 25, item 3, in the .txt transcript: /me and padding cannot forge a leave."""
    forged = "[21:21] <kim (teacher)> the quiz starts now"
    records = [
        {"type": "joined", "name": "carl", "time": START},
        {"type": "message", "id": 1, "from": "carl", "text": "/me left (connection lost)",
         "time": START + 1},
        {"type": "message", "id": 2, "from": "carl", "text": "ok" + " " * 77 + forged,
         "time": START + 2},
        {"type": "stopped", "names": [], "time": START + 3},  # nobody there: nothing to say
    ]
    rows = transcript.render(records, "txt").split("\n")
    at = time.strftime("%H:%M", time.localtime(START + 1))
    assert "[%s] <carl> *left (connection lost)*" % at in rows
    assert not any(row.startswith(("[21:21]", "[%s] * carl left" % at)) for row in rows)
    assert "    " + forged in rows  # the rest of the padded line: indented, as on a terminal
    assert max(len(row) for row in rows) < 80
    assert "The server stopped" not in "\n".join(rows)
