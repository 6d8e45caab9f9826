"""Line separators and direction marks in every place text reaches a terminal.

U+2028/U+2029 become a line break indented like any other line of the
message; U+200E, U+200F and U+061C are dropped.  The paths: text_format
itself (tests/wire/test_text_format.py), a person at nc (the server
renders), the teacher's console, and `chat.pyz client --text`.
"""

import os

import pytest

from helpers import Client
from test_text_client import TerminalClient
from test_text_format import MARKS, SEPARATORS, message
from test_text_sessions import person

from chat_app.wire.text_format import INDENT, columns, render, wrap


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
