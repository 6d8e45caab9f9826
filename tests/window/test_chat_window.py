"""The Tk client, driven through its real widgets against a real server (window/chat_window.py).

The tests run under the display fixture (an Xvfb of their own when there is
no display).  Any exception in a Tk callback fails the test.  Gui and the
`gui` fixture here drive a whole ChatWindow; test_join_form.py,
test_chat_view.py, test_teacher_panel.py and others import them from here.
"""

import argparse
import gc
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback

import pytest

from helpers import LOOPBACK, WAIT, Client, as_student, require, wait_until
from scripted_server import said, scripted  # noqa: F401  (a fixture)

try:
    import tkinter
except ImportError:  # pragma: no cover - depends on the Python build
    tkinter = None

pytestmark = pytest.mark.system


def options(**given):
    values = dict(host=None, port=None, name=None, password=None, text=False)
    values.update(given)
    return argparse.Namespace(**values)


class Gui:
    """One ChatWindow in this process, with a pump for its event loop."""

    def __init__(self, settings_path, search=None, teacher=False, **given):
        """`teacher`: keep the window's own join_fields, which sends this computer's
        teacher token; else the window is a student's, as on a student's computer
        (the test's server writes its token where this process would find it)."""
        from chat_app.window.chat_window import ChatWindow
        self.errors = []
        self.root = tkinter.Tk()
        self.root.report_callback_exception = self._record
        self.window = ChatWindow(self.root, options(**given), settings_path, search)
        if not teacher:
            self.window.join_fields = lambda host, port: {}
        self.form, self.chat = self.window.form, self.window.chat

    def _record(self, kind, value, trace):
        self.errors.append("".join(traceback.format_exception(kind, value, trace)))

    def pump(self, until, what, timeout=WAIT):
        def pumped():
            self.root.update()
            return until()

        wait_until(pumped, timeout, lambda: "%s; log:\n%s\nstatus: %s"
                   % (what, self.log(), self.chat.status.cget("text")), interval=0.005)

    def fill(self, **values):
        for key, value in values.items():
            self.form.vars[key].set(value)

    def press_enter(self, widget):
        self.press(widget, "<Return>")

    def press(self, widget, key):
        """Give `widget` the focus and press `key` (an event sequence) in it."""
        widget.focus_force()
        self.root.update()
        widget.event_generate(key)
        self.root.update()

    def joined(self):
        return self.window.state is not None and self.window.session.connected

    def join(self, port, name):
        self.fill(host=LOOPBACK, port=str(port), name=name)
        self.form.button.invoke()
        self.pump(self.joined, "the join")

    def log(self):
        return self.chat.log.get("1.0", "end-1c")

    def wait_log(self, text, timeout=WAIT):
        self.pump(lambda: text in self.log(), repr(text), timeout)

    def type(self, text):
        self.chat.set_typed(text)

    def enter(self, text, shows):
        """Type a line, press Enter, and wait until the log shows `shows`."""
        self.type(text)
        self.press_enter(self.chat.input)
        self.wait_log(shows)

    def users(self):
        return list(self.chat.people.get(0, "end"))

    def problem(self):
        return self.form.message.cget("text")

    def close(self):
        if not self.window.closed:
            self.window.close()
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture
def gui(display, tmp_path):
    require(tkinter is not None, "tkinter for the GUI tests")
    made = []

    def make(settings=None, **given):
        path = tmp_path / (settings or "settings%d.json" % len(made))
        made.append(Gui(str(path), **given))
        return made[-1]

    yield make
    try:
        for item in made:
            item.close()
    finally:
        # Tk objects must be freed on the Tk thread: a garbage collection
        # that happens to run in a network thread would abort Tcl.
        del made[:]
        gc.collect()


def free_port():
    probe = socket.socket()
    probe.bind((LOOPBACK, 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def colors():
    """Return the window's colours, imported once Tk is known to be there."""
    from chat_app.window.look import COLORS
    return COLORS


def attempt(gui_maker, port, name="amy", **extra):
    amy = gui_maker()
    amy.fill(host=LOOPBACK, port=str(port), name=name, **extra)
    amy.form.button.invoke()
    amy.pump(lambda: amy.window.session is None, "the refusal", timeout=WAIT * 2)
    assert str(amy.form.button.state()) in ("()", "('active',)", "('focus',)") or \
        "disabled" not in amy.form.button.state()
    return amy.problem()


# --- the chat ----------------------------------------------------------------

def test_commands(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    amy.enter("/me waves", shows="* amy waves")
    amy.enter("/who", shows="In the room: amy")
    amy.enter("/help", shows="/msg NAME text")
    amy.enter("/frobnicate", shows="Unknown command /frobnicate")
    assert amy.chat.typed() == "/frobnicate"  # kept, to be corrected


def test_a_refused_message_goes_back_into_the_box(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    amy.type("/msg nobody are you there?")
    amy.press_enter(amy.chat.input)
    amy.wait_log("Nobody called nobody")
    amy.pump(lambda: amy.chat.typed() == "/msg nobody are you there?", "the text back")


def test_a_paste_longer_than_the_limit_is_sent_in_pieces_at_line_breaks(make_server, gui):
    server = make_server("--max-text", "20")
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    lines = ["line %02d" % i for i in range(9)]
    amy.type("\n".join(lines))
    amy.press_enter(amy.chat.input)
    got = [bob.expect("message")["text"] for _ in range(4)]
    assert got == ["line 00\nline 01", "line 02\nline 03", "line 04\nline 05",
                   "line 06\nline 07"]
    assert bob.expect("message")["text"] == "line 08"
    amy.wait_log("line 08")
    assert amy.chat.typed() == "" and "limit" not in amy.log()


def test_whitespace_only_is_not_sent(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    amy.type(" \n\t\u200b ")
    amy.press_enter(amy.chat.input)
    amy.type("visible")
    amy.press_enter(amy.chat.input)
    assert bob.expect("message")["text"] == "visible"  # nothing came before it


def test_a_burst_of_a_thousand_messages_keeps_the_window_answering(make_server, gui):
    server = make_server("--rate-limit", "0")
    amy = gui()
    amy.join(server.port, "amy")
    bob = Client(server.port)
    bob.join("bob")
    for i in range(1000):
        bob.send({"type": "say", "text": "burst %d" % i})
    turns = []

    def drawn():
        started = time.monotonic()
        amy.root.update()
        turns.append(time.monotonic() - started)
        return "burst 999" in amy.log()

    wait_until(drawn, 30, "the 1000th message to be drawn", interval=0.005)
    longest = max(turns)
    assert amy.log().count("burst ") == 1000
    print("longest event-loop turn during the burst: %.0f ms" % (longest * 1000))


# --- losing the connection ---------------------------------------------------

def test_reconnects_after_the_server_restarts_and_loses_nothing(make_server, gui):
    server = make_server()
    port = server.port
    amy = gui()
    amy.join(port, "amy")
    amy.type("before")
    amy.press_enter(amy.chat.input)
    amy.wait_log("amy: before")
    server.close()
    amy.pump(lambda: "The chat server has stopped" in amy.chat.status.cget("text"), "the loss")
    amy.type("typed while away")
    amy.press_enter(amy.chat.input)
    assert amy.chat.typed() == "typed while away"  # kept, not dropped
    assert "stays in the box" in amy.chat.status.cget("text")
    again = make_server("--port", str(port))
    bob = Client(port)
    bob.join("bob")
    amy.pump(lambda: amy.window.session.connected and "amy" in again.room.users(),
             "the rejoin", timeout=WAIT * 2)
    amy.wait_log("Reconnected.")
    assert "Connected to" in amy.chat.status.cget("text")
    amy.press_enter(amy.chat.input)
    assert bob.expect("message")["text"] == "typed while away"
    assert amy.log().count("amy: before") == 1


def test_a_stopped_server_is_not_blamed_on_the_students_address(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    server.close()  # the server says goodbye: "The server is shutting down."
    # The second retry comes after a failed attempt: nothing listens at the port now.
    amy.pump(lambda: "Trying again in 2 s" in amy.chat.status.cget("text"),
             "a retry after a failed attempt", timeout=WAIT * 2)
    assert amy.chat.status.cget("text") == (
        "The chat server has stopped (the teacher ended the chat or is restarting it). "
        "Trying again in 2 s\u2026 Your typing is kept.")


def test_rejoin_history_shows_nothing_twice(make_server, gui, tmp_path):
    path = str(tmp_path / "room.jsonl")
    server = make_server("--log", path)
    port = server.port
    amy = gui()
    amy.join(port, "amy")
    bob = Client(port)
    bob.join("bob")
    bob.send({"type": "say", "text": "seen before the restart"})
    amy.wait_log("seen before the restart")
    server.close()
    again = make_server("--log", path, "--port", str(port))
    bob = Client(port)
    bob.join("bob")
    bob.send({"type": "say", "text": "said while amy was away"})
    bob.expect("message")
    amy.pump(lambda: "said while amy was away" in amy.log(), "the missed message",
             timeout=WAIT * 2)
    assert amy.log().count("seen before the restart") == 1
    assert again.room.users() == ["bob", "amy"]


def test_closing_the_window_leaves_and_stops_every_thread(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    before = time.monotonic()
    amy.window.close()
    assert time.monotonic() - before < 1
    assert bob.expect("left", name="amy")["reason"] == "quit"
    client_threads = ("chat-session", "chat-writer")
    wait_until(lambda: not any(thread.name in client_threads
                               for thread in threading.enumerate()), 1,
               lambda: "the client's threads to end: %r" % [
                   t.name for t in threading.enumerate() if t.name in client_threads])


def leave_answers(monkeypatch, *answers):
    """Answer the "Leave anyway?" question with `answers`; return the roots it was asked for."""
    from chat_app.window import chat_window
    asked = []

    def ask(root):
        asked.append(root)
        return answers[len(asked) - 1]

    monkeypatch.setattr(chat_window, "ask_to_leave", ask)
    return asked


def close_button(amy):
    """Press the window's close button (what the window manager calls)."""
    amy.root.tk.call(amy.root.protocol("WM_DELETE_WINDOW"))


def test_closing_with_unsent_text_asks_first(gui, server, monkeypatch):
    asked = leave_answers(monkeypatch, False, False, True)
    amy = gui()
    amy.join(server.port, "amy")
    amy.type("half a thought")
    amy.press(amy.chat.input, "<Control-q>")
    assert len(asked) == 1 and not amy.window.closed  # "no": still chatting
    assert amy.chat.typed() == "half a thought"
    amy.type("")
    amy.window.session.waiting = lambda: 3  # paced messages still to go out
    close_button(amy)
    assert len(asked) == 2 and not amy.window.closed
    amy.type("half a thought")
    close_button(amy)
    assert len(asked) == 3 and amy.window.closed  # "yes"


def test_tks_own_dialog_taking_the_focus_raises_nothing(gui, server):
    # The "Leave the chat?" question is a Tk dialog that tkinter cannot name.
    amy = gui()
    amy.join(server.port, "amy")
    dialog = ".__tk__messagebox"
    amy.root.tk.call("toplevel", dialog)
    amy.root.tk.call("entry", dialog + ".answer")
    amy.root.tk.call("pack", dialog + ".answer")
    amy.root.tk.call("focus", "-force", dialog + ".answer")
    amy.root.update()
    amy.chat.input.event_generate("<FocusOut>")
    amy.root.update()
    assert amy.window.state.focused  # the program's own dialog has the focus
    amy.root.tk.call("destroy", dialog)
    amy.press(amy.chat.input, "<FocusIn>")
    assert amy.window.state.focused and not amy.errors, amy.errors


def test_closing_with_nothing_unsent_does_not_ask(gui, server, monkeypatch):
    asked = leave_answers(monkeypatch)
    amy = gui()
    amy.join(server.port, "amy")
    amy.type("  \n")
    close_button(amy)
    assert amy.window.closed and asked == []


# --- the real program ----------------------------------------------------------

def test_without_a_display_the_terminal_client_takes_over(pyz, server, tmp_path):
    env = as_student()
    env.pop("DISPLAY", None)
    result = subprocess.run(
        [sys.executable, pyz, "client", "--host", LOOPBACK, "--port", str(server.port),
         "--name", "amy"], input=b"hello from a terminal\n", env=env,
        capture_output=True, timeout=30)
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert err.count("\n") == 1 and "cannot open a window" in err and "--text" in err
    assert b"<amy> hello from a terminal" in result.stdout


def test_without_tk_the_terminal_client_takes_over(pyz, server, tmp_path):
    fake = tmp_path / "no_tk" / "tkinter"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named _tkinter')\n")
    env = as_student(dict(os.environ, PYTHONPATH=str(fake.parent)))
    result = subprocess.run(
        [sys.executable, pyz, "client", "--host", LOOPBACK, "--port", str(server.port),
         "--name", "amy"], input=b"no tk here\n", env=env, capture_output=True, timeout=30)
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert err.count("\n") == 1 and "needs Tk" in err and "apt install python3-tk" in err
    assert b"<amy> no tk here" in result.stdout


def test_real_keyboard_input_joins_chats_and_ctrl_q_leaves(pyz, display, server, tmp_path):
    xdotool = shutil.which("xdotool")
    require(xdotool is not None, "xdotool for real X input (apt-get install xdotool)")
    bob = Client(server.port)
    bob.join("bob")
    client = subprocess.Popen(
        [sys.executable, pyz, "client", "--host", LOOPBACK, "--port", str(server.port),
         "--name", "amy"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=as_student(dict(os.environ, HOME=str(tmp_path))))
    try:
        window = wait_for_window(xdotool, client)
        xdo(xdotool, "windowfocus", "--sync", window)
        xdo(xdotool, "key", "--window", window, "Return")
        assert bob.expect("joined", timeout=WAIT * 2)["name"] == "amy"
        # The chat view takes the keyboard focus as it shows, and names the window.
        wait_until(lambda: "amy in " in xdo(xdotool, "getwindowname", window), WAIT,
                   "the chat view to show")
        xdo(xdotool, "type", "--delay", "20", "typed for real")
        xdo(xdotool, "key", "Return")
        assert bob.expect("message")["text"] == "typed for real"
        xdo(xdotool, "key", "ctrl+q")
        started = time.monotonic()
        assert client.wait(WAIT) == 0
        assert time.monotonic() - started < 1
        assert bob.expect("left", name="amy")["reason"] == "quit"
    finally:
        if client.poll() is None:
            client.kill()
        out, err = client.communicate(timeout=WAIT)
        assert b"Traceback" not in err, err


def xdo(xdotool, *args):
    return subprocess.run([xdotool] + list(args), check=True, capture_output=True,
                          text=True, timeout=WAIT).stdout


def wait_for_window(xdotool, process):
    def window():
        # Tk sets no _NET_WM_PID; the class name tells our window apart.
        found = subprocess.run([xdotool, "search", "--classname", "chat_app"],
                               capture_output=True, text=True, timeout=WAIT)
        assert process.poll() is None, process.stderr.read()
        return found.stdout.split()[-1] if found.stdout.split() else None

    return wait_until(window, WAIT * 2, "the chat window to appear", interval=0.1)


# --- passwords, removal, lost connections ---------------------------------------

def test_a_password_room_asks_for_the_password_at_the_first_join(make_server, gui):
    server = make_server("--password", "pw")
    amy = gui()
    problem = attempt(lambda: amy, server.port)
    assert "needs a password" in problem and "wrong" not in problem.lower()
    field = amy.form.entries["password"]
    assert field.cget("show") == "\u2022"
    assert amy.root.focus_lastfor() is field
    field.insert(0, "pw")
    amy.press_enter(field)
    amy.pump(amy.joined, "the join with the password")
    assert server.room.users() == ["amy"]


def restart_with_password(make_server, server, *args):
    port = server.port
    server.close()
    return make_server("--port", str(port), "--password", "pw", *args)


def test_a_password_added_mid_lesson_asks_for_it_and_rejoins(make_server, gui):
    server = make_server()
    amy = gui()
    amy.join(server.port, "amy")
    amy.enter("before the restart", shows="amy: before the restart")
    again = restart_with_password(make_server, server)
    chat = amy.chat
    amy.pump(chat.bar_password.winfo_ismapped, "the password field", timeout=WAIT * 2)
    assert chat.bar_password.cget("show") == "\u2022"
    assert "needs a password" in chat.bar_words.cget("text")
    assert amy.root.focus_lastfor() is chat.bar_password
    assert "amy: before the restart" in amy.log()  # the log is kept
    assert amy.window.session is None  # reconnecting stopped
    chat.bar_password.insert(0, "guess123")
    amy.press_enter(chat.bar_password)
    amy.pump(lambda: chat.bar_password.winfo_ismapped() and
             "wrong" in chat.bar_words.cget("text").lower(), "the wrong password refused")
    chat.bar_password.insert(0, "pw")
    amy.press_enter(chat.bar_password)
    amy.pump(lambda: amy.joined() and again.room.users() == ["amy"], "the rejoin")
    amy.wait_log("Reconnected.")
    assert not chat.bar.winfo_ismapped()
    assert amy.log().count("amy: before the restart") == 1
    amy.enter("after the restart", shows="amy: after the restart")


def test_the_password_bar_stays_while_the_password_waits_its_turn(make_server, gui,
                                                                    monkeypatch):
    from chat_app.relay import access
    from chat_app.window.chat_window import CHECKING_PASSWORD
    monkeypatch.setattr(access, "MAX_PASSWORD_DELAY", 2.0)  # the last step, scaled from 8 s
    server = make_server()
    amy = gui()
    amy.join(server.port, "amy")
    amy.type("a draft")  # typed, never sent without an Enter after the join
    again = restart_with_password(make_server, server)
    chat = amy.chat
    amy.pump(chat.bar_password.winfo_ismapped, "the password field", timeout=WAIT * 2)
    assert chat.input.cget("state") == "disabled"  # a password cannot be typed into the box
    guard = again.room._guard
    for _ in range(7):  # seven wrong ones from this address just now: the next waits 2 s
        guard.finish(guard.line_up(LOOPBACK, None), False)
    chat.bar_password.insert(0, "pw")
    amy.press_enter(chat.bar_password)
    assert chat.bar.winfo_ismapped() and chat.bar_password.instate(["disabled"])
    assert chat.bar_button.instate(["disabled"])
    words = chat.bar_words.cget("text")  # the server's words may have come already
    assert words == CHECKING_PASSWORD or "Too many wrong passwords" in words
    amy.pump(lambda: "Too many wrong passwords" in chat.bar_words.cget("text"),
             "the wait told in the bar")
    assert "within 2 seconds" in chat.bar_words.cget("text")
    assert "within 2 seconds" in chat.status.cget("text")
    assert chat.bar.winfo_ismapped() and amy.root.focus_lastfor() is not chat.input
    amy.pump(amy.joined, "the rejoin after the wait")
    amy.wait_log("Reconnected.")
    assert not chat.bar.winfo_ismapped() and amy.root.focus_lastfor() is chat.input
    assert chat.input.cget("state") == "normal" and chat.typed() == "a draft"
    amy.enter("after the wait", shows="amy: after the wait")
    assert "a draft" not in amy.log()


def test_a_kicked_user_sees_the_reason_and_can_rejoin(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    amy.pump(lambda: amy.users() == ["amy", "bob"], "the user list")
    assert server.room.kick("amy", "too many emoji") == "amy"
    chat = amy.chat
    amy.pump(chat.bar_button.winfo_ismapped, "the Rejoin button")
    assert "too many emoji" in chat.bar_words.cget("text")
    assert chat.bar_button.cget("text") == "Rejoin"
    assert not chat.bar_password.winfo_ismapped()
    assert chat.people.cget("foreground") == colors()["stale"]
    assert "not in the room" in chat.count.cget("text")
    assert bob.expect("left", name="amy")["reason"] == "kicked"
    chat.bar_button.invoke()
    amy.pump(lambda: amy.joined() and "(" not in chat.count.cget("text"), "the rejoin")
    assert bob.expect("joined")["name"] == "amy"
    assert not chat.bar.winfo_ismapped() and "not in the room" not in chat.count.cget("text")
    assert chat.people.cget("foreground") != colors()["stale"]


def test_a_disconnected_window_greys_its_user_list_until_it_is_back(make_server, gui):
    server = make_server()
    port = server.port
    amy = gui()
    amy.join(port, "amy")
    chat = amy.chat
    assert chat.people.cget("foreground") != colors()["stale"]
    server.close()
    amy.pump(lambda: "(disconnected)" in chat.count.cget("text"), "the greyed list")
    assert chat.people.cget("foreground") == colors()["stale"]
    assert chat.hand_button.instate(["disabled"])  # no teacher to tell
    make_server("--port", str(port))
    amy.pump(lambda: chat.count.cget("text") == "1 person here", "the rejoin",
             timeout=WAIT * 2)
    assert chat.people.cget("foreground") != colors()["stale"]
    assert not chat.hand_button.instate(["disabled"])


# --- pacing -------------------------------------------------------------------------

def test_a_long_paste_is_paced_and_arrives_whole_in_order(make_server, gui):
    server = make_server("--max-text", "20", "--rate-limit", "20")
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    lines = ["line %03d" % i for i in range(100)]  # two lines to a message: 50 messages
    amy.type("\n".join(lines))
    amy.press_enter(amy.chat.input)
    amy.pump(lambda: "Sending" in amy.chat.status.cget("text"), "the sending status")
    assert " of 50\u2026" in amy.chat.status.cget("text")
    got = []
    for _ in range(50):
        got.extend(bob.expect("message", timeout=WAIT * 2)["text"].split("\n"))
    assert got == lines
    amy.pump(lambda: amy.chat.status.cget("text").startswith("Connected"), "the status back")
    amy.wait_log("line 099")
    assert "too fast" not in amy.log()


def test_a_message_the_server_leaves_unconfirmed_is_shown_waiting(gui, server, monkeypatch):
    from chat_app.window.chat_window import waiting_words
    released, say = threading.Event(), server.room.say

    def stalled_say(peer, text, to=None):  # the teacher's server suspended (Ctrl+Z)
        if text == "held up":
            released.wait(WAIT * 3)
        return say(peer, text, to)

    monkeypatch.setattr(server.room, "say", stalled_say)
    amy = gui()
    amy.join(server.port, "amy")
    try:
        amy.type("held up")
        amy.press_enter(amy.chat.input)
        amy.pump(lambda: amy.chat.status.cget("text") == waiting_words(1), "the waiting status")
        assert amy.chat.status.cget("text") == (
            "Waiting for the server to confirm 1 message\u2026 (it is kept and sent again "
            "after a reconnect)")
    finally:
        released.set()
    amy.wait_log("amy: held up")
    amy.pump(lambda: amy.chat.status.cget("text").startswith("Connected to"), "the status back")


def test_paste_progress_goes_on_across_a_reconnect(make_server, gui):
    server = make_server("--rate-limit", "10")
    port = server.port
    bob = Client(port)
    bob.join("bob")
    amy = gui()
    amy.join(port, "amy")
    amy.type("\n".join("line %03d" % i for i in range(60)))
    amy.window.state.limits = amy.window.state.limits._replace(max_text=8)  # a line a message
    amy.press_enter(amy.chat.input)
    amy.pump(lambda: amy.chat.status.cget("text").startswith("Sending"), "the sending status")
    for _ in range(25):
        bob.expect("message", timeout=WAIT)
    server.close()
    make_server("--rate-limit", "10", "--port", str(port))
    amy.wait_log("Reconnected.", timeout=WAIT * 2)
    amy.pump(lambda: amy.chat.status.cget("text").startswith("Sending"), "sending again")
    sent, total = re.match(r"Sending (\d+) of (\d+)", amy.chat.status.cget("text")).groups()
    assert total == "60" and int(sent) > 18, amy.chat.status.cget("text")  # not "18 of 35"


# --- the teacher's room ------------------------------------------------------

def point_of(amy, number):
    """Return a pixel (x, y) of `log` inside message `number`'s text."""
    from chat_app.window.chat_view import message_marks
    first = amy.chat.log.index(message_marks(number)[0])
    x, y, width, height = amy.chat.log.bbox(first)
    return x + 2, y + height // 2


def row_y(amy, name):
    """Return a pixel y of `people` inside the row that names `name`."""
    index = amy.chat.listed.index(name)
    return amy.chat.people.bbox(index)[1] + 2


def test_the_hooks_a_teachers_window_builds_on(gui, scripted):
    server = scripted(role="teacher", teachers=["ann"], users=["ann", "bob", "amy"],
                      history=[said(7, "bob", "first"), said(8, "amy", "second")])
    welcomes = []
    ann = gui(host=LOOPBACK, port=server.port, name="ann")
    ann.window.on_joined_hooks.append(welcomes.append)
    hands = []
    ann.window.extra_frames["hand"] = hands.append
    ann.window.join_fields = lambda host, port: {"teacher_token": "%s:%d" % (host, port)}
    assert ann.window.role is None
    ann.press_enter(ann.form.entries["name"])
    ann.pump(ann.joined, "the join")
    assert ann.window.role == "teacher" and welcomes[0]["role"] == "teacher"
    assert server.joins[0]["teacher_token"] == "%s:%d" % (LOOPBACK, server.port)
    ann.root.update()
    assert ann.chat.message_at(*point_of(ann, 7)) == 7
    assert ann.chat.message_at(*point_of(ann, 8)) == 8
    assert ann.chat.message_at(2, ann.chat.log.winfo_height() - 2) is None  # below the lines
    assert ann.users() == ["ann (teacher)", "amy", "bob"]
    assert [ann.chat.user_at(row_y(ann, name)) for name in ("ann", "amy", "bob")] == [
        "ann", "amy", "bob"]
    assert ann.chat.user_at(ann.chat.people.winfo_height() - 2) is None
    assert not ann.chat.hand_button.winfo_ismapped()  # a teacher raises no hand
    server.send({"type": "hand", "name": "bob", "up": True, "time": 1764410001.0})
    ann.pump(lambda: hands, "the hand frame for the hook")
    assert hands[0]["name"] == "bob"
    assert ann.window.send_frame({"type": "control", "action": "lock"})
    assert server.expect("control") == {"type": "control", "action": "lock"}


def joined_to(gui, server, name="amy", **given):
    amy = gui(host=LOOPBACK, port=server.port, name=name, **given)
    amy.press_enter(amy.form.entries["name"])
    amy.pump(amy.joined, "the join")
    return amy


def test_a_student_raises_and_lowers_a_hand_with_the_button_and_typed(gui, scripted):
    server = scripted(role="student", teachers=["ann"], users=["ann", "amy"], hand=False)
    amy = joined_to(gui, server)
    button = amy.chat.hand_button
    amy.pump(button.winfo_ismapped, "the hand button")
    assert button.cget("text") == "Raise hand"
    button.invoke()
    assert server.expect("hand") == {"type": "hand", "up": True}
    assert button.cget("text") == "Raise hand"  # until the server says the hand is up
    server.send({"type": "hand", "name": "amy", "up": True, "time": 1764410001.0})
    amy.pump(lambda: button.cget("text") == "Lower hand", "the hand shown up")
    amy.wait_log("Your hand is up")
    amy.type("/hand down")
    amy.press_enter(amy.chat.input)
    assert server.expect("hand") == {"type": "hand", "up": False} and amy.chat.typed() == ""
    server.send({"type": "hand", "name": "amy", "up": False, "time": 1764410002.0})
    amy.pump(lambda: button.cget("text") == "Raise hand", "the hand shown down")
    amy.enter("/hand sideways", "Usage: /hand")  # commands.py's words
    assert amy.chat.typed() == "/hand sideways"


def test_a_hand_up_at_the_join_shows_on_the_button(gui, scripted):
    amy = joined_to(gui, scripted(role="student", hand=True, users=["amy"]))
    amy.pump(lambda: amy.chat.hand_button.cget("text") == "Lower hand", "the hand up")


def test_the_teacher_is_marked_in_the_list_and_on_messages(gui, scripted):
    server = scripted(role="student", teachers=["ann"], users=["bob", "ann", "amy"],
                      history=[said(3, "ann", "welcome all", teacher=True)])
    amy = joined_to(gui, server)
    assert amy.users() == ["ann (teacher)", "amy", "bob"]
    assert amy.chat.people.itemcget(0, "foreground") == colors()["teacher"]
    amy.wait_log("ann (teacher): welcome all")
    server.send({"type": "joined", "name": "tom", "teacher": True, "time": 1764410005.0},
                said(4, "tom", "hello", teacher=True), said(5, "bob", "hi"))
    amy.wait_log("bob: hi")
    assert "tom joined (teacher)" in amy.log() and "tom (teacher): hello" in amy.log()
    assert amy.users() == ["ann (teacher)", "tom (teacher)", "amy", "bob"]
    log = amy.chat.log
    assert "teacher" in log.tag_names(log.search("tom (teacher)", "1.0"))
    assert "teacher" not in log.tag_names(log.search("bob: hi", "1.0"))


@pytest.mark.parametrize("code, words", [
    ("muted", "The teacher has muted you in this room."),
    ("locked", "The teacher has locked the room: only the teacher writes now."),
    ("private_off", "The teacher has turned off private messages between students."),
])
def test_the_rules_refusals_keep_the_text_and_say_why(gui, scripted, code, words):
    server = scripted(role="student", users=["amy", "bob"])
    amy = joined_to(gui, server)
    amy.type("may I ask something?")
    amy.press_enter(amy.chat.input)
    assert server.expect("say")["text"] == "may I ask something?"
    amy.pump(lambda: amy.chat.typed() == "", "the box emptied while the say goes")
    server.send({"type": "error", "code": code, "message": words})
    amy.wait_log(words)
    assert amy.chat.typed() == "may I ask something?"


def rules_line(amy):
    return amy.chat.rules_line.cget("text") if amy.chat.rules_line.winfo_ismapped() else ""


def test_slow_mode_counts_down_beside_the_send_button_and_keeps_the_text(gui, scripted):
    server = scripted(role="student", users=["amy"], state={"slow": 30, "locked": False,
                                                              "private": True, "muted": []})
    amy = joined_to(gui, server)
    rule = "Slow mode: each student may send one message to the room every 30 seconds."
    amy.pump(lambda: rules_line(amy) == rule, "the slow mode's rule")
    amy.enter("first", "")
    server.expect("say")
    server.send(said(11, "amy", "first"))
    amy.pump(lambda: re.search(r"again in (30|29) seconds\.$", rules_line(amy)), "the countdown")
    amy.type("second")
    amy.press_enter(amy.chat.input)
    server.expect("say")
    server.send({"type": "error", "code": "slow_mode", "seconds": 2,
                 "message": "Slow mode: wait 2 seconds before your next message."})
    amy.wait_log("wait 2 seconds")
    assert amy.chat.typed() == "second"
    amy.pump(lambda: "again in 2 seconds" in rules_line(amy), "the countdown the server corrected")
    amy.pump(lambda: rules_line(amy) == rule, "the end of the countdown")
    assert amy.chat.typed() == "second"


def test_a_deleted_message_disappears_and_a_cleared_room_empties(gui, scripted):
    server = scripted(role="student", users=["amy", "bob"],
                      history=[said(7, "bob", "rude words"), said(8, "bob", "sorry")])
    amy = joined_to(gui, server)
    amy.wait_log("bob: sorry")
    server.send({"type": "deleted", "id": 7, "time": 1764410010.0},
                {"type": "notice", "about": "delete", "id": 9, "time": 1764410010.0,
                 "text": "The teacher deleted a message of bob's."})
    amy.wait_log("The teacher deleted a message")
    assert "rude words" not in amy.log() and "bob: sorry" in amy.log()
    log = amy.chat.log
    assert "event" in log.tag_names(log.search("The teacher deleted", "1.0"))
    server.send(said(10, "bob", "new line"), {"type": "cleared", "time": 1764410011.0},
                {"type": "notice", "about": "clear", "time": 1764410011.0,
                 "text": "The teacher cleared the room's history."})
    amy.wait_log("The teacher cleared the room's history.")
    assert amy.log().strip().splitlines() == [
        clock_of(1764410011.0) + " The teacher cleared the room's history."]
    server.send(said(12, "bob", "after"))
    amy.wait_log("bob: after")


def clock_of(when):
    from chat_app.wire.text_format import clock
    return clock(when)


def test_a_recorded_room_says_so_at_the_top_after_the_welcome(gui, scripted):
    amy = joined_to(gui, scripted(role="student", users=["amy"], logged=True,
                                  history=[said(2, "bob", "old")]))
    first = amy.log().splitlines()[0]
    assert first.endswith("This room is recorded: the teacher keeps a log of what is said.")


def test_a_window_on_the_servers_computer_sends_its_teacher_token(gui, scripted, tmp_path,
                                                                  monkeypatch):
    from chat_app.wire import teacher_id
    monkeypatch.setenv(teacher_id.HOME_VARIABLE, str(tmp_path / "home"))
    server = scripted(role="teacher", users=["ann"])
    token = teacher_id.write_token(server.port)[1]
    ann = joined_to(gui, server, "ann", teacher=True)
    assert server.joins[0]["teacher_token"] == token and ann.window.role == "teacher"
    another = scripted(role="student", users=["amy"])  # no token file for its port
    joined_to(gui, another, teacher=True)
    assert "teacher_token" not in another.joins[0]


def teacher_at(server, name="ann"):
    """Join `name` as the teacher, with the token the server wrote on this computer."""
    from chat_app.wire import teacher_id
    teacher = Client(server.port)
    assert teacher.join(name, teacher_token=teacher_id.read_token(server.port))["role"] == (
        "teacher")
    return teacher


def control(teacher, **fields):
    teacher.send(dict(fields, type="control"))


def test_a_students_window_follows_the_real_teachers_room(gui, make_server, tmp_path):
    server = make_server("--log", str(tmp_path / "lesson.jsonl"))
    ann = teacher_at(server)
    ann.send({"type": "say", "text": "welcome to the lesson"})
    amy = gui()
    amy.fill(host=LOOPBACK, port=str(server.port), name="amy")
    amy.pump(amy.form.recorded.winfo_ismapped, "the recorded line from the info probe")
    amy.form.button.invoke()
    amy.pump(amy.joined, "the join")
    assert amy.window.role == "student" and amy.users() == ["ann (teacher)", "amy"]
    assert "This room is recorded" in amy.log().splitlines()[0]
    amy.wait_log("ann (teacher): welcome to the lesson")
    control(ann, action="lock")
    amy.pump(lambda: rules_line(amy).startswith("The room is locked"), "the locked line")
    amy.type("let me in")
    amy.press_enter(amy.chat.input)
    amy.wait_log("The teacher has locked the room")
    amy.pump(lambda: amy.chat.typed() == "let me in", "the text kept")
    control(ann, action="unlock")
    control(ann, action="slow", seconds=30)
    amy.pump(lambda: "every 30 seconds" in rules_line(amy), "the slow rule")
    amy.chat.send_button.invoke()
    amy.wait_log("amy: let me in")
    amy.pump(lambda: "again in" in rules_line(amy), "the countdown")
    amy.type("and again")
    amy.press_enter(amy.chat.input)
    amy.wait_log("Slow mode is on")
    amy.pump(lambda: amy.chat.typed() == "and again", "the text kept in slow mode")
    control(ann, action="slow", seconds=0)
    control(ann, action="mute", name="amy")
    amy.pump(lambda: rules_line(amy).startswith("The teacher has muted you"), "the muted line")
    amy.chat.hand_button.invoke()
    assert ann.expect("hand", name="amy")["up"] is True
    amy.pump(lambda: amy.chat.hand_button.cget("text") == "Lower hand", "the hand up")
    control(ann, action="lower", name="amy")
    amy.pump(lambda: amy.chat.hand_button.cget("text") == "Raise hand", "the hand lowered")
    bob = Client(server.port)
    bob.join("bob")
    bob.send({"type": "say", "text": "rude words"})
    amy.wait_log("bob: rude words")
    control(ann, action="delete", id=ann.expect("message", text="rude words")["id"])
    amy.pump(lambda: "rude words" not in amy.log(), "the message deleted")
    assert "amy: let me in" in amy.log()
    control(ann, action="clear")
    amy.pump(lambda: "welcome to the lesson" not in amy.log(), "the history cleared")
    assert len(amy.log().strip().splitlines()) == 1  # the teacher's notice says why


def test_a_teacher_from_another_computer_ticks_teacher_and_types_its_password(gui, make_server):
    from chat_app.window import teacher_panel
    server = make_server("--teacher-password", "owl")
    ann = gui(host=LOOPBACK, port=server.port, name="ann")  # a student's computer: no token
    panel = teacher_panel.install(ann.window)
    field = ann.form.entries["teacher_password"]
    assert not field.winfo_ismapped()  # students never see it
    ann.press(ann.form.entries["name"], "<Return>")
    ann.pump(ann.joined, "a student's join")
    assert ann.window.role == "student" and panel() is None
    ann.close()
    ann = gui(host=LOOPBACK, port=server.port, name="ann")
    panel = teacher_panel.install(ann.window)
    field = ann.form.entries["teacher_password"]
    ann.form.teacher.set(True)  # "I am the teacher" ticked
    ann.form.show_teacher_field()
    ann.pump(field.winfo_ismapped, "the teacher password's field")
    ann.fill(teacher_password="0wl")
    ann.press_enter(field)
    ann.pump(lambda: "Wrong teacher password" in ann.problem(), "the refusal")
    assert ann.root.focus_get() is field  # the field to fix
    ann.fill(teacher_password="owl")
    ann.press_enter(field)
    ann.pump(ann.joined, "the teacher's join")
    assert ann.window.role == "teacher" and panel() is not None
    assert ann.users() == ["ann (teacher)"]


def test_a_window_away_at_a_deletion_or_a_clear_catches_up_at_the_rejoin(gui, scripted):
    server = scripted(role="student", users=["bob", "amy"])
    amy = joined_to(gui, server)
    server.send(said(5, "bob", "kept"), said(6, "bob", "rude"), said(7, "bob", "fine"))
    amy.wait_log("fine")
    server.welcome["history"] = [said(5, "bob", "kept"), said(7, "bob", "fine")]  # 6 deleted
    server.conn.shutdown(socket.SHUT_RDWR)  # the network drops; the window rejoins
    amy.pump(lambda: "rude" not in amy.log(), "the message deleted meanwhile gone", WAIT * 2)
    assert "kept" in amy.log() and "fine" in amy.log()
    server.welcome.update(history=[], cleared_through=7)
    server.conn.shutdown(socket.SHUT_RDWR)
    amy.wait_log("cleared the conversation while you were away", WAIT * 3)
    assert "kept" not in amy.log() and "fine" not in amy.log()


def test_a_teacher_types_the_teachers_commands_in_the_window(gui, make_server):
    server = make_server()
    amy = Client(server.port)
    amy.join("amy")
    ann = joined_to(gui, server, "ann", teacher=True)  # this computer's token
    assert ann.window.role == "teacher"
    ann.enter("/help", "Teacher commands:")
    assert "/mute NAME" in ann.log() and "/hand " not in ann.log()
    ann.enter("/slow fast", "Usage: /slow SECONDS")
    assert ann.chat.typed() == "/slow fast"  # kept, to correct
    ann.type("/mute amy")
    ann.press_enter(ann.chat.input)
    ann.wait_log("The teacher muted amy")
    assert ann.chat.typed() == ""
    amy.send({"type": "say", "text": "hello?"})
    amy.expect_error("muted")
    amy.send({"type": "hand", "up": True})
    ann.pump(lambda: ann.window.state.hands.names() == ["amy"], "amy's hand")
    ann.enter("/hands", "1. amy  since ")
