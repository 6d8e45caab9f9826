"""The teacher's commands in the server's terminal: /who, /kick, /say, /quit."""

import errno
import os
import queue
import re
import sys
import threading

import pytest

from helpers import (WAIT, Client, Lines, ServerProcess, pyenv_python, require, screen,
                     wait_rows, wait_until)
from chat_app.client.chat_state import ChatState
from chat_app.terminal import prompt as terminal
from chat_app.client.link import Link
from chat_app.window.chat_view import segments
from chat_app.terminal.console import Console
from chat_app.relay.teacher_console import DEFAULT_KICK_REASON, TeacherConsole
from chat_app.wire.text_format import SESSION_END_HINT
from test_server import joined
from test_text_sessions import person, read_until

pytestmark = pytest.mark.system  # real servers, processes or sockets


@pytest.fixture
def teacher(server):
    out = Lines()
    stopped = threading.Event()
    console = TeacherConsole(server.server, Console(out, out), stopped.set)
    console.out, console.stopped = out, stopped
    return console


def test_who_lists_names_addresses_and_since(server, teacher):
    teacher.handle("/who")
    assert "Nobody has joined yet" in teacher.out.text
    amy, bob = joined(server, "amy", "bob")
    teacher.handle("/who")
    assert re.search(r"2 in the room:\n +amy +127\.0\.0\.1 +since \d\d:\d\d:\d\d \(just now\)\n"
                     r" +bob +127\.0\.0\.1", teacher.out.text)
    # The columns are as wide as the longest entry: a room fits in 80 columns.
    rows = [line for line in teacher.out.text.splitlines() if "since" in line]
    assert max(len(row) for row in rows) < 80, rows
    from chat_app.wire import teacher_id
    lee = server.client()
    lee.join("lee", teacher_token=teacher_id.read_token(server.port))
    teacher.handle("/who")
    assert re.search(r"\n +lee \(teacher\) +127\.0\.0\.1 +since", teacher.out.text)


def test_say_reaches_programs_and_people_prominently(server, teacher):
    amy, = joined(server, "amy")
    carl = person(server, "carl")
    amy.expect("joined", name="carl")
    teacher.handle("/say Pens down in 5 minutes")
    notice = amy.expect("notice")
    assert notice["text"] == "Pens down in 5 minutes" and isinstance(notice["time"], float)
    assert isinstance(notice["id"], int)
    assert read_until(carl, r"\*\*\*")[-1].endswith("*** Pens down in 5 minutes")
    assert ("announced to 2 people as #%d (kept in history for late joiners): Pens down in 5 "
            "minutes" % notice["id"]) \
        in teacher.out.text
    teacher.handle("/say   ")
    assert "Not sent:" in teacher.out.text


def test_kick_sends_bye_with_the_reason_and_tells_the_others(server, teacher):
    amy, bob = joined(server, "amy", "bob")
    teacher.handle("/kick BOB please stop spamming")
    assert bob.expect("bye")["reason"] == "please stop spamming"
    assert bob.assert_closed() == []
    left = amy.expect("left", name="bob")
    assert left["reason"] == "kicked"
    assert "removed bob (please stop spamming)" in teacher.out.text
    again = server.client()
    again.join("bob")  # the name is free again
    amy.expect("joined", name="bob")


def test_kick_without_a_reason_and_of_a_person_at_a_terminal(server, teacher):
    amy, = joined(server, "amy")
    carl = person(server, "carl")
    teacher.handle("/kick carl")
    lines = read_until(carl, "removed you")
    assert lines[-1] == "* The teacher removed you from the room (%s)." % DEFAULT_KICK_REASON
    assert carl.read_text() == SESSION_END_HINT  # nc stays open: say how to go on
    assert amy.expect("left", name="carl")["reason"] == "kicked"


def test_mistakes_get_an_explanation(server, teacher):
    teacher.handle("/kick ghost")
    assert "Nobody called ghost is in the room" in teacher.out.text
    teacher.handle("/kick")
    assert "Usage: /kick NAME [reason]" in teacher.out.text
    teacher.handle("/dance")
    assert "Unknown command /dance." in teacher.out.text and "/who" in teacher.out.text
    teacher.handle("hello everyone")
    assert "type '/say hello everyone'" in teacher.out.text
    assert not teacher.stopped.is_set()
    teacher.handle("/quit")
    assert teacher.stopped.is_set()


def test_clients_show_an_announcement_prominently():
    state = ChatState("amy")
    state.focused = False
    entries = state.apply({"type": "notice", "text": "Pens down", "time": 1.0})
    assert [(item.kind, item.text) for item in entries] == [("announcement", "Pens down")]
    assert state.unread == 1
    parts = segments(entries[0])
    assert "*** Pens down\n" in parts and ("announcement",) in parts


def test_a_server_in_a_terminal_takes_commands(pyz, tmp_path):
    require(hasattr(os, "openpty"), "a pseudo-terminal (Unix)")
    master, slave = os.openpty()
    server = ServerProcess(pyenv_python("3.11") or sys.executable, pyz, cwd=str(tmp_path),
                           stdin=slave)
    os.close(slave)
    try:
        server.wait_for(r"Type /help here for the teacher's commands")
        amy = Client(server.port)
        amy.join("amy")
        os.write(master, b"/say Hello class\n")
        assert amy.expect("notice")["text"] == "Hello class"
        amy.send({"type": "say", "text": "hello"})
        said = amy.expect("message")
        server.wait_for(r"#%d \[\d\d:\d\d\] <amy> hello" % said["id"])  # the id, for /delete
        os.write(master, b"/lock\n")
        amy.expect("notice", about="lock")
        server.wait_for("The teacher locked the room")
        amy.send({"type": "say", "text": "still there?"})
        amy.expect_error("locked")
        os.write(master, ("/delete %d\n" % said["id"]).encode())
        assert amy.expect("deleted")["id"] == said["id"]
        os.write(master, b"/quit\n")
        assert server.process.wait(WAIT) == 0
        assert amy.expect("bye")["reason"] == "The server is shutting down."
        assert "server stopped" in server.out
    finally:
        server.kill()
        os.close(master)


def test_a_removed_client_says_why_and_does_not_come_back(server, teacher):
    events = queue.Queue()
    session = Link("127.0.0.1", server.port, "amy", None, events)
    session.start()
    try:
        assert events.get(timeout=WAIT)[0] == "joined"
        teacher.handle("/kick amy be kind")
        kinds = []
        while True:
            kind, value = events.get(timeout=WAIT)
            kinds.append(kind)
            if kind == "refused":
                break
        assert value == ("kicked", "The teacher removed you from the room (be kind). "
                                   "Start the client again to rejoin.")
        assert "retrying" not in kinds
        server.wait_connections(0)
    finally:
        session.close()


def test_a_server_started_in_the_background_keeps_trying_its_terminal(server, teacher,
                                                                      monkeypatch):
    monkeypatch.setattr(terminal, "BACKGROUND_RETRY_SECONDS", 0.01)

    class Terminal:  # reads fail with EIO while the job is in the background
        answers = [OSError(errno.EIO, "background"), OSError(errno.EIO, "background"),
                   "/who\n", ""]

        def readline(self):
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    teacher.start(Terminal()).join(WAIT)
    assert "Nobody has joined yet" in teacher.out.text


class ServerInTerminal:
    """`python chat.pyz server` (or `mode`: teach) in a pseudo-terminal, as a teacher runs it."""

    def __init__(self, pyz, tmp_path, *args, ignore_hang_ups=False, errors=None, mode="server",
                 env=None):
        require(hasattr(os, "openpty"), "a pseudo-terminal (Unix)")
        import fcntl
        import signal
        import struct
        import subprocess
        import termios
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.saved_mode = termios.tcgetattr(self.slave)
        self._raw = []
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()  # ends the drain before a hang-up

        def become_its_terminal():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            if ignore_hang_ups:  # as after "trap '' HUP": only the closed console tells
                signal.signal(signal.SIGHUP, signal.SIG_IGN)

        self.process = subprocess.Popen(
            [sys.executable, pyz, mode, "--host", "127.0.0.1", "--port", "0"] + list(args),
            cwd=str(tmp_path), env=env, stdin=self.slave, stdout=self.slave,
            stderr=self.slave if errors is None else errors,  # errors: a file, to read later
            start_new_session=True, preexec_fn=become_its_terminal)
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        self.port = int(self.wait_for(r"listening on port (\d+)").group(1))

    def _drain(self):
        import select
        while True:
            readable, _, _ = select.select([self.master, self._wake_read], [], [])
            if self._wake_read in readable:
                return
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._raw.append(data)

    def hang_up(self):
        """Close the terminal, as the teacher closing its window: the kernel sends SIGHUP.

        The master is closed only once no thread reads it (a read in progress
        would keep it open).  The slave is closed too, as the window's
        program would not hold it.
        """
        os.write(self._wake_write, b"x")
        self._drainer.join(WAIT)
        os.close(self.slave)
        os.close(self.master)
        self.master = self.slave = None

    @property
    def raw(self):
        with self._lock:
            return b"".join(self._raw).decode("utf-8", "replace")

    @property
    def rows(self):
        return screen(self.raw)

    def wait_for(self, pattern):
        return wait_until(lambda: re.search(pattern, "\n".join(self.rows), re.M), WAIT,
                          lambda: "%r on the screen:\n%s" % (pattern, "\n".join(self.rows)))

    def wait_rows(self, *patterns):
        """Wait until the screen's last rows match these patterns, in order."""
        wait_rows(lambda: self.rows, patterns)

    def type(self, keys):
        os.write(self.master, keys)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(WAIT)
        if self.master is not None:
            self.hang_up()
        os.close(self._wake_read)
        os.close(self._wake_write)


@pytest.fixture
def terminal_server(pyz, tmp_path):
    servers = []

    def start(*args, **kwargs):
        servers.append(ServerInTerminal(pyz, tmp_path, *args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_the_console_shows_the_room_and_keeps_the_typed_line_whole(terminal_server):
    import termios
    server = terminal_server()
    server.wait_for(r"Type /help here")
    server.wait_rows(r">")
    server.type(b"/wh")
    server.wait_rows(r"> /wh")
    amy = Client(server.port)
    amy.join("amy")
    # The join is printed above the half-typed command, which is drawn again below it.
    server.wait_rows(r"\d\d:\d\d:\d\d  amy joined \(127\.0\.0\.1\)", r"> /wh")
    assert [row for row in server.rows if row.startswith(">")] == ["> /wh"]  # drawn once
    server.type(b"o\n")
    server.wait_rows(r"> /who", r"\d\d:\d\d:\d\d  1 in the room:",
                     r" +amy +127\.0\.0\.1 +since .*", r">")
    amy.send({"type": "say", "text": "secret", "to": "amy"})
    amy.expect("message", text="secret")
    amy.send({"type": "say", "text": "hello class"})
    server.wait_rows(r"#\d+ \[\d\d:\d\d\] <amy> hello class", r">")  # its id, for /delete
    assert "secret" not in server.raw  # private messages stay private
    server.type(b"/say Pens down")
    server.wait_rows(r"> /say Pens down")
    server.type(b"\r")
    assert amy.expect("notice")["text"] == "Pens down"
    server.wait_rows(r"> /say Pens down", r".*announced to 1 person .*: Pens down", r">")
    server.type(b"/kick am")
    server.wait_rows(r"> /kick am")
    server.type(b"\x03")  # with a command half typed, Ctrl+C clears it, as in a shell
    server.wait_rows(r".*announced to 1 person .*: Pens down", r">")
    assert server.process.poll() is None
    amy.send({"type": "ping", "token": "still here"})
    assert amy.expect("pong")["token"] == "still here"  # not kicked, not stopped
    server.type(b"\x03")  # on an empty line it stops the server; the terminal is given back
    assert server.process.wait(WAIT) == 0
    mode = termios.tcgetattr(server.slave)
    assert mode[3] & termios.ICANON and mode[3] & termios.ECHO
    assert mode == server.saved_mode
    server.wait_for(r"server stopped")


def test_quiet_leaves_the_conversation_out_of_the_console(terminal_server):
    server = terminal_server("--quiet")
    server.wait_rows(r">")
    amy = Client(server.port)
    amy.join("amy")
    amy.send({"type": "say", "text": "hello class"})
    amy.expect("message", text="hello class")
    amy.send({"type": "leave"})
    server.wait_rows(r"\d\d:\d\d:\d\d  amy left", r">")
    assert "hello class" not in server.raw
    server.type(b"\x04")  # Ctrl+D, as if to end a shell: the commands go on
    server.wait_rows(r"\d\d:\d\d:\d\d  Ctrl\+D does not stop the server: type /quit .*", r">")
    server.type(b"/quit\n")
    assert server.process.wait(WAIT) == 0


def test_help_lists_every_command_in_aligned_columns(server, teacher):
    teacher.handle("/help")
    rows = teacher.out.text.split("\n")[1:-1]
    words = ["who", "kick", "say", "mute", "unmute", "lock", "unlock", "slow", "private",
             "delete", "clear", "hands", "lower", "quit", "help"]
    assert [row.split()[0] for row in rows] == ["/" + word for word in words]
    starts = {re.search(r"\S+( \S+)*? {2,}(\S)", row).start(2) for row in rows}
    assert len(starts) == 1, rows  # every meaning starts in the same column
    assert set(teacher.commands) == set(words)


def test_after_ctrl_z_and_fg_the_prompt_line_comes_back(terminal_server):
    import signal
    import termios
    server = terminal_server()
    server.wait_rows(r">")
    server.type(b"/wh")
    server.wait_rows(r"> /wh")
    server.process.send_signal(signal.SIGSTOP)
    termios.tcsetattr(server.slave, termios.TCSANOW, server.saved_mode)  # what the shell does
    os.write(server.slave, b"\r\n$ fg\r\n")  # the shell's lines, as the terminal shows them
    server.process.send_signal(signal.SIGCONT)
    server.wait_rows(r"\$ fg", r"> /wh")
    assert not termios.tcgetattr(server.slave)[3] & termios.ICANON
    server.type(b"o\n")
    server.wait_for(r"Nobody has joined yet")
    server.type(b"/quit\n")
    assert server.process.wait(WAIT) == 0
    assert termios.tcgetattr(server.slave) == server.saved_mode


# Clients connected when the teacher's terminal is closed.
CLIENTS_AT_HANG_UP = 10


@pytest.mark.parametrize("ignore_hang_ups", [False, True], ids=["sighup", "console-closed"])
def test_closing_the_terminal_stops_the_server_as_sigterm_does(terminal_server, tmp_path,
                                                                ignore_hang_ups):
    # The kernel sends SIGHUP when the terminal goes; with SIGHUP ignored,
    # the console's reader finding its terminal hung up stops the server.
    with open(str(tmp_path / "server.err"), "wb") as errors:
        server = terminal_server(ignore_hang_ups=ignore_hang_ups, errors=errors)
    server.wait_rows(r">")
    clients = [Client(server.port) for _ in range(CLIENTS_AT_HANG_UP)]
    for number, client in enumerate(clients):
        client.join("s%d" % number)
    server.wait_for(r"s%d joined" % (CLIENTS_AT_HANG_UP - 1))
    server.hang_up()
    assert server.process.wait(WAIT) == 0  # the status SIGTERM gives
    for client in clients:
        assert client.expect("bye")["reason"] == "The server is shutting down."
        client.assert_closed()
    assert (tmp_path / "server.err").read_text() == ""  # no traceback, no complaint


def test_the_end_of_input_from_a_terminal_still_there_stops_nothing(server):
    require(hasattr(os, "openpty"), "a pseudo-terminal (Unix)")
    master, slave = os.openpty()
    commands = os.fdopen(slave, "r")
    try:
        out = Lines()  # not a terminal: whole lines are read
        stopped = threading.Event()
        console = TeacherConsole(server.server, Console(out, out), stopped.set)
        reader = console.start(commands)
        os.write(master, b"/who\n\x04")  # a command, then Ctrl+D
        reader.join(WAIT)
        assert not reader.is_alive() and "Nobody has joined yet" in out.text
        assert not stopped.is_set()
    finally:
        commands.close()
        os.close(master)


def test_a_terminal_read_line_by_line_stops_the_server_when_closed(server):
    require(hasattr(os, "openpty"), "a pseudo-terminal (Unix)")
    master, slave = os.openpty()
    commands = os.fdopen(slave, "r")
    try:
        out = Lines()
        stopped = threading.Event()
        console = TeacherConsole(server.server, Console(out, out), stopped.set)
        console.start(commands)
        os.close(master)  # no reader holds it: the terminal hangs up at once
        master = None
        assert stopped.wait(WAIT)
        assert "the terminal this server was started in was closed" in out.text
    finally:
        commands.close()
        if master is not None:
            os.close(master)


def test_only_a_terminal_can_be_hung_up(tmp_path):
    require(hasattr(os, "openpty"), "a pseudo-terminal (Unix)")
    with open(os.devnull) as null, open(str(tmp_path / "file"), "w") as plain:
        assert not terminal.hang_up_watch(null)() and not terminal.hang_up_watch(plain)()
    assert not terminal.hang_up_watch(object())()  # not a file at all
    master, slave = os.openpty()
    try:
        closed = terminal.hang_up_watch(os.fdopen(slave, closefd=False))
        assert not closed()
        os.close(master)
        master = None
        assert closed()
    finally:
        os.close(slave)
        if master is not None:
            os.close(master)


# --- the room's rules and hands -----------------------------------------------

def test_rule_commands_change_the_room_and_say_so(server, teacher):
    amy, bob = joined(server, "amy", "bob")
    teacher.handle("/mute Bob")
    assert amy.expect("room_state")["muted"] == ["bob"]
    server.out.wait_for("The teacher muted bob")  # every change is printed, whoever made it
    teacher.handle("/mute bob")
    assert "Nothing to change" in teacher.out.text and "muted: bob" in teacher.out.text
    teacher.handle("/unmute bob")
    teacher.handle("/lock")
    assert amy.expect("room_state", locked=True)["muted"] == []
    teacher.handle("/unlock")
    teacher.handle("/slow 20")
    assert amy.expect("room_state", locked=False, slow=20)
    teacher.handle("/slow off")
    amy.expect("room_state", slow=0)
    teacher.handle("/private off")
    amy.expect("room_state", private=False)
    teacher.handle("/private maybe")
    assert "Usage: /private off or /private on" in teacher.out.text
    teacher.handle("/slow 7200")
    assert "Not done: Slow mode takes 0 (off) to 3600 seconds" in teacher.out.text
    teacher.handle("/mute nobody")
    assert "Not done: Nobody called nobody is in the room." in teacher.out.text


def test_delete_clear_hands_and_lower(server, teacher):
    amy, bob = joined(server, "amy", "bob")
    amy.send({"type": "say", "text": "oops"})
    oops = bob.expect("message", text="oops")
    teacher.out.wait_for(r"#%d \[\d\d:\d\d\] <amy> oops" % oops["id"])  # the id to delete
    teacher.handle("/delete #%d" % oops["id"])
    assert bob.expect("deleted")["id"] == oops["id"]
    teacher.handle("/delete %d" % oops["id"])
    assert "Not done: There is no message #%d" % oops["id"] in teacher.out.text
    teacher.handle("/delete last")
    assert "Usage: /delete ID" in teacher.out.text
    teacher.handle("/clear")
    bob.expect("cleared")
    teacher.handle("/hands")
    assert "No hand is up." in teacher.out.text
    for student in (bob, amy):
        student.send({"type": "hand", "up": True})
        student.expect("hand")
    wait_until(lambda: len(server.room.hands()) == 2, what="two hands up")
    teacher.handle("/hands")
    assert re.search(r"2 hands up, first raised first:\n  1\. bob  since \d\d:\d\d:\d\d "
                     r"\(just now\)\n  2\. amy  since", teacher.out.text)
    teacher.handle("/lower bob")
    assert bob.expect("hand")["up"] is False
    teacher.handle("/lower bob")
    assert "Not done: bob's hand is not up." in teacher.out.text
    bob.send({"type": "hand", "up": True})
    bob.expect("hand")
    wait_until(lambda: len(server.room.hands()) == 2, what="two hands up again")
    teacher.handle("/hands up")
    assert "Usage: /hands to list the raised hands, /hands down to lower them all" \
        in teacher.out.text
    teacher.handle("/hands down")  # never a name: a student called "all" or "down" is no matter
    assert amy.expect("hand")["up"] is False and bob.expect("hand")["up"] is False
    server.out.wait_for(r"The teacher lowered every raised hand \(2 hands\)\.")
    teacher.handle("/hands down")
    assert "Not done: No hand is up: there is nothing to lower." in teacher.out.text



def test_every_control_typed_in_the_servers_terminal_reaches_the_students(terminal_server):
    server = terminal_server()
    server.wait_rows(r">")
    amy, bob = Client(server.port), Client(server.port)
    amy.join("amy")
    bob.join("bob")

    def typed(command):
        server.type(command.encode("utf-8") + b"\n")

    def say(client, text, **fields):
        client.send(dict(fields, type="say", text=text))

    typed("/mute amy")
    bob.expect("notice", about="mute")
    say(amy, "let me talk")
    amy.expect_error("muted")
    typed("/unmute amy")
    bob.expect("notice", about="unmute")
    typed("/lock")
    amy.expect("room_state", locked=True)
    say(bob, "hello?")
    bob.expect_error("locked")
    typed("/unlock")
    bob.expect("room_state", locked=False)
    typed("/slow 30")
    bob.expect("room_state", slow=30)
    say(bob, "one")
    bob.expect("message", text="one")
    say(bob, "two")
    assert bob.expect_error("slow_mode")["seconds"] >= 29
    typed("/slow off")
    bob.expect("room_state", slow=0)
    typed("/private off")
    amy.expect("room_state", private=False)
    say(amy, "psst", to="bob")
    amy.expect_error("private_off")
    typed("/private on")
    amy.expect("room_state", private=True)
    bob.send({"type": "hand", "up": True})
    bob.expect("hand", up=True)
    typed("/hands")
    server.wait_for(r"1 hand up, first raised first:\n +1\. bob +since")
    typed("/lower bob")
    bob.expect("hand", up=False)
    say(amy, "oops")
    oops = bob.expect("message", text="oops")
    server.wait_for(r"#%d \[\d\d:\d\d\] <amy> oops" % oops["id"])
    typed("/delete %d" % oops["id"])
    assert bob.expect("deleted")["id"] == oops["id"]
    typed("/clear")
    bob.expect("cleared")
    late = Client(server.port)
    assert late.join("late")["history"] == []
    typed("/quit")
    assert server.process.wait(WAIT) == 0
