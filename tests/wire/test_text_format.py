"""How text is laid out for a terminal (text_format.py): line separators become indented
line breaks and direction marks are dropped, long lines are wrapped by the program at
spaces (never by the terminal), wide characters count twice, and actions read inside
their sender's name.  The same text through nc, the console and the text client:
tests/terminal/test_prompt.py."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire.protocol import DIRECTION_MARKS, LINE_SEPARATORS
from chat_app.wire.text_format import (
    INDENT,
    MIN_COLUMNS,
    SESSION_COLUMNS,
    columns,
    render,
    render_for_session,
    render_users,
    safe,
    safe_line,
    wrap,
)
from test_chat_state import message as message_frame

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


def test_render_is_terminal_safe():
    text = render(message_frame(1, "bob", "\x1b[31mred\x07\ttab\nnext"))
    assert text.endswith("<bob> [31mred    tab\n    next")
    assert safe("a\u202eb\x00c") == "abc"


def test_render_private_and_action_and_left():
    assert render(message_frame(1, "amy", "/me waves", to="bob")).endswith(
        "<amy> (private to bob) *waves*")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "timeout"}).endswith(
        "* bob left (not responding)")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "kicked"}).endswith(
        "* bob was removed by the teacher")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "banned"}).endswith(
        "* bob left (banned)")  # a reason from a newer server
    assert render({"type": "notice", "text": "Pens down\nin 5 minutes", "time": 1}).endswith(
        "*** Pens down\n    in 5 minutes")
    assert render({"type": "pong"}) is None
