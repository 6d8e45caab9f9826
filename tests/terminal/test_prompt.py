"""Line separators and direction marks in every place text reaches a terminal.

U+2028/U+2029 become a line break indented like any other line of the
message; U+200E, U+200F and U+061C are dropped.  The paths: text_format
itself, a person at nc (the server renders), the teacher's console, and
`chat.pyz client --text`.
"""

import os

import pytest

from helpers import Client
from test_text_client import TerminalClient
from test_text_sessions import person

from chat_app.wire.protocol import DIRECTION_MARKS, LINE_SEPARATORS
from chat_app.wire.text_format import (
    INDENT,
    render,
    render_for_session,
    render_users,
    safe,
    safe_line,
)

SEPARATORS = sorted(LINE_SEPARATORS)
MARKS = sorted(DIRECTION_MARKS)


def test_the_vocabulary_is_the_five_characters():
    assert SEPARATORS == ["\u2028", "\u2029"]
    assert MARKS == ["\u061c", "\u200e", "\u200f"]


def message(text):
    return {"type": "message", "id": 1, "from": "bob", "text": text, "time": 0}


@pytest.mark.parametrize("ch", SEPARATORS)
def test_a_separator_is_an_indented_line_break(ch):
    assert safe("one" + ch + "two") == "one\ntwo"
    for show in (render, render_for_session):
        assert show(message("one" + ch + "two")).endswith("<bob> one\n" + INDENT + "two")
        assert show({"type": "notice", "text": "a" + ch + "b", "time": 0}).endswith(
            "*** a\n" + INDENT + "b")
        assert show(message("/me one" + ch + "two")).endswith("<bob> *one\n" + INDENT + "two*")


@pytest.mark.parametrize("ch", MARKS)
def test_a_direction_mark_is_dropped(ch):
    assert safe("one" + ch + "two") == "onetwo"
    for show in (render, render_for_session):
        assert show(message(ch + "one" + ch + "two" + ch)).endswith("<bob> onetwo")
        assert show({"type": "error", "code": "x", "message": "a" + ch}) == "! a"


@pytest.mark.parametrize("ch", SEPARATORS + ["\n"])
def test_a_line_break_in_a_name_cannot_start_a_line(ch):
    # Names the server accepted have none, but a one-line field must stay one
    # line whatever a server sends (and the console shows refused names).
    assert safe_line("x" + ch + "[12:00] <teacher> hi") == "x [12:00] <teacher> hi"
    fake = "amy" + ch + "[12:00] <teacher> hi"
    for frame in (message("hi"), {"type": "joined", "name": fake, "time": 0},
                  {"type": "left", "name": fake, "time": 0, "reason": "quit"}):
        frame = dict(frame, **({"from": fake, "to": fake} if frame["type"] == "message" else {}))
        assert "\n" not in render(frame)
    assert "\n" not in render_users([fake, "bob"])


def said_with_each(server):
    """Have bob (JSON) say one message per character, then "end"; return bob."""
    bob = Client(server.port)
    bob.join("bob")
    texts = ["one%stwo" % ch for ch in SEPARATORS + MARKS] + ["end"]
    for text in texts:
        bob.send({"type": "say", "text": text})
        bob.expect("message")
    return bob


# What a terminal shows for bob's messages, in order, without the time stamps.
EXPECTED = ["<bob> one", INDENT + "two"] * len(SEPARATORS) + ["<bob> onetwo"] * len(MARKS) + [
    "<bob> end"]


def unstamped(lines):
    return [line.split("] ", 1)[1] if line.startswith("[") else line for line in lines]


def assert_shown(lines):
    start = next(i for i, line in enumerate(lines) if line.endswith("<bob> one"))
    shown = unstamped(lines[start:start + len(EXPECTED)])
    assert shown == EXPECTED
    assert not any(ch in line for line in lines for ch in SEPARATORS + MARKS)


@pytest.mark.system
def test_a_person_at_nc_and_the_teacher_see_them_harmlessly(server):
    amy = person(server, "amy")
    said_with_each(server)
    lines = []
    while not lines or not lines[-1].endswith("<bob> end"):
        lines.append(amy.read_text())
        assert lines[-1] is not None, "amy's connection closed; she read %r" % lines
    assert_shown(lines)
    server.out.wait_for(r"<bob> end")
    assert_shown(server.out.text.splitlines())


@pytest.mark.system
def test_the_text_client_shows_them_harmlessly(pyz, server):
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for(r"Welcome, amy")
        said_with_each(server)
        client.wait_for(r"<bob> end$")
        with client._lock:
            lines = list(client.lines)
        assert_shown(lines)
    finally:
        client.end_input()
        client.finish()


# --- long lines: wrapped by the program, never by the terminal ---------------------

from chat_app.wire.text_format import columns
from chat_app.wire.text_format import MIN_COLUMNS, SESSION_COLUMNS, wrap


def test_rows_break_at_spaces_dropping_them_and_continuations_are_indented():
    forged = "[21:21] *** The teacher locked the room"
    line = "[12:02] <amy> hi" + " " * 200 + forged
    assert wrap(line, 80) == "[12:02] <amy> hi\n" + INDENT + forged
    assert wrap("[12:02] <amy> one two three four", 20) == (
        "[12:02] <amy> one\n" + INDENT + "two three four")
    assert wrap("short  ", 80) == "short  "  # a line that fits is left as it is
    assert wrap("a\n" + INDENT + "b", 80) == "a\n" + INDENT + "b"


def test_a_run_longer_than_a_row_is_cut_and_fills_the_row_it_starts_on():
    rows = wrap("[12:02] <amy> " + "x" * 100, 40).split("\n")
    assert rows == ["[12:02] <amy> " + "x" * 25, INDENT + "x" * 35, INDENT + "x" * 35,
                    INDENT + "x" * 5]


def test_columns_count_wide_characters_as_two_and_combining_marks_as_none():
    rows = wrap("\u674e" * 30, 21).split("\n")  # 李: 2 columns each, 20 columns a row
    assert rows[0] == "\u674e" * 10 and rows[1] == INDENT + "\u674e" * 8
    assert all(columns(row) <= 20 for row in rows)
    accented = "e\u0301" * 30  # é as e and a combining acute: 30 columns, not 60
    assert wrap(accented, 31) == accented
    assert wrap(accented, 30) == "e\u0301" * 29 + "\n" + INDENT + "e\u0301"


def test_a_row_keeps_out_of_the_last_column_and_widths_have_a_floor():
    assert wrap("x" * 80, 80) == "x" * 79 + "\n" + INDENT + "x"
    assert wrap("x" * 79, 80) == "x" * 79
    assert wrap("x" * 30, 5) == wrap("x" * 30, MIN_COLUMNS)


def test_no_text_can_start_a_row_of_its_own_at_any_width():
    import random
    chance = random.Random(25)  # the same texts every run
    pieces = ["word", " ", "   ", "\u674e\u5c0f\u9f8d", "e\u0301", "\t", "\n", "[21:21] ",
              "***", "x" * 50, "\u3000", "\u00a0"]
    for _ in range(300):
        text = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 40)))
        width = chance.randint(10, 130)
        shown = render(message(text))
        rows = wrap(shown, width).split("\n")
        assert rows[0].startswith("[")
        assert all(row.startswith(INDENT) or not row for row in rows[1:]), (text, width)
        assert all(columns(row) < max(width, MIN_COLUMNS) for row in rows), (text, width)
        # Only whitespace is lost: every other character is shown, in order.
        assert "".join(shown.split()) == "".join("".join(rows).split())


def test_a_person_at_nc_reads_rows_that_fit_80_columns_but_errors_whole():
    rows = render_for_session(message("hello " * 40)).split("\n")
    assert len(rows) == 4 and all(columns(row) < SESSION_COLUMNS for row in rows)
    assert all(row.startswith(INDENT + "hello") for row in rows[1:])
    error = {"type": "error", "code": "x", "message": "this is an error " * 8}
    assert render_for_session(error) == "! " + "this is an error " * 8


def test_actions_read_inside_their_senders_name():
    assert render(message("/me waves")).endswith("] <bob> *waves*")
    assert render(message("/me left (connection lost)")).endswith(
        "] <bob> *left (connection lost)*")
    assert render(dict(message("/me waves"), teacher=True)).endswith(
        "] <bob (teacher)> *waves*")
    assert render(dict(message("/me waves"), to="amy")).endswith(
        "] <bob> (private to amy) *waves*")


def test_the_terminal_wraps_at_its_width_when_printing_and_a_file_at_the_default(monkeypatch):
    import io
    import shutil
    from chat_app.terminal import prompt as terminal

    class Screen(io.StringIO):
        def isatty(self):
            return True

    line = render(message("a" + " " * 90 + "[21:21] *** The teacher locked the room"))
    for width in (60, 100, 140):
        monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback: os.terminal_size(
            (width, 24)))
        screen = Screen()
        terminal.Printer(screen).show(line)
        rows = screen.getvalue().splitlines()
        assert all(columns(row) < width for row in rows)
        assert rows[-1] == INDENT + "[21:21] *** The teacher locked the room" or width == 140
    piped = io.StringIO()
    terminal.Printer(piped).show(line)
    assert piped.getvalue() == wrap(line, 80) + "\n"
