"""chat.pyz transcript: a --log file with hostile text, in every format, parsed back."""

import csv
import html
import html.parser
import io
import json
import os
import re
import subprocess
import sys
import time

import pytest

from helpers import ROOT
from chat_app.transcript import export as transcript
from chat_app.wire.text_format import INDENT
from chat_app.transcript.log_reader import MAX_RECORD_BYTES

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


# --- reading ------------------------------------------------------------------

def test_torn_and_foreign_lines_are_skipped_with_their_line_numbers(tmp_path):
    path = str(tmp_path / "lesson.log")
    numbers = write_log(path, lesson_records())
    records, warnings = transcript.read_log(path)
    assert records == lesson_records()
    assert len(warnings) == len(numbers) == 5
    for number, warning in zip(numbers, warnings):
        assert warning.startswith("%s, line %d, was skipped: " % (path, number))
    assert "not valid JSON" in warnings[0] and "JSON object" in warnings[1]
    assert "unknown type 'bogus'" in warnings[2] and "'from'" in warnings[3]
    assert "cut off" in warnings[4]


def test_an_over_long_line_is_skipped_without_losing_the_next(tmp_path):
    path = str(tmp_path / "lesson.log")
    good = {"type": "joined", "name": "amy", "time": START}
    with open(path, "wb") as handle:
        handle.write(b'{"type":"notice","text":"' + b"x" * (MAX_RECORD_BYTES * 3) + b'"}\n')
        handle.write(json.dumps(good).encode() + b"\n")
    records, warnings = transcript.read_log(path)
    assert records == [good]
    assert len(warnings) == 1 and "line 1, was skipped: Longer than" in warnings[0]


# --- every format -------------------------------------------------------------

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


def test_html_is_one_page_with_nothing_active_and_every_text_as_written(log, tmp_path):
    out = str(tmp_path / "lesson.html")
    assert run_module(log, "-o", out).returncode == 0
    with open(out, encoding="utf-8") as handle:
        page = handle.read()
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert set(parser.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2",
                                "p", "table", "tr", "th", "td", "span", "bdi", "time"}
    assert not [name for name in parser.attributes if name.startswith("on") or name in
                ("src", "href")]
    assert '<meta charset="utf-8">' in page and "Content-Security-Policy" in page
    assert not FORBIDDEN.search(page)
    for text in room_texts():
        assert text in parser.said  # whole, lines and all: escaped, never cut
    assert "secret" not in page
    assert "Quiz <now>!" in parser.said and "&lt;script&gt;" in page
    assert 'dir="auto"' in page


def test_csv_has_the_header_and_every_text_inert_for_spreadsheets(log, tmp_path):
    out = str(tmp_path / "lesson.csv")
    assert run_module(log, "-o", out).returncode == 0
    with open(out, "rb") as handle:
        data = handle.read()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["time", "name", "to", "text", "kind", "teacher", "deleted"]
    assert all(len(row) == len(rows[0]) for row in rows)
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
    texts = [row[3] for row in rows[1:] if row[4] == "message"]
    expected = [("'" + text if text[:1] in "=+-@" else text) for text in room_texts()]
    assert texts == expected
    assert not FORBIDDEN.search(data.decode("utf-8-sig").replace("\r\n", ""))
    assert [row[4] for row in rows[1:]].count("announcement") == 1
    assert rows[1][0] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(START))


def test_markdown_keeps_one_table_row_per_line_and_escapes_markup(log, tmp_path):
    out = str(tmp_path / "lesson.md")
    assert run_module(log, "-o", out).returncode == 0
    with open(out, encoding="utf-8") as handle:
        text = handle.read()
    conversation = text.split("## The conversation")[1]
    rows = [line for line in conversation.splitlines() if line.startswith("|")][2:]
    shown_records = [r for r in lesson_records() if r["type"] in ("message", "joined", "left",
                     "hand", "cleared") and "to" not in r]
    shown_records += [r for r in lesson_records() if r["type"] == "notice"
                      and r.get("about") not in ("delete", "clear")]
    assert len(rows) == len(shown_records)
    for row in rows:  # four cells: Time, Name, Text; no pipe from a message splits a row
        assert len(re.findall(r"(?<!\\)\|", row)) == 4, row
    cells = [re.split(r"(?<!\\)\|", row)[3].strip() for row in rows]
    for hostile in ("markdown", "script", "lines"):
        assert unmarkdown(cells, shown(HOSTILE[hostile]))
    assert "<script>" not in text and "<img" not in text


def unmarkdown(cells, text):
    """Tell whether one cell reads back, unescaped, as text."""
    for cell in cells:
        plain = re.sub(r"\\(.)", r"\1", cell.replace("<br>", "\n"))
        if html.unescape(plain) == text:
            return True
    return False


def test_plain_text_reads_like_the_terminal_and_holds_no_control_character(log):
    result = run_module(log)
    assert result.returncode == 0
    out = result.stdout.decode("utf-8")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out)
    at = time.strftime("%H:%M", time.localtime(START + 10))
    assert "[%s] <Ms_K (teacher)> Good morning" % at in out
    assert ("[%s] <bob> %s" % (time.strftime("%H:%M", time.localtime(START + 60 + 7)),
                               HOSTILE["long"])) in unwrap_rows(out).splitlines()  # bob's 8th
    assert "\n    second | line\n    \n    fourth    after a tab\n" in out
    assert "<amy> *waves*" in out  # an action, marked as on the terminal: no "* amy ..."
    assert "* amy waves" not in out
    assert "-- The teacher locked the room." in out and "*** Quiz <now>!" in out
    deleted_at = time.strftime("%H:%M", time.localtime(START + 150))
    assert "<bob> [deleted by the teacher at %s] delete me" % deleted_at in out
    assert "-- The teacher cleared the room's history" in out
    assert "The teacher deleted a message." not in out  # shown by the mark instead
    assert "* bob raised a hand" in out and "* bob left (connection lost)" in out
    assert "saved_state" not in out
    assert "1 private message was left out" in out
    stderr = result.stderr.decode("utf-8")
    assert stderr.count("was skipped") == 5 and "add --private" in stderr


# --- private messages -----------------------------------------------------------

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


# --- the summary ----------------------------------------------------------------

def test_summary_figures_are_the_log_s(log):
    records = lesson_records()
    text = transcript.render(records, "md", private=True)
    summary = text.split("## Who wrote")[1].split("##")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in summary.splitlines() if line.startswith("|")][2:]
    clock = lambda when: time.strftime("%H:%M", time.localtime(when))  # noqa: E731
    expected = []
    for name, label in (("Ms_K", "Ms\\_K *(teacher)*"), ("amy", "amy"), ("bob", "bob"),
                        ("carol", "carol")):
        sent = [r for r in records if r["type"] == "message" and r["from"] == name]
        room = [r for r in sent if "to" not in r]
        times = [r["time"] for r in sent]
        expected.append([label, str(len(room)), str(len(sent) - len(room)),
                         clock(min(times)) if times else "", clock(max(times)) if times else ""])
    assert rows == expected
    assert expected[1][1:3] == ["7", "1"] and expected[3][1] == "0"
    assert "(1 hour 1 minute)" in text  # START to START + 3700
    assert "The teacher made 1 announcement." in text


def test_a_lesson_over_midnight_shows_each_date():
    midnight = time.mktime((2025, 11, 29, 23, 59, 0, 0, 0, -1))
    records = [{"type": "message", "id": 1, "from": "amy", "text": "late", "time": midnight},
               {"type": "message", "id": 2, "from": "amy", "text": "later",
                "time": midnight + 120}]
    text = transcript.render(records, "txt")
    assert "--- Sunday 30 November 2025 ---" in text
    assert "Saturday 29 November 2025 23:59 to Sunday 30 November 2025 00:01 (2 minutes)" in text
    assert "1 message" not in text and "2 messages, 2025-11-29 23:59 to 2025-11-30 00:01" in text


def test_render_takes_a_window_s_frames_once_and_passes_over_the_rest():
    message = {"type": "message", "id": 5, "from": "amy", "text": "hi", "time": START}
    frames = [{"type": "welcome", "name": "Ms_K", "users": [], "history": [message]},
              message, dict(message), {"type": "room_state", "locked": True, "time": START},
              {"type": "message", "id": 6, "from": "amy"}]
    assert transcript.render(frames, "txt").count("<amy> hi") == 1
    with pytest.raises(ValueError):
        transcript.render(frames, "pdf")


# --- the command ----------------------------------------------------------------

def test_the_format_comes_from_the_output_name_and_a_file_is_replaced_whole(log, tmp_path):
    out = tmp_path / "lesson.HTM"
    out.write_text("an older transcript")
    os.chmod(str(out), 0o640)
    result = run_module(log, "-o", str(out), "--private")
    assert result.returncode == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert oct(os.stat(str(out)).st_mode & 0o777) == oct(0o640)
    assert b"It replaced the file that was there." in result.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["lesson.HTM", "lesson.log"]  # no temp file


def test_a_failed_save_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    out = tmp_path / "lesson.txt"
    out.write_text("kept")

    def refuse(source, target):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        transcript.save(str(out), "new", "txt")
    assert out.read_text() == "kept" and os.listdir(str(tmp_path)) == ["lesson.txt"]


def test_the_log_is_never_overwritten(log):
    result = run_module(log, "-o", log, "--format", "html")
    assert result.returncode == 2 and b"is the log itself" in result.stderr
    assert transcript.read_log(log)[0] == lesson_records()


@pytest.mark.parametrize("content, words", [
    (None, b"cannot read the log"),
    (b"", b"it is empty"),
    (b"hello\nworld\n", b"none of its 2 lines is a chat record"),
])
def test_nothing_to_read_says_what_to_do(tmp_path, content, words):
    path = tmp_path / "lesson.log"
    if content is not None:
        path.write_bytes(content)
    result = run_module(str(path))
    assert result.returncode == 1
    assert words in result.stderr and b"server --log FILE" in result.stderr
    assert result.stdout == b""


def test_chat_pyz_transcript(pyz, log, tmp_path):
    result = subprocess.run([sys.executable, pyz, "transcript", log, "--format", "csv"],
                            capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0
    rows = list(csv.reader(io.StringIO(result.stdout.decode("utf-8"), newline="")))
    assert rows[0][:4] == ["time", "name", "to", "text"]
    assert len(rows) == 1 + len([r for r in lesson_records() if r["type"] in (
        "message", "joined", "left", "hand", "cleared") and "to" not in r]) + 2  # 2 notices
    assert b"lesson.log, line 5, was skipped" in result.stderr


def test_a_log_written_by_a_real_server(make_server, tmp_path):
    path = str(tmp_path / "room.log")
    server = make_server("--log", path)
    amy, bob = server.client(), server.client()
    amy.join("amy")
    bob.join("bob")
    said = [HOSTILE["script"], HOSTILE["lines"], HOSTILE["bidi"], HOSTILE["rtl"]]
    for text in said:
        amy.send({"type": "say", "text": text})
        bob.expect("message", text=shown(text))
    bob.send({"type": "say", "text": "=1+1"})
    amy.expect("message", text="=1+1")
    bob.send({"type": "leave"})
    amy.expect("left", name="bob")
    amy.send({"type": "leave"})
    server.wait_connections(0)
    amy.close()
    bob.close()
    server.close()
    records, warnings = transcript.read_log(path)
    assert warnings == []
    parser = PageParser()
    parser.feed(transcript.render(records, "html"))
    assert [text for text in parser.said if text in map(shown, said)] == list(map(shown, said))
    rows = list(csv.reader(io.StringIO(transcript.render(records, "csv"), newline="")))
    assert [row[1:4] for row in rows if row[4] == "message"][-1] == ["bob", "", "'=1+1"]
    assert [row[1:5] for row in rows if row[4] in ("joined", "left")] == [
        ["amy", "", "joined", "joined"], ["bob", "", "joined", "joined"],
        ["bob", "", "left", "left"], ["amy", "", "left", "left"]]


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


def test_an_unknown_output_name_gives_plain_text_and_says_so(log, tmp_path):
    out = tmp_path / "lesson.doc"
    result = run_module(log, "-o", str(out))
    assert result.returncode == 0 and b"so plain text; --format chooses another" in result.stderr
    assert out.read_text(encoding="utf-8").startswith("Chat transcript: lesson.log\n")


def test_an_output_folder_that_does_not_exist_is_a_clear_refusal(log, tmp_path):
    result = run_module(log, "-o", str(tmp_path / "nowhere" / "lesson.html"))
    assert result.returncode == 1
    assert b"cannot write the transcript to" in result.stderr
    assert b"Choose a folder you can write to" in result.stderr


@pytest.mark.parametrize("when", [-1, 1e20, float("nan"), "09:00", True])
def test_a_record_whose_time_is_no_date_is_skipped(tmp_path, when):
    path = str(tmp_path / "lesson.log")
    with open(path, "w") as handle:
        handle.write('{"type":"joined","name":"amy","time":%s}\n' % json.dumps(when))
        handle.write('{"type":"joined","name":"bob","time":%d}\n' % START)
    records, warnings = transcript.read_log(path)
    assert [record["name"] for record in records] == ["bob"]
    assert len(warnings) == 1 and "line 1, was skipped" in warnings[0]


def test_a_real_servers_log_keeps_the_kick_reason_and_the_stop(make_server, tmp_path):
    from chat_app.wire import teacher_id
    path = str(tmp_path / "room.log")
    server = make_server("--log", path)
    lee, amy, bob = server.client(), server.client(), server.client()
    lee.join("lee", teacher_token=teacher_id.read_token(server.port))
    amy.join("amy")
    bob.join("bob")
    lee.send({"type": "control", "action": "kick", "name": "bob", "reason": "stop spamming"})
    amy.expect("left", name="bob")
    server.close()
    records, warnings = transcript.read_log(path)
    assert warnings == []
    text = transcript.render(records, "txt")
    assert "* bob was removed by the teacher, who was told: stop spamming" in text
    assert "-- The server stopped, and everyone in the room left then: lee, amy." in text


def test_every_line_the_server_writes_is_read_however_long(tmp_path):
    """A snapshot of a room's 3000 hands is over 64 KiB: the transcript still reads it."""
    from chat_app.relay.moderation import Rules
    from chat_app.wire.protocol import fit_lists
    from chat_app.wire.records import MAX_LOG_LINE_BYTES, SNAPSHOT_CUTS
    rules = Rules()
    for number in range(3000):
        rules.raise_hand("student%04d" % number, START + number)
    _, snapshot = fit_lists(rules.saved_state(START), MAX_LOG_LINE_BYTES, SNAPSHOT_CUTS)
    assert len(snapshot) > 64 * 1024
    path = str(tmp_path / "room.log")
    with open(path, "wb") as handle:
        handle.write(snapshot)
        handle.write(b'{"type":"joined","name":"amy","time":%d}\n' % START)
    records, warnings = transcript.read_log(path)
    assert warnings == []
    assert [record["type"] for record in records] == ["saved_state", "joined"]
    assert len(records[0]["hands"]) == 3000


def test_the_transcript_shows_a_source_cut_from_the_log_and_every_hand_lowered():
    records = [
        {"type": "hand", "name": "amy", "up": True, "time": START},
        {"type": "log_cut", "address": "198.18.0.2", "bytes": 65536, "time": START + 1},
        {"type": "left", "name": "amy", "time": START + 2, "reason": "disconnected"},
        {"type": "hand", "name": "amy", "up": False, "time": START + 2, "left": "disconnected"},
        {"type": "hands_lowered", "count": 12, "time": START + 3},
        {"type": "rule", "action": "lock", "time": START + 4},
        {"type": "log_left_out", "address": "198.18.0.2", "records": 4000, "bytes": 3 * 1024 ** 2,
         "time": START + 5},
    ]
    text = unwrap_rows(transcript.render(records, "txt"))
    assert ("-- From here on, this log keeps nothing more that came from 198.18.0.2 until the "
            "server restarted: that address had filled its share of the log (64K). Everyone in "
            "the room still received it.") in text
    assert "* amy no longer has a hand up: they left" in text
    assert "-- The teacher lowered every raised hand (12 hands)." in text
    assert ("-- So far 4000 records (3M) that came from 198.18.0.2 were left out of this log "
            "after it had filled its share; everyone in the room received them.") in text
    assert "lock" not in text  # the rule's notice shows it, not its record
    assert "room log_cut" in transcript.render(records, "csv")


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
