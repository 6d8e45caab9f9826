"""`chat.pyz transcript` and `python3 -m chat_app transcript`, run as a person runs them, on
the lesson's log and on logs written by a real server: every format, the output file,
and what it says when there is nothing to read."""

import csv
import html
import io
import os
import re
import subprocess
import sys
import time

import pytest

from chat_app.transcript import export as transcript
from lesson_log import (  # noqa: F401  (log: a fixture)
    FORBIDDEN,
    HOSTILE,
    START,
    PageParser,
    lesson_records,
    log,
    room_texts,
    run_module,
    shown,
    unwrap_rows,
)

pytestmark = pytest.mark.system


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
