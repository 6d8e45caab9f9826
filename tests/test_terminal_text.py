"""Line separators and direction marks in every place text reaches a terminal.

U+2028/U+2029 become a line break indented like any other line of the
message; U+200E, U+200F and U+061C are dropped.  The paths: text_format
itself, a person at nc (the server renders), the teacher's console, and
`chat.pyz client --text`.
"""

import pytest

from helpers import Client
from test_client_text import TerminalClient
from test_text_sessions import person

from chat_app.protocol import DIRECTION_MARKS, LINE_SEPARATORS
from chat_app.text_format import INDENT, render, render_for_session, render_users, safe, safe_line

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
        assert show(message("/me one" + ch + "two")).endswith("* bob one\n" + INDENT + "two")


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
