"""A console nobody reads never freezes the room (issue 25, item 8).

The server's console prints through a bounded buffer (console_buffer.py)
written by a thread of its own: when the console stops taking output
(Ctrl+S, a selection in a Windows console, a stalled pipe) the room goes
on, and the console later says how many lines it skipped, where.
Figures print with -s (docs/security.md has them).
"""

import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time

import pytest

from helpers import LOOPBACK, WAIT, wait_until
from chat_app.terminal.console_buffer import ConsoleBuffer
from chat_app.terminal.console import SKIPPED_WORDS


class Stalled:
    """A console that prints only while let through: `printed` keeps what it printed."""

    def __init__(self):
        self.printed = []
        self.through = threading.Event()

    def item(self, item):
        self.through.wait(WAIT)
        self.printed.append(item)

    def skipped(self, count):
        self.printed.append("skipped %d" % count)


def test_a_stalled_console_holds_what_fits_skips_the_rest_and_says_so_at_the_gap():
    console = Stalled()
    buffer = ConsoleBuffer(console.item, console.skipped, max_lines=3, max_chars=100)
    try:
        assert buffer.put("line 1", 6)
        wait_until(lambda: not buffer._items, what="the thread to take line 1")  # now stuck
        held = [buffer.put("line %d" % number, 6) for number in range(2, 8)]
        assert held == [True, True, True, False, False, False]  # 3 held, beyond: skipped
        console.through.set()
        wait_until(lambda: len(console.printed) == 5, what="the held lines and the gap")
        assert buffer.put("line 8", 6)  # the console caught up: lines are held again
        assert buffer.close(WAIT)
        assert console.printed == ["line 1", "line 2", "line 3", "line 4", "skipped 3",
                                   "line 8"]
    finally:
        console.through.set()


def test_lines_are_skipped_by_size_too_but_one_long_line_alone_is_held():
    console = Stalled()
    buffer = ConsoleBuffer(console.item, console.skipped, max_lines=100, max_chars=100)
    try:
        assert buffer.put("first", 5)
        wait_until(lambda: not buffer._items, what="the thread to take the first line")
        assert buffer.put("long", 500)  # alone in the buffer: held, or it could never print
        assert not buffer.put("short", 5)  # the gap has begun: skipped
        console.through.set()
        assert buffer.close(WAIT)
        assert console.printed == ["first", "long", "skipped 1"]
    finally:
        console.through.set()


def test_closing_gives_up_on_a_stalled_console_in_time():
    console = Stalled()
    buffer = ConsoleBuffer(console.item, console.skipped)
    try:
        buffer.put("stuck", 5)
        started = time.monotonic()
        assert buffer.close(0.2) is False
        assert time.monotonic() - started < 0.2 + 0.5
    finally:
        console.through.set()


# --- the attack: a server whose standard output is a pipe nobody reads ------------

# Messages of this many characters, as in the issue: 32 of them filled the pipe.
MESSAGE_CHARS = 2000

# Enough of them to fill the pipe and the console's buffer, and to need skipping.
MESSAGES = 300


def json_client(port, name):
    sock = socket.create_connection((LOOPBACK, port), timeout=WAIT)
    lines = sock.makefile("rb")
    sock.sendall((json.dumps({"type": "join", "name": name}) + "\n").encode())
    while json.loads(lines.readline())["type"] != "welcome":
        pass
    return sock, lines


@pytest.mark.system
def test_a_console_nobody_reads_does_not_stop_the_room(pyz, tmp_path):
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [sys.executable, pyz, "server", "--host", LOOPBACK, "--port", "0", "--rate-limit", "0",
         "--no-discovery"], stdout=write_end, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, cwd=str(tmp_path))
    os.close(write_end)
    try:
        printed = b""
        while not re.search(rb"listening on port (\d+)\n", printed):
            assert select.select([read_end], [], [], WAIT)[0], printed
            printed += os.read(read_end, 4096)
        port = int(re.search(rb"listening on port (\d+)", printed).group(1))
        amy, _ = json_client(port, "amy")
        bob, bobs = json_client(port, "bob")
        for number in range(MESSAGES):  # nobody reads the console from here on
            text = ("%d " % number).ljust(MESSAGE_CHARS, "x")
            amy.sendall((json.dumps({"type": "say", "text": text}) + "\n").encode())
        delivered = 0
        try:
            while delivered < MESSAGES:
                if json.loads(bobs.readline())["type"] == "message":
                    delivered += 1
        except socket.timeout:
            pass  # delivery stopped
        print("\nmessages of %d characters delivered while the console was not read: %d of %d"
              % (MESSAGE_CHARS, delivered, MESSAGES))
        assert delivered == MESSAGES
        # Reading the console again, it catches up and says what it skipped.
        skipped = re.escape(SKIPPED_WORDS.split("%s", 1)[1][:40])
        pattern = r"\d\d:\d\d:\d\d  (\d+) lines" + skipped
        while not re.search(pattern, printed.decode("utf-8", "replace")):
            assert select.select([read_end], [], [], WAIT)[0], "no skipped-lines line"
            printed += os.read(read_end, 65536)
        count = int(re.search(pattern, printed.decode("utf-8", "replace")).group(1))
        print("the console said it skipped %d lines" % count)
        assert 0 < count < MESSAGES
        # Stopping still prints its last line, within the server's two seconds.
        started = time.monotonic()
        server.terminate()
        while True:
            assert select.select([read_end], [], [], WAIT)[0], "the server did not stop"
            data = os.read(read_end, 65536)
            if not data:
                break
            printed += data
        assert server.wait(WAIT) == 0 and time.monotonic() - started < 2.0
        assert re.search(rb"\d\d:\d\d:\d\d  server stopped \(2 connection\(s\) closed\)\n$",
                         printed)
    finally:
        server.terminate()
        server.wait(WAIT)
        os.close(read_end)
