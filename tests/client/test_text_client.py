"""`chat.pyz client --text` (chat_app/client/text_client.py): the terminal client, mostly against a real server."""

import fcntl
import os
import re
import socket
import subprocess
import sys
import termios
import threading

import pytest

from fake_finder import found
from helpers import LOOPBACK, WAIT, Client, as_student, screen, wait_rows, wait_until
from scripted_server import said, scripted  # noqa: F401  (a fixture)
from test_chat_state import message, notice_frame, welcome


class TerminalClient:
    """The terminal client in a subprocess, its input a pipe."""

    def __init__(self, pyz, port, *args):
        self.process = subprocess.Popen(
            [sys.executable, pyz, "client", "--text", "--host", LOOPBACK, "--port", str(port)]
            + list(args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=as_student())
        self.lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.process.stdout:
            with self._lock:
                self.lines.append(raw.decode("utf-8").rstrip("\n"))

    def type(self, text):
        self.process.stdin.write(text.encode("utf-8") + b"\n")
        self.process.stdin.flush()

    def wait_for(self, pattern, timeout=WAIT):
        def shown():
            with self._lock:
                return next((line for line in self.lines if re.search(pattern, line)), None)

        return wait_until(shown, timeout, lambda: "%r to be shown; output: %r"
                          % (pattern, self.lines))

    def end_input(self):
        self.process.stdin.close()
        return self.process.wait(WAIT)

    def finish(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT)
        self._reader.join(WAIT)
        return self.process.stderr.read().decode("utf-8")


@pytest.mark.system
def test_terminal_client_chats_and_leaves_at_end_of_input(pyz, server):
    bob = Client(server.port)
    bob.join("bob")
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for(r"Welcome, amy")
        client.wait_for(r"2 people in the room: bob, amy")
        bob.expect("joined", name="amy")
        client.type("hello bob")
        assert bob.expect("message")["text"] == "hello bob"
        client.wait_for(r"^\[\d\d:\d\d\] <amy> hello bob$")
        bob.send({"type": "say", "text": "hi amy"})
        client.wait_for(r"^\[\d\d:\d\d\] <bob> hi amy$")
        client.type("/msg bob secret")
        frame = bob.expect("message", text="secret")
        assert frame["to"] == "bob" and frame["from"] == "amy"
        client.type("/me waves")
        client.wait_for(r"<amy> \*waves\*$")
        client.type("/who")
        client.wait_for(r"^\* 2 people in the room: bob, amy$")
        cy = Client(server.port)
        cy.join("cy")
        client.wait_for(r"\* cy joined$")
        cy.send({"type": "leave"})
        client.wait_for(r"\* cy left$")
        client.type("/who")
        client.wait_for(r"^\* 2 people in the room: bob, amy$")
        client.type("/nonsense")
        client.wait_for(r"Unknown command /nonsense")
        assert client.end_input() == 0
        assert bob.expect("left", name="amy")["reason"] == "quit"
    finally:
        assert "Traceback" not in client.finish()


@pytest.mark.system
def test_quit_command_leaves(pyz, server):
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for("Welcome, amy")
        client.type("/quit")
        assert client.process.wait(WAIT) == 0
    finally:
        client.finish()
    server.out.wait_for(r"amy left\n")  # left by choice (a lost connection says so)


@pytest.mark.system
def test_history_is_shown_on_join(pyz, server):
    bob = Client(server.port)
    bob.join("bob")
    bob.send({"type": "say", "text": "before you came"})
    bob.expect("message")
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for(r"^\* Earlier messages:$")
        client.wait_for(r"<bob> before you came$")
    finally:
        client.end_input()
        client.finish()


class PongCounter:
    """A relay between a client and the server that counts the client's pongs."""

    def __init__(self, port):
        self.port_to = port
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.pongs = 0
        self._sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        inside, _ = self.listener.accept()
        outside = socket.create_connection((LOOPBACK, self.port_to))
        self._sockets += [inside, outside]
        threading.Thread(target=self._pipe, args=(outside, inside, False), daemon=True).start()
        self._pipe(inside, outside, True)

    def _pipe(self, source, target, count):
        for line in source.makefile("rb"):
            if count and b'"pong"' in line:
                self.pongs += 1
            target.sendall(line)

    def close(self):
        for sock in self._sockets:
            sock.close()


@pytest.mark.system
def test_answers_pings(pyz, make_server):
    server = make_server("--ping-interval", "0.2", "--ping-timeout", "0.3")
    relay = PongCounter(server.port)
    client = TerminalClient(pyz, relay.port, "--name", "amy")
    try:
        client.wait_for("Welcome, amy")
        wait_until(lambda: relay.pongs >= 4, WAIT, "four pings answered")
        assert server.room.users() == ["amy"]
    finally:
        client.end_input()
        client.finish()
        relay.close()


@pytest.mark.system
def test_nothing_listening_is_explained(pyz):
    probe = socket.socket()
    probe.bind((LOOPBACK, 0))
    port = probe.getsockname()[1]
    probe.close()  # a port on which nothing listens
    client = TerminalClient(pyz, port, "--name", "amy")
    assert client.process.wait(WAIT) == 1
    err = client.finish()
    assert "Nothing is listening at 127.0.0.1 port %d" % port in err
    assert err.count("\n") == 1


@pytest.mark.system
def test_refused_name_without_a_terminal_to_ask(pyz, server):
    bob = Client(server.port)
    bob.join("bob")
    client = TerminalClient(pyz, server.port, "--name", "BOB")
    assert client.process.wait(WAIT) == 1
    err = client.finish()
    assert "already in use" in err and "--name NAME" in err and err.count("\n") == 1
    assert not [line for line in client.lines if "already in use" in line]  # said once


@pytest.mark.system
def test_removed_by_the_teacher_is_said_once_with_what_to_do(pyz, server):
    client = TerminalClient(pyz, server.port, "--name", "amy")
    client.wait_for(r"Welcome, amy")
    server.room.kick("amy", "spamming")
    assert client.process.wait(WAIT) == 1
    assert "removed you" not in client.finish()
    said = [line for line in client.lines if "removed you" in line]
    assert len(said) == 1 and "(spamming). Start the client again" in said[0]


@pytest.mark.system
def test_wrong_password_is_explained(pyz, make_server):
    server = make_server("--password", "pw")
    client = TerminalClient(pyz, server.port, "--name", "amy", "--password", "no")
    assert client.process.wait(WAIT) == 1
    err = client.finish()
    assert "wrong" in err.lower() and "--password" in err


@pytest.mark.system
def test_a_password_that_waits_its_turn_is_said_once_then_joins(pyz, make_server,
                                                                 monkeypatch):
    from chat_app.relay import access
    monkeypatch.setattr(access, "MAX_PASSWORD_DELAY", 2.0)  # the last step, scaled from 8 s
    server = make_server("--password", "pw")
    guard = server.room._guard
    for _ in range(7):  # seven wrong ones from this address just now: the next waits 2 s
        guard.finish(guard.line_up(LOOPBACK, None), False)
    client = TerminalClient(pyz, server.port, "--name", "amy", "--password", "pw")
    try:
        client.wait_for(r"^! Too many wrong passwords came from your computer's address, .*"
                        r"within 2 seconds")
        client.wait_for(r"^\* Connected to")
        assert len([line for line in client.lines if "Too many wrong" in line]) == 1
        assert client.end_input() == 0
    finally:
        client.finish()


@pytest.mark.system
def test_no_password_without_a_terminal_says_to_pass_one(pyz, make_server):
    server = make_server("--password", "pw")
    client = TerminalClient(pyz, server.port, "--name", "amy")
    assert client.process.wait(WAIT) == 1
    err = client.finish()
    assert "needs a password" in err and "--password PASSWORD" in err
    assert "wrong" not in err.lower() and err.count("\n") == 1


class PtyClient:
    """The terminal client on a pseudo-terminal of its own, as a person runs it."""

    def __init__(self, pyz, port, *args, **popen):
        self.start([sys.executable, pyz, "client", "--text", "--host", LOOPBACK, "--port",
                    str(port)] + list(args), **popen)

    def start(self, argv, **popen):
        """Run argv (on a student's computer: as_student) with the pty as its terminal."""
        self.master, self.slave = os.openpty()
        self.saved_mode = termios.tcgetattr(self.slave)  # to compare with after the client
        self.process = subprocess.Popen(
            argv, stdin=self.slave, stdout=self.slave, stderr=self.slave,
            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            env=as_student(popen.pop("env", None)), **popen)
        self.output = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # the client has gone and the pty with it
                return
            if not data:
                return
            with self._lock:
                self.output += data

    def text(self):
        with self._lock:
            return self.output.decode("utf-8", "replace")

    def wait_for(self, words, timeout=WAIT):
        wait_until(lambda: words in self.text(), timeout,
                   lambda: "%r on the terminal; it shows %r" % (words, self.text()))

    def rows(self):
        return screen(self.text())

    def wait_rows(self, *patterns):
        """Wait until the screen's last rows match these patterns, in order."""
        wait_rows(self.rows, patterns)

    def type(self, line):
        self.keys(line + "\r")

    def keys(self, keys):
        os.write(self.master, keys.encode("utf-8"))

    def assert_left(self, other, name="amy"):
        """Check that the client ended well, left (as `other` saw) and restored the terminal."""
        assert self.process.wait(WAIT) == 0
        assert other.expect("left", name=name)["reason"] == "quit"
        assert termios.tcgetattr(self.slave) == self.saved_mode
        assert "Traceback" not in self.text()

    def finish(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT)
        os.close(self.slave)
        os.close(self.master)


@pytest.mark.system
def test_a_password_room_asks_on_the_terminal_without_echo(pyz, make_server):
    server = make_server("--password", "s3cret")
    client = PtyClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for("Password: ")
        assert "needs a password" in client.text() and "wrong" not in client.text().lower()
        client.type("s3cret")
        client.wait_for("Welcome, amy")
        assert "s3cret" not in client.text()  # getpass did not echo it
        client.type("/quit")
        assert client.process.wait(WAIT) == 0
    finally:
        client.finish()


def keep_asking(client, prompt):
    """Press Enter at `prompt` twice and check that each time it is asked again."""
    client.wait_for(prompt)
    for times in (2, 3):
        client.type("")
        wait_until(lambda: client.text().count(prompt) == times, WAIT,
                   lambda: "%r asked again; the terminal shows %r" % (prompt, client.text()))
    assert client.process.poll() is None


@pytest.mark.system
def test_an_empty_answer_at_a_start_up_prompt_asks_again(pyz, make_server, tmp_path):
    server = make_server("--password", "s3cret")
    bob = Client(server.port)
    bob.join("bob", password="s3cret")
    fresh_home = dict(os.environ, HOME=str(tmp_path), USERPROFILE=str(tmp_path))
    client = PtyClient(pyz, server.port, env=fresh_home)  # no name remembered
    try:
        keep_asking(client, "Your name: ")
        client.type("BOB")
        keep_asking(client, "Password: ")
        client.type("s3cret")
        client.wait_for("already in use")
        keep_asking(client, "Choose another name: ")
        client.type("amy")
        client.wait_for("Welcome, amy")
        client.keys("\x04")
        client.assert_left(bob)
    finally:
        client.finish()


@pytest.mark.system
@pytest.mark.parametrize("key, status", [("\x04", 1), ("\x03", 0)])  # Ctrl+D, Ctrl+C
def test_ending_at_a_start_up_prompt_ends_with_at_most_one_message(pyz, server, tmp_path,
                                                                    key, status):
    fresh_home = dict(os.environ, HOME=str(tmp_path), USERPROFILE=str(tmp_path))
    client = PtyClient(pyz, server.port, env=fresh_home)
    try:
        client.wait_for("Your name: ")
        client.keys(key)
        assert client.process.wait(WAIT) == status
        assert client.text().count("no name given") == status  # said once, at end of input
        assert "Traceback" not in client.text()
        assert termios.tcgetattr(client.slave) == client.saved_mode
    finally:
        client.finish()


@pytest.mark.system
def test_a_password_added_mid_lesson_is_asked_for_on_the_terminal(pyz, make_server):
    server = make_server()
    port = server.port
    client = PtyClient(pyz, port, "--name", "amy")
    try:
        client.wait_for("Welcome, amy")
        client.keys("half typed")  # kept aside while the password is typed
        server.close()
        again = make_server("--port", str(port), "--password", "s3cret")
        client.wait_for("needs a password", timeout=WAIT * 2)
        client.wait_for("Password: ")
        client.type("guess123")
        wait_until(lambda: client.text().count("Password: ") == 2, WAIT,
                   lambda: "a second prompt; the terminal shows %r" % client.text())
        assert "wrong" in client.text().lower()
        client.type("s3cret")
        client.wait_for("Reconnected.")
        assert again.room.users() == ["amy"]
        assert "s3cret" not in client.text() and "guess123" not in client.text()
        client.wait_rows(r"\* Reconnected\.", r"\* You are alone in the room\.", r"> half typed")
        client.keys("\x15")  # Ctrl+U
        client.wait_rows(r">")
        bob = Client(port)
        bob.join("bob", password="s3cret")
        client.type("seen by bob")
        assert bob.expect("message")["text"] == "seen by bob"
    finally:
        client.finish()


def at_the_prompt_line(pyz, server):
    """Return bob (a raw client) and amy at a terminal, once amy's prompt line is up."""
    bob = Client(server.port)
    bob.join("bob")
    client = PtyClient(pyz, server.port, "--name", "amy")
    try:
        bob.expect("joined", name="amy")
        client.wait_rows(r".*Type a message and press Enter\.", r">")
    except BaseException:
        client.finish()
        raise
    return bob, client


@pytest.mark.system
def test_a_message_arriving_while_typing_leaves_the_typed_line_whole(pyz, server):
    bob, client = at_the_prompt_line(pyz, server)
    try:
        client.keys("hi I am da")
        client.wait_rows(r"> hi I am da")
        bob.send({"type": "say", "text": "who has finished?"})
        bob.expect("message", text="who has finished?")
        # The message gets a row of its own; the half-typed line is drawn again below it.
        client.wait_rows(r"\[\d\d:\d\d\] <bob> who has finished\?", r"> hi I am da")
        assert [row for row in client.rows() if "hi I am da" in row] == ["> hi I am da"]
        text = client.text()
        assert text.rindex("> hi I am da") > text.index("<bob> who has finished?")
        client.keys("ve\r")
        assert bob.expect("message", **{"from": "amy"})["text"] == "hi I am dave"
        # The sent line leaves the prompt; the room's copy of it is the record.
        client.wait_rows(r"\[\d\d:\d\d\] <bob> who has finished\?",
                         r"\[\d\d:\d\d\] <amy> hi I am dave", r">")
        assert [row for row in client.rows() if "hi I am dave" in row] == [
            row for row in client.rows() if "<amy> hi I am dave" in row]
        client.keys("\x04")  # Ctrl+D on an empty line: leave politely
        client.assert_left(bob)
    finally:
        client.finish()


@pytest.mark.system
def test_ctrl_c_at_the_prompt_line_leaves_and_gives_the_terminal_back(pyz, server):
    bob, client = at_the_prompt_line(pyz, server)
    try:
        assert not termios.tcgetattr(client.slave)[3] & termios.ICANON  # keys, one at a time
        client.keys("not sent")
        client.wait_rows(r"> not sent")
        client.keys("\x03")
        client.assert_left(bob)
        assert client.rows()[-1] == ""  # the prompt line was taken away
    finally:
        client.finish()


@pytest.mark.system
def test_a_long_paste_arrives_whole_in_order_and_paced(pyz, make_server):
    server = make_server("--rate-limit", "50")
    bob = Client(server.port)
    bob.join("bob")
    client = TerminalClient(pyz, server.port, "--name", "amy")
    lines = ["listing line %03d" % i for i in range(200)] + ["   ", ""]
    try:
        client.wait_for("Welcome, amy")
        client.process.stdin.write("".join(line + "\n" for line in lines).encode())
        client.process.stdin.close()
        got = [bob.expect("message", timeout=WAIT * 3)["text"] for _ in range(200)]
        assert got == lines[:200]
        assert client.process.wait(WAIT) == 0
        assert bob.expect("left", name="amy")["reason"] == "quit"
        client.wait_for(r"^\* Sending \d+ more lines at 50 a second")
        client.wait_for(r"^\* All 200 lines sent\.$")
        assert not any("too fast" in line or line.startswith("!") for line in client.lines)
    finally:
        assert "Traceback" not in client.finish()


@pytest.mark.system
def test_server_going_away_is_reported(pyz, make_server):
    server = make_server()
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for("Welcome, amy")
        server.server.shutdown()
        server.server.stop()
        client.wait_for(r"The server closed the connection: The server is shutting down")
        client.wait_for(r"^\* The chat server has stopped \(the teacher ended the chat or is "
                        r"restarting it\)\.$")
        client.wait_for(r"^\* Reconnecting in 1 s")
        # The retry fails (nothing listens now): still the server's stop, not the address.
        client.wait_for(r"^\* Still no connection: the chat server has stopped \(the teacher",
                        timeout=WAIT * 2)
        assert not any("Nothing is listening" in line for line in client.lines)
        assert client.end_input() == 0
    finally:
        client.finish()


@pytest.mark.system
def test_survives_a_server_restart_and_loses_nothing_typed(pyz, make_server):
    server = make_server()
    port = server.port
    client = TerminalClient(pyz, port, "--name", "amy")
    try:
        client.wait_for("Welcome, amy")
        client.type("before the restart")
        client.wait_for(r"<amy> before the restart$")
        server.close()
        client.wait_for(r"^\* Reconnecting in")
        client.type("typed while the server was down")
        client.wait_for(r"\"typed while the server was down\" will be sent once the connection "
                        r"is back")
        again = make_server("--port", str(port))
        bob = Client(port)
        bob.join("bob")
        client.wait_for(r"^\* Reconnected\.$", timeout=WAIT * 2)
        assert bob.expect("message")["text"] == "typed while the server was down"
        bob.send({"type": "say", "text": "welcome back"})
        client.wait_for(r"<bob> welcome back$")
        assert again.room.users() == ["bob", "amy"]
        assert client.end_input() == 0
        assert bob.expect("left", name="amy")["reason"] == "quit"
    finally:
        assert "Traceback" not in client.finish()


def hold_back(monkeypatch, server, text):
    """Make the server stall on `text` (as if suspended) until the returned Event is set."""
    released, say = threading.Event(), server.room.say

    def stalled_say(peer, said, to=None):
        if said == text:
            released.wait(WAIT * 3)
        return say(peer, said, to)

    monkeypatch.setattr(server.room, "say", stalled_say)
    return released


@pytest.mark.system
def test_a_stalled_server_is_said_once_and_all_sent_waits_for_the_last_line(
        pyz, make_server, monkeypatch):
    server = make_server("--rate-limit", "50")
    released = hold_back(monkeypatch, server, "line 019")
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for("Welcome, amy")
        client.process.stdin.write("".join("line %03d\n" % i for i in range(20)).encode())
        client.process.stdin.flush()
        client.wait_for(r"^\* Sending \d+ more lines")
        client.wait_for(r"^\* Waiting for the server\.\.\. \(1 message not yet confirmed\)$")
        assert not any(line.startswith("* All") for line in client.lines)  # not yet true
        released.set()
        client.wait_for(r"^\* All 20 lines sent\.$")
        lines = list(client.lines)
        last = next(i for i, line in enumerate(lines) if line.endswith("<amy> line 019"))
        assert lines.index("* All 20 lines sent.") > last
        assert sum("Waiting for the server" in line for line in lines) == 1
        assert client.end_input() == 0
    finally:
        released.set()
        assert "Traceback" not in client.finish()


@pytest.mark.system
def test_paste_counts_go_on_across_a_reconnect(pyz, make_server):
    server = make_server("--rate-limit", "10")
    port = server.port
    bob = Client(port)
    bob.join("bob")
    client = TerminalClient(pyz, port, "--name", "amy")
    lines = ["line %03d" % i for i in range(60)]
    try:
        client.wait_for("Welcome, amy")
        client.process.stdin.write("".join(line + "\n" for line in lines).encode())
        client.process.stdin.flush()
        client.wait_for(r"^\* Sending \d+ more lines")
        for _ in range(25):
            bob.expect("message", timeout=WAIT)
        server.close()
        make_server("--rate-limit", "10", "--port", str(port))
        client.wait_for(r"^\* Reconnected\.$", timeout=WAIT * 2)
        client.wait_for(r"^\* All \d+ lines sent\.$", timeout=WAIT * 3)
        assert "* All 60 lines sent." in client.lines
        assert client.end_input() == 0
    finally:
        assert "Traceback" not in client.finish()


# --- no address given: the rooms found on the network ------------------------
#
# In this process, with the finder's search injected (no datagram is sent);
# the real search inside a lab of network namespaces is in test_noaddress.py.

def text_client(search, answers=None):
    """A TerminalClient, named amy, whose input ends at once; `answers`: what is typed."""
    import argparse
    import io
    from chat_app.client.text_client import TerminalClient
    options = argparse.Namespace(host=None, port=None, name="amy", password=None,
                                 tls_settings=None)
    out = io.StringIO()
    client = TerminalClient(options, stdin=io.StringIO(""), stdout=out, search=search)
    if answers is not None:  # someone at a terminal answers the questions
        typed = list(answers)
        client.interactive = True
        client.ask = lambda prompt, secret=False: (out.write(prompt + "\n"),
                                                   typed.pop(0) if typed else None)[1]
    return client, out


@pytest.mark.system
def test_without_an_address_the_only_room_found_is_joined_by_name(server):
    client, out = text_client(lambda: [found("Lab 3", server.port, users=0)])
    assert client.run() == 0
    assert "Found one room: Lab 3 (127.0.0.1:%d); joining it." % server.port in out.getvalue()
    assert "Welcome, amy" in out.getvalue()


@pytest.mark.system
def test_among_several_rooms_the_person_chooses_by_number(make_server):
    one, two = make_server(), make_server()
    bob = Client(two.port)
    bob.join("bob")
    rooms = [found("Lab 1", one.port), found("Lab 2", two.port, users=1)]
    client, out = text_client(lambda: rooms, answers=["7", "two", "2"])
    assert client.run() == 0
    shown = out.getvalue()
    assert "2 rooms found on this network:" in shown
    assert ("1. Lab 1 \u2014 0 people \u2014 open \u2014 not encrypted \u2014 127.0.0.1:%d"
            % one.port) in shown
    assert ("2. Lab 2 \u2014 1 person \u2014 open \u2014 not encrypted \u2014 127.0.0.1:%d"
            % two.port) in shown
    assert "'7' is not one of the numbers 1 to 2." in shown and "'two' is not" in shown
    assert bob.expect("joined")["name"] == "amy"  # in Lab 2, the room chosen


@pytest.mark.system
def test_several_rooms_and_no_one_to_choose_gives_the_addresses(make_server, capsys):
    one, two = make_server(), make_server()
    client, out = text_client(lambda: [found("Lab 1", one.port), found("Lab 2", two.port)])
    assert client.run() == 1
    assert "127.0.0.1:%d" % two.port in out.getvalue()
    assert "several rooms answered" in capsys.readouterr().err
    assert one.room.users() == [] and two.room.users() == []


def test_no_room_found_says_what_find_says(capsys):
    from chat_app.discovery import room_search
    client, out = text_client(lambda: [])
    assert client.run() == 1
    said = capsys.readouterr().err
    assert room_search.nothing_found() in said
    assert said.startswith("No chat room answered within 1.5 seconds (asked: ports 1234 to "
                           "1243).\nAsk your teacher")  # the finder's words, filled in
    assert "Looking for rooms" in out.getvalue()


@pytest.mark.system
def test_an_encrypted_room_found_is_joined_once_its_16_digits_are_confirmed(make_server):
    from helpers import CERT, KEY
    from test_tls import expected_fingerprint
    from chat_app.discovery.room_search import CHECK_PROMPT
    server = make_server("--tls-cert", CERT, "--tls-key", KEY)
    digits = expected_fingerprint().replace(":", "")
    room = found("Lab 3", server.port, tls=True, fingerprint=expected_fingerprint())
    client, out = text_client(lambda: [room], answers=["y"])
    assert client.run() == 0
    assert client.tls.pin == expected_fingerprint()  # the whole fingerprint, not the 16 shown
    shown = out.getvalue()
    assert "      %s %s %s %s\n%s" % (digits[:4], digits[4:8], digits[8:12], digits[12:16],
                                      CHECK_PROMPT) in shown
    assert shown.index(CHECK_PROMPT) < shown.index("Welcome, amy")
    assert "encrypted" in shown


@pytest.mark.system
@pytest.mark.parametrize("answer", ["n", "", None])
def test_an_encrypted_room_whose_digits_are_not_confirmed_is_sent_nothing(make_server, capsys,
                                                                         answer):
    from helpers import CERT, KEY
    from test_tls import expected_fingerprint
    from chat_app.discovery.room_search import NOT_YOUR_ROOM
    server = make_server("--tls-cert", CERT, "--tls-key", KEY)
    room = found("Lab 3", server.port, tls=True, fingerprint=expected_fingerprint())
    client, out = text_client(lambda: [room], answers=[answer])
    assert client.run() == 1
    assert client.session is None and server.room.connection_count() == 0
    said = capsys.readouterr().err
    assert NOT_YOUR_ROOM in said and said.rstrip().endswith(
        'type its address and fingerprint from the board: python3 chat.pyz client --text '
        '--tls-fingerprint "DIGITS FROM THE BOARD" ADDRESS')


@pytest.mark.system
def test_an_encrypted_room_found_with_no_one_to_confirm_says_to_type_the_digits(make_server,
                                                                               capsys):
    from helpers import CERT, KEY
    from test_tls import expected_fingerprint
    server = make_server("--tls-cert", CERT, "--tls-key", KEY)
    room = found("Lab 3", server.port, tls=True, fingerprint=expected_fingerprint())
    client, out = text_client(lambda: [room])  # piped: no one answers
    assert client.run() == 1
    assert client.session is None and server.room.connection_count() == 0
    said = capsys.readouterr().err
    assert "no one at this terminal can compare its fingerprint" in said
    assert said.rstrip().endswith('python3 chat.pyz client --text --tls-fingerprint "DIGITS FROM '
                                  'THE BOARD" 127.0.0.1:%d' % server.port)


@pytest.mark.system
def test_rooms_of_one_name_are_marked_with_their_addresses_and_the_person_chooses(make_server):
    low, high = sorted((make_server(), make_server()), key=lambda server: server.port)
    bob = Client(low.port)
    bob.join("bob")
    rooms = [found("Lab 3", high.port, users=23), found("lab 3", low.port, users=1)]
    client, out = text_client(lambda: rooms, answers=["1"])
    assert client.run() == 0
    shown = out.getvalue()
    assert ('! More than one room is called "lab 3" (at 127.0.0.1:%d and 127.0.0.1:%d). Anyone '
            "can start a room with any name: ask your teacher which address is on the board"
            % (low.port, high.port)) in shown
    assert ("  1. [same name] lab 3 \u2014 1 person \u2014 open \u2014 not encrypted \u2014 "
            "127.0.0.1:%d\n  2. [same name] Lab 3 \u2014 23 people"
            % low.port) in shown  # in the order of the ports, not of the people claimed
    assert "Found one room" not in shown
    assert bob.expect("joined")["name"] == "amy"  # number 1: the room at the lower port


@pytest.mark.system
def test_a_password_refused_by_a_room_of_a_shared_name_says_it_may_be_the_wrong_room(
        make_server):
    """A classmate's "Lab 3" with a password of its own refuses the board's: say why that may be."""
    real, fake = make_server("--password", "pw42"), make_server("--password", "guess")
    rooms = [found("Lab 3", real.port, password=True), found("Lab 3", fake.port, password=True)]
    client, out = text_client(lambda: rooms, answers=[str(1 + (fake.port > real.port))])
    client.password = "pw42"
    assert client.run() == 1  # asked again at end of input: none given
    shown = out.getvalue()
    assert ('Wrong password for this room. Ask the teacher for the password. Another room on '
            'this network is also called "Lab 3": if that password is the one on the board, '
            "this may be the wrong room. Check that its address, 127.0.0.1:%d, is the one on "
            "the board." % fake.port) in shown


# --- the teacher's room ------------------------------------------------------

@pytest.mark.system
def test_the_teachers_room_in_the_terminal(pyz, scripted):
    server = scripted(role="student", teachers=["ann"], users=["ann", "amy"], logged=True,
                      hand=False, state={"locked": False, "slow": 0, "private": True,
                                         "muted": []},
                      history=[said(3, "ann", "page 12", teacher=True)])
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for(r"<ann \(teacher\)> page 12$")
        recorded = client.wait_for(r"^\* This room is recorded: the teacher keeps a log")
        client.wait_for(r"^\* Teacher: ann\.$")
        connected = client.wait_for(r"^\* Connected to ")
        with client._lock:  # said with the welcome, before anyone writes
            assert client.lines.index(recorded) < client.lines.index(connected)
        client.type("/hand")
        assert server.expect("hand") == {"type": "hand", "up": True}
        server.send({"type": "hand", "name": "amy", "up": True, "time": 1764410001.0})
        client.wait_for(r"^\* Your hand is up")
        client.type("/hand down")
        assert server.expect("hand") == {"type": "hand", "up": False}
        client.type("/hand sideways")
        client.wait_for(r"^! Usage: /hand")
        client.type("/lock")
        client.wait_for(r"^! Only the teacher can use /lock\.")
        client.type("can I go?")
        assert server.expect("say")["text"] == "can I go?"
        server.send({"type": "error", "code": "slow_mode", "seconds": 20,
                     "message": "Slow mode: wait 20 seconds before your next message."})
        client.wait_for(r"^! Slow mode: wait 20 seconds")
        client.wait_for(r'^\* Not sent: "can I go\?"$')
    finally:
        client.end_input()
        assert "Traceback" not in client.finish()


@pytest.mark.system
def test_the_terminal_client_in_the_real_teachers_room(pyz, make_server, tmp_path):
    from chat_app.wire import teacher_id
    server = make_server("--log", str(tmp_path / "lesson.jsonl"))
    ann = Client(server.port)
    ann.join("ann", teacher_token=teacher_id.read_token(server.port))
    ann.send({"type": "control", "action": "lock"})
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for(r"^\* This room is recorded")
        client.wait_for(r"^\* The room is locked")
        client.wait_for(r"^\* Teacher: ann\.$")
        client.type("/hand")
        assert ann.expect("hand", name="amy")["up"] is True
        client.wait_for(r"^\* Your hand is up")
        client.type("may I speak?")
        client.wait_for(r"^! The teacher has locked the room")
        client.wait_for(r'^\* Not sent: "may I speak\?"$')
        ann.send({"type": "say", "text": "yes, amy"})
        client.wait_for(r"<ann \(teacher\)> yes, amy$")
    finally:
        client.end_input()
        assert "Traceback" not in client.finish()


@pytest.mark.system
def test_a_teacher_at_the_terminal_reads_whose_hand_went_up(pyz, scripted):
    server = scripted(role="teacher", teachers=["ann"], users=["ann", "bob"])
    client = TerminalClient(pyz, server.port, "--name", "ann")
    try:
        client.wait_for(r"^\* You are a teacher in this room\.$")
        server.send({"type": "hand", "name": "bob", "up": True, "time": 1764410001.0},
                    {"type": "hand", "name": "bob", "up": False, "time": 1764410002.0})
        client.wait_for(r"^\* bob raised a hand\.$")
        client.wait_for(r"^\* bob has no hand up now\.$")
        client.type("/hand")
        client.wait_for(r"^! Teachers do not raise hands")
    finally:
        client.end_input()
        assert "Traceback" not in client.finish()


def teacher_by_password(pyz, make_server):
    """Return a room with a teacher password, amy in it, and ann's client joined by it."""
    server = make_server("--teacher-password", "owl")
    amy = server.client()
    amy.join("amy")
    client = TerminalClient(pyz, server.port, "--name", "ann", "--teacher-password", "owl")
    return server, amy, client


@pytest.mark.system
def test_a_teacher_types_the_teachers_commands_at_the_terminal(pyz, make_server):
    server, amy, client = teacher_by_password(pyz, make_server)
    try:
        client.wait_for(r"^\* You are a teacher in this room\.$")
        client.type("/help")
        client.wait_for(r"^Teacher commands:$")
        client.wait_for(r"^  /mute NAME  +refuse NAME's messages")
        client.type("/slow fast")
        client.wait_for(r"^! Usage: /slow SECONDS \(0 to 3600\) or /slow off$")
        client.wait_for(r'^\* Not sent: "/slow fast"$')
        client.type("/mute amy")
        client.wait_for(r"The teacher muted amy")
        amy.send({"type": "say", "text": "hello?"})
        amy.expect_error("muted")
        amy.send({"type": "hand", "up": True})
        client.wait_for(r"^\* amy raised a hand\.$")
        client.type("/hands")
        client.wait_for(r"^  1\. amy  since \d\d:\d\d$")
        client.type("/hands down")
        client.wait_for(r"^\* The teacher lowered every raised hand \(1 hand\)\.$")
        amy.expect("hand", up=False)
    finally:
        client.end_input()
        assert "Traceback" not in client.finish()


@pytest.mark.system
def test_a_teacher_on_another_computer_joins_with_the_teacher_password(pyz, make_server):
    server, amy, client = teacher_by_password(pyz, make_server)
    try:
        client.wait_for(r"^\* You are a teacher in this room\.$")
        assert amy.expect("joined", name="ann").get("teacher") is True
    finally:
        client.end_input()
        assert "Traceback" not in client.finish()
    wrong = TerminalClient(pyz, server.port, "--name", "ann", "--teacher-password", "0wl")
    wait_until(lambda: wrong.process.poll() is not None, WAIT, "the refused client to end")
    assert wrong.process.returncode == 1
    said = wrong.finish()
    assert "Wrong teacher password" in said and "Traceback" not in said


# --- without a server: the history's notices ------------------------------------

def test_the_terminal_client_shows_history_notices_as_announcements(tmp_path):
    import io

    from chat_app.client.text_client import TerminalClient

    class Options:
        host, port, name, password, text = "127.0.0.1", 1, "amy", None, True

    out = io.StringIO()
    client = TerminalClient(Options(), stdin=io.StringIO(""), stdout=out)
    client.on_joined(welcome(message(1, "bob", "hi"), notice_frame(2, "Pens down")))
    lines = out.getvalue().splitlines()
    assert lines[0] == "* Earlier messages:"
    assert lines[1].endswith("<bob> hi") and lines[2].endswith("*** Pens down")
    assert lines[3] == "* End of earlier messages."
    client.on_frame(notice_frame(2, "Pens down"))  # the same notice again: not shown
    client.on_frame(notice_frame(3, "Break"))
    assert out.getvalue().count("Pens down") == 1 and "*** Break" in out.getvalue()
