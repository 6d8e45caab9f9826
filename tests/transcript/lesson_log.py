"""A lesson's log for the transcript tests: its records (hostile texts among them), a
log file of them with bad lines, and how a transcript must show them."""

import html.parser
import json
import re
import subprocess
import sys

import pytest

from helpers import ROOT
from chat_app.wire.text_format import INDENT

START = 1764410000.0  # a morning in November 2025

# What no transcript may keep: control characters but newline and tab,
# and the bidi embeddings, overrides and isolates.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

HOSTILE = {
    "script": "<script>alert('x')</script> & <img src=x onerror=alert(1)> <a href='http://e'>l</a>",
    "controls": "bell\x07 clear\x1b[2J nul\x00 c1\x9b end",
    "bidi": "price \u202e0001\u202c txt.exe \u2066isolated\u2069",
    "long": "x" * 3990 + " long end",
    "emoji": "👋🏽 family 👨‍👩‍👧 flag 🇫🇷",
    "rtl": "שלום עולם مرحبا بالعالم",
    "lines": "first line\nsecond | line\n\nfourth\tafter a tab",
    "markdown": "| a | *b* _c_ `d` [e](http://f) ![g](h) <b>i</b> ~~j~~ $k$ # l \\ &amp;",
    "formula": "=HYPERLINK(\"http://evil\",\"click\")",
    "plus": "+1 agreed",
    "minus": "-2 degrees",
    "at": "@SUM(A1:A2)",
}


def unwrap_rows(text):
    """Return plain text with each wrapped line whole again (text_format.wrap cut it at 80
    columns and indented its further rows); a long run of one character was cut without a
    space."""
    lines = []
    for row in text.split("\n"):
        if row.startswith(INDENT) and lines:
            rest = row[len(INDENT):]
            joint = "" if lines[-1][-1:] == rest[:1] == "x" else " "
            lines[-1] += joint + rest
        else:
            lines.append(row)
    return "\n".join(lines)


def shown(text):
    """Return a text as every transcript must show it: FORBIDDEN characters removed."""
    return FORBIDDEN.sub("", text)


def lesson_records():
    """Return a lesson's log records, in order, as the server writes them."""
    records = [
        {"type": "joined", "name": "Ms_K", "time": START, "teacher": True},
        {"type": "joined", "name": "amy", "time": START + 5},
        {"type": "joined", "name": "bob", "time": START + 6},
        {"type": "joined", "name": "carol", "time": START + 7},
        {"type": "message", "id": 1, "from": "Ms_K", "text": "Good morning", "time": START + 10,
         "teacher": True},
    ]
    number = 1
    for offset, (key, text) in enumerate(sorted(HOSTILE.items())):
        number += 1
        sender = "amy" if offset % 2 else "bob"
        records.append({"type": "message", "id": number, "from": sender, "text": text,
                        "time": START + 60 + offset})
    records += [
        {"type": "message", "id": 20, "from": "amy", "text": "/me waves", "time": START + 100},
        {"type": "message", "id": 21, "from": "amy", "text": "secret <b>x</b>", "time": START + 110,
         "to": "bob"},
        {"type": "message", "id": 22, "from": "bob", "text": "delete me", "time": START + 120},
        {"type": "hand", "name": "bob", "up": True, "time": START + 125},
        {"type": "notice", "id": 23, "text": "The teacher locked the room.", "time": START + 130,
         "about": "lock"},
        {"type": "saved_state", "locked": True, "slow": 0, "private": True, "muted": [],
         "hands": [{"name": "bob", "time": START + 125}], "time": START + 130},
        {"type": "notice", "id": 24, "text": "Quiz <now>!", "time": START + 140},
        {"type": "deleted", "id": 22, "time": START + 150},
        {"type": "notice", "id": 25, "text": "The teacher deleted a message.", "time": START + 150,
         "about": "delete"},
        {"type": "hand", "name": "bob", "up": False, "time": START + 155},
        {"type": "cleared", "time": START + 160},
        {"type": "notice", "id": 26, "text": "The teacher cleared the room.", "time": START + 160,
         "about": "clear"},
        {"type": "message", "id": 27, "from": "Ms_K", "text": "Bye", "time": START + 3600,
         "teacher": True},
        {"type": "left", "name": "bob", "time": START + 3700, "reason": "disconnected"},
    ]
    return records


# Lines that are no record, put in the log after the record at each index.
BAD_LINES = {
    3: b"this is not JSON\n",
    6: b"[1, 2, 3]\n",
    9: b'{"type": "bogus", "time": 1}\n',
    12: b'{"type": "message", "id": 99, "text": "no sender", "time": 1}\n',
}
TORN_LAST = b'{"type":"message","id":98,"from":"amy","te'


def write_log(path, records, bad=BAD_LINES, torn=TORN_LAST):
    """Write records as JSON lines with bad lines among them; return the bad lines' numbers."""
    numbers = []
    with open(path, "wb") as handle:
        line = 0
        for index, record in enumerate(records):
            handle.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
            line += 1
            if index in bad:
                handle.write(bad[index])
                line += 1
                numbers.append(line)
        if torn:
            handle.write(torn)
            numbers.append(line + 1)
    return numbers


@pytest.fixture
def log(tmp_path):
    path = str(tmp_path / "lesson.log")
    write_log(path, lesson_records())
    return path


def room_texts(private=False):
    """Return the texts of the messages a transcript shows, as it must show them."""
    return [shown(record["text"]) for record in lesson_records()
            if record["type"] == "message" and not record["text"].startswith("/me ")
            and (private or "to" not in record)]


def run_module(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "chat_app", "transcript"] + list(args),
                          capture_output=True, timeout=60, cwd=cwd or ROOT,
                          stdin=subprocess.DEVNULL)


class PageParser(html.parser.HTMLParser):
    """Collect a page's elements, attributes, and the text of its message cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.said = [], [], []
        self._in_said = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        if ("class", "said") in attrs:
            self._in_said = 1
            self.said.append("")
        elif self._in_said:
            self._in_said += 1

    def handle_endtag(self, tag):
        if self._in_said:
            self._in_said -= 1

    def handle_data(self, data):
        if self._in_said:
            self.said[-1] += data
