"""The teacher's window and `chat.pyz teach`, driven through their widgets.

Each control is chosen in a real teacher's window (its menus invoked, its
buttons pressed, its right-click bindings fired) joined to a real server on
127.0.0.1, and checked from the students' side with raw protocol clients.
The dialogs are replaced by Answers, which answers as the teacher would.
"""

import gc
import os
import signal
import subprocess
import sys

import pytest

from helpers import LOOPBACK, ROOT, WAIT, Client, Lines, require, wait_until
from test_chat_window import gui  # noqa: F401  (the fixture making windows)

try:
    import tkinter
except ImportError:  # pragma: no cover - depends on the Python build
    tkinter = None

pytestmark = pytest.mark.system

TEACHER_PASSWORD = "sesame"


class Answers:
    """The teacher's answers to the window's dialogs, and the questions asked."""

    def __init__(self):
        self.asked = []
        self.given = {}

    def answer(self, kind, value):
        self.given[kind] = value

    def _ask(self, kind, title):
        self.asked.append((kind, title))
        return self.given.get(kind)

    def text(self, title, prompt):
        return self._ask("text", title)

    def number(self, title, prompt, initial, low, high):
        return self._ask("number", title)

    def yes_no(self, title, question):
        return self._ask("yes_no", title)

    def yes_no_cancel(self, title, question):
        return self._ask("yes_no_cancel", title)

    def save_path(self, title, name):
        return self._ask("save_path", title)


def labels(menu):
    last = menu.index("end")
    return [menu.entrycget(index, "label") if menu.type(index) not in ("separator", "tearoff")
            else "-" for index in range(0 if last is None else last + 1)]


def invoke(menu, start):
    """Choose the menu entry whose label starts with `start`."""
    for index, label in enumerate(labels(menu)):
        if label.startswith(start):
            assert menu.entrycget(index, "state") == "normal", (label, "is greyed out")
            menu.invoke(index)
            return
    raise AssertionError("no entry %r in %r" % (start, labels(menu)))


class Teacher:
    """A teacher's window (a test_chat_window.Gui) with its TeacherPanel, and the room."""

    def __init__(self, make_gui, server, **panel_options):
        from chat_app.window.teacher_panel import install
        self.server = server
        self.answers = Answers()
        self.gui = make_gui()
        self.gui.window.join_fields = lambda host, port: {"teacher_password": TEACHER_PASSWORD}
        panel_of = install(self.gui.window, ask=self.answers, **panel_options)
        self.gui.join(server.port, "Teacher")
        self.gui.pump(lambda: panel_of() is not None, "the teacher's controls")
        self.panel = panel_of()

    def student(self, name):
        client = Client(self.server.port)
        client.join(name)
        self.gui.wait_log("%s joined" % name)
        return client

    def user_menu(self, name, start):
        """Right-click `name` in the user list, and choose the entry starting with `start`."""
        chat, posted = self.gui.chat, []
        self.panel.popup = lambda menu, *where: posted.append(menu)
        self.gui.root.update()
        x, y, _, height = chat.people.bbox(chat.listed.index(name))
        chat.people.event_generate("<Button-3>", x=x + 2, y=y + height // 2)
        self.gui.root.update()
        assert posted, "no menu for %s" % name
        invoke(posted[0], start)

    def room(self, start):
        invoke(self.panel.room_menu, start)

    def wait_room_menu(self, start):
        self.gui.pump(lambda: any(label.startswith(start)
                                  for label in labels(self.panel.room_menu)),
                      "the Room menu to offer %r" % start)


@pytest.fixture
def teacher(gui, make_server):  # noqa: F811  (gui is the imported fixture)
    server = make_server("--teacher-password", TEACHER_PASSWORD, "--no-discovery")
    made = Teacher(gui, server)
    yield made
    made.gui = made.panel = None  # freed with the window, on the Tk thread (see gui)


def say(client, text, to=None):
    frame = {"type": "say", "text": text}
    if to is not None:
        frame["to"] = to
    client.send(frame)


# --- the people's menu --------------------------------------------------------

def test_the_teacher_gets_a_room_menu_and_a_hands_list(teacher):
    root = teacher.gui.root
    menubar = root.nametowidget(root.cget("menu"))
    assert "Room" in labels(menubar)
    assert labels(teacher.panel.room_menu)[0].startswith("Lock the room")
    assert teacher.panel.hands_title.cget("text") == "Hands up: none"


def test_a_student_window_gets_no_teachers_controls(gui, server):  # noqa: F811
    from chat_app.window.teacher_panel import install
    student = gui()
    panel_of = install(student.window)
    student.join(server.port, "amy")
    student.root.update()
    assert panel_of() is None and not student.root.cget("menu")


def test_mute_and_unmute_from_the_users_menu(teacher):
    amy = teacher.student("amy")
    teacher.user_menu("amy", "Mute amy")
    assert amy.expect("room_state")["muted"] == ["amy"]
    say(amy, "can I still talk?")
    amy.expect_error("muted")
    teacher.gui.pump(lambda: labels(teacher.panel.fill_user_menu("amy"))[0] == "Unmute amy",
                     "the menu to offer Unmute")
    assert teacher.panel.rules_label.cget("text") == "Muted: amy."
    teacher.user_menu("amy", "Unmute amy")
    assert amy.expect("room_state")["muted"] == []
    teacher.gui.pump(lambda: not teacher.panel.rules_label.winfo_ismapped(),
                     "the rules line to go")
    say(amy, "thanks")
    assert amy.expect("message")["text"] == "thanks"


def test_kick_asks_for_the_reason_the_student_sees(teacher):
    amy = teacher.student("amy")
    teacher.answers.answer("text", "phones away")
    teacher.user_menu("amy", "Kick amy")
    bye = amy.expect("bye")
    assert bye.get("kicked") and "phones away" in bye["reason"]


def test_a_cancelled_kick_sends_nothing(teacher):
    amy = teacher.student("amy")
    teacher.user_menu("amy", "Kick amy")  # no answer: cancelled
    assert teacher.answers.asked == [("text", "Remove amy")]
    teacher.gui.enter("still here", "Teacher (teacher): still here")
    assert amy.expect("message")["text"] == "still here"


def test_private_message_from_the_users_menu_starts_one(teacher):
    teacher.student("amy")
    teacher.user_menu("amy", "Private message")
    assert teacher.gui.chat.typed() == "/msg amy "


# --- the Room menu ---------------------------------------------------------------

def test_lock_then_unlock_the_room(teacher):
    amy = teacher.student("amy")
    teacher.room("Lock the room")
    assert amy.expect("room_state")["locked"] is True
    say(amy, "hello?")
    amy.expect_error("locked")
    teacher.wait_room_menu("Unlock the room")
    teacher.room("Unlock the room")
    assert amy.expect("room_state")["locked"] is False
    say(amy, "hello!")
    assert amy.expect("message")["text"] == "hello!"


def test_slow_mode_from_the_dialog_then_off(teacher):
    amy = teacher.student("amy")
    teacher.answers.answer("number", 600)
    teacher.room("Slow mode\u2026")
    assert amy.expect("room_state")["slow"] == 600
    say(amy, "one")
    assert amy.expect("message")["text"] == "one"
    say(amy, "two")
    assert amy.expect_error("slow_mode")["seconds"] >= 1
    teacher.wait_room_menu("Slow mode\u2026 (now one message per 600 s)")
    teacher.room("Slow mode off")
    assert amy.expect("room_state")["slow"] == 0
    say(amy, "three")
    assert amy.expect("message")["text"] == "three"


def test_private_messages_between_students_off_and_on(teacher):
    amy, bob = teacher.student("amy"), teacher.student("bob")
    assert teacher.panel.checks["Private messages between students"].get() is True
    teacher.room("Private messages between students")
    assert amy.expect("room_state")["private"] is False
    say(amy, "psst", to="bob")
    amy.expect_error("private_off")
    say(amy, "a question", to="Teacher")  # a teacher may always be asked
    assert amy.expect("message")["text"] == "a question"
    teacher.gui.pump(lambda: teacher.panel.checks["Private messages between students"].get()
                     is False, "the checkbutton to show private messages off")
    teacher.room("Private messages between students")
    assert bob.expect("room_state", private=True)
    say(amy, "psst again", to="bob")
    assert bob.expect("message")["text"] == "psst again"


def test_an_announcement_reaches_everyone(teacher):
    amy = teacher.student("amy")
    teacher.answers.answer("text", "Ten minutes left")
    teacher.room("Announcement")
    assert amy.expect("notice")["text"] == "Ten minutes left"


def test_clear_history_asks_first(teacher):
    amy = teacher.student("amy")
    say(amy, "something regrettable")
    amy.expect("message")
    teacher.room("Clear history")  # no answer: the teacher said no
    teacher.answers.answer("yes_no", True)
    teacher.room("Clear history")
    assert [kind for kind, _ in teacher.answers.asked] == ["yes_no", "yes_no"]
    amy.expect("cleared")
    history = Client(teacher.server.port).join("late")["history"]
    assert [frame for frame in history if frame["type"] == "message"] == []


# --- a message's menu ---------------------------------------------------------------

def test_right_click_a_message_to_delete_it(teacher):
    amy, bob = teacher.student("amy"), teacher.student("bob")
    say(amy, "an unkind word")
    number = bob.expect("message")["id"]
    window = teacher.gui
    window.wait_log("amy: an unkind word")
    log = window.chat.log
    window.root.update()
    x, y, _, height = log.bbox(log.search("an unkind word", "1.0"))
    posted = []
    teacher.panel.popup = lambda menu, *where: posted.append(menu)
    log.event_generate("<Button-3>", x=x + 2, y=y + height // 2)
    window.root.update()
    assert posted and labels(posted[0]) == [
        "Delete amy's message \u201can unkind word\u201d (from every window and the history)"]
    invoke(posted[0], "Delete amy's message")
    assert bob.expect("deleted")["id"] == number
    window.pump(lambda: "an unkind word" not in window.log(), "the message to leave the window")


def test_a_refused_control_shows_the_servers_words(teacher):
    teacher.panel.choose(teacher.panel.view.message_menu(99999)[0])  # deleted meanwhile
    teacher.gui.wait_log("no message #99999 in the room's history")


# --- hands ----------------------------------------------------------------------------

def test_hands_show_in_order_and_one_click_lowers_one(teacher):
    amy, bob = teacher.student("amy"), teacher.student("bob")
    bob.send({"type": "hand", "up": True})
    bob.expect("hand", up=True)
    amy.send({"type": "hand", "up": True})
    amy.expect("hand", up=True)
    panel = teacher.panel
    teacher.gui.pump(lambda: list(panel.hand_buttons) == ["bob", "amy"], "two hands up")
    assert panel.hands_title.cget("text") == "Hands up (2)"
    panel.hand_buttons["bob"].invoke()
    assert bob.expect("hand")["up"] is False
    teacher.gui.pump(lambda: list(panel.hand_buttons) == ["amy"], "bob's hand down")


def test_lower_all_lowers_every_hand_with_one_click(teacher):
    panel = teacher.panel
    assert panel.lower_all_button.instate(["disabled"])  # no hand up: nothing to lower
    students = [teacher.student(name) for name in ("amy", "bob", "cat")]
    for student in students:
        student.send({"type": "hand", "up": True})
        student.expect("hand", up=True)
    teacher.gui.pump(lambda: len(panel.hand_buttons) == 3, "three hands up")
    assert panel.lower_all_button.instate(["!disabled"])
    assert panel.lower_all_button.cget("text") == "Lower all"
    panel.lower_all_button.invoke()
    for student in students:
        student.expect("hand", up=False)
    teacher.gui.pump(lambda: not panel.hand_buttons, "every hand down")
    assert panel.hands_title.cget("text") == "Hands up: none"
    assert panel.lower_all_button.instate(["disabled"])
    teacher.gui.wait_log("The teacher lowered every raised hand (3 hands).")
    students[0].send({"type": "hand", "up": True})
    teacher.gui.pump(lambda: list(panel.hand_buttons) == ["amy"], "amy's hand up")
    students[0].close()  # her line drops: her hand goes down, and the window says why
    teacher.gui.wait_log("amy left the room, so their raised hand went down.")
    teacher.gui.pump(lambda: not panel.hand_buttons, "amy's hand down")


def test_a_long_queue_of_hands_shows_the_first_ones_and_counts_the_rest(teacher):
    from chat_app.window.teacher_panel import MAX_HANDS_SHOWN
    panel = teacher.panel
    for number in range(MAX_HANDS_SHOWN + 3):
        teacher.gui.window.on_frame(  # as the network's frames come: the state, then the panel
            {"type": "hand", "name": "s%d" % number, "up": True, "time": 1.0})
    assert list(panel.hand_buttons) == ["s%d" % number for number in range(MAX_HANDS_SHOWN)]
    texts = [widget.cget("text") for widget in panel.hands_rows.winfo_children()
             if widget.winfo_class() == "TLabel"]
    assert texts[-1].startswith("\u2026 and 3 more")


# --- the transcript ----------------------------------------------------------------------

def test_save_transcript_of_what_the_window_received(teacher, tmp_path):
    amy, bob = teacher.student("amy"), teacher.student("bob")
    say(amy, "<b>bold</b> claim")
    say(amy, "just for bob", to="bob")
    bob.expect("message", text="just for bob")
    teacher.gui.wait_log("amy: <b>bold</b> claim")
    path = str(tmp_path / "lesson.html")
    teacher.answers.answer("save_path", path)
    teacher.answers.answer("yes_no_cancel", False)
    teacher.room("Save transcript")
    teacher.gui.wait_log("Saved the transcript")
    with open(path, encoding="utf-8") as handle:
        page = handle.read()
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in page and "<b>bold" not in page


def test_save_transcript_says_when_the_file_cannot_be_written(teacher, tmp_path):
    teacher.answers.answer("save_path", str(tmp_path / "no such folder" / "lesson.txt"))
    teacher.answers.answer("yes_no_cancel", False)
    teacher.room("Save transcript")
    teacher.gui.wait_log("The transcript was not saved")


# --- teach ---------------------------------------------------------------------------

@pytest.fixture
def make_teach(display, tmp_path, monkeypatch):
    """Make `teach` runs in this process (a server, its window), not yet started."""
    require(tkinter is not None, "tkinter for the GUI tests")
    from chat_app import teach as teach_module
    from helpers import server_options
    monkeypatch.setenv("CHAT_APP_HOME", str(tmp_path))
    made, errors = [], []

    def make(*args, since=0.0):
        options = server_options("--no-discovery", "--room", "Lab 3", *args)
        options.name = "Teacher"
        console = teach_module.Console(Lines(), Lines())
        server = teach_module.start_server(options, console)
        root = tkinter.Tk()
        root.report_callback_exception = lambda *exc: errors.append(exc)
        made.append(teach_module.Teach(root, server, options, console, since))
        return made[-1]

    yield make
    try:
        for run in made:
            run.stop()
        assert not errors
    finally:
        # Tk objects must be freed on the Tk thread, as the gui fixture does.
        del made[:]
        gc.collect()


@pytest.fixture
def teach(make_teach):
    return make_teach()


def pump(root, until, what):
    def pumped():
        root.update()
        return until()
    wait_until(pumped, WAIT, what, interval=0.005)


def test_teach_joins_as_the_teacher_and_shows_how_students_join(teach):
    teach.start()
    window = teach.window
    pump(teach.root, lambda: window.role == "teacher", "the teacher's join")
    words = teach.banner.words()
    port = teach.server.server_address[1]
    assert "Students connect with:  python3 chat.pyz client %s:%d" % (LOOPBACK, port) in words
    assert "Room: Lab 3" in words and "Log: off" in words
    assert "Closing this window stops the room for everyone." in words
    assert "Stop the server with Ctrl+C" not in words
    assert teach.panel() is not None
    teach.banner.toggle()
    teach.root.update()
    assert not teach.banner.text.winfo_ismapped()
    assert teach.banner.button.cget("text") == "Show how students join"


def test_teach_joins_an_encrypted_room_with_its_password(make_teach):
    from chat_app.wire.tls import grouped
    data = os.path.join(ROOT, "tests", "data")
    teach = make_teach("--tls-cert", os.path.join(data, "server.crt"),
                       "--tls-key", os.path.join(data, "server.key"), "--password", "lab7")
    teach.start()
    pump(teach.root, lambda: teach.window.role == "teacher", "the teacher's encrypted join")
    assert grouped(teach.server.tls_fingerprint) in teach.banner.words()
    assert "encrypted" in teach.window.chat.status.cget("text")


def test_teach_with_a_log_saves_this_lessons_transcript_from_it(make_teach, tmp_path):
    import time
    from helpers import RunningServer
    log = str(tmp_path / "room.log")
    earlier = RunningServer("--log", log)
    Client(earlier.port).join("amy")
    earlier.room.announce("last week's lesson")
    earlier.close()
    teach = make_teach("--log", log, since=time.time())
    teach.start()
    pump(teach.root, lambda: teach.panel() is not None, "the teacher's controls")
    panel, answers = teach.panel(), Answers()
    panel.ask = answers
    amy, bob = Client(teach.server.server_address[1]), Client(teach.server.server_address[1])
    amy.join("amy")
    bob.join("bob")
    say(amy, "today's question")
    say(amy, "between us", to="bob")
    bob.expect("message", text="between us")
    wait_until(lambda: "between us" in open(log, encoding="utf-8").read(), WAIT,
               "the private message in the log")  # its writer runs behind the room
    for private, path in ((False, tmp_path / "room.txt"), (True, tmp_path / "private.md")):
        answers.answer("save_path", str(path))
        answers.answer("yes_no_cancel", private)
        panel.choose(panel.view.room_menu()[-1])  # Save transcript...
        saved = path.read_text(encoding="utf-8")
        assert "today's question" in saved and "last week" not in saved
        assert ("between us" in saved) is private


@pytest.mark.parametrize("teacher_password", [None, "sesame"])
def test_without_its_token_file_teach_uses_the_teacher_password_or_says_why_not(
        make_teach, monkeypatch, tmp_path, teacher_password):
    from chat_app.teach import NOT_TEACHER
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setenv("CHAT_APP_HOME", str(blocked / "chat_app"))  # cannot be made
    args = ("--teacher-password", teacher_password) if teacher_password else ()
    teach = make_teach(*args)
    teach.start()
    pump(teach.root, lambda: teach.window.role is not None, "the window's join")
    if teacher_password:
        assert teach.window.role == "teacher" and NOT_TEACHER not in teach.window.chat.log.get(
            "1.0", "end")
    else:
        assert teach.window.role == "student"
        pump(teach.root, lambda: NOT_TEACHER in teach.window.chat.log.get("1.0", "end"),
             "the window to say why it is not the teacher's")


def test_closing_asks_and_then_stops_the_room_for_everyone(teach, monkeypatch):
    from chat_app import teach as teach_module
    teach.start()
    pump(teach.root, lambda: teach.window.state is not None, "the teacher's join")
    amy = Client(teach.server.server_address[1])
    amy.join("amy")
    questions = []
    monkeypatch.setattr(teach_module, "ask_to_stop", lambda root: questions.append(1) or False)
    teach.close_asked()
    assert questions and not teach.window.closed
    monkeypatch.setattr(teach_module, "ask_to_stop", lambda root: True)
    teach.close_asked()
    assert teach.window.closed
    teach.stop()
    assert amy.expect("bye")["reason"]


def test_teach_without_a_display_says_to_run_the_server(tmp_path):
    env = dict(os.environ, CHAT_APP_HOME=str(tmp_path))
    env.pop("DISPLAY", None)
    result = subprocess.run([sys.executable, "-m", "chat_app", "teach", "--host", LOOPBACK,
                             "--port", "0", "--no-discovery"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=WAIT * 2)
    assert result.returncode == 1
    assert "python3 chat.pyz server" in result.stderr
    assert "listening" not in result.stdout  # no server was started


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_a_stop_signal_stops_teach_for_everyone(display, tmp_path, sig):
    env = dict(os.environ, CHAT_APP_HOME=str(tmp_path), HOME=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-m", "chat_app", "teach", "--host", LOOPBACK,
                                "--port", "0", "--no-discovery"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        port = int(first.rsplit(" ", 1)[1])
        amy = Client(port)
        if "Teacher" not in amy.join("amy")["users"]:
            amy.expect("joined", name="Teacher")
        process.send_signal(sig)
        amy.expect("left", name="Teacher")  # the window left first
        assert amy.expect("bye")["reason"]
        assert process.wait(WAIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


def test_teachs_terminal_takes_the_teachers_commands(display, pyz, tmp_path):
    # Typing in the terminal behind the window was echoed and silently ignored.
    require(tkinter is not None, "tkinter for the GUI tests")
    from test_teacher_console import ServerInTerminal
    env = dict(os.environ, CHAT_APP_HOME=str(tmp_path), HOME=str(tmp_path))
    teach = ServerInTerminal(pyz, tmp_path, "--no-discovery", mode="teach", env=env)
    try:
        teach.wait_for(r"^Type /help here for the teacher's commands")
        teach.wait_for(r"^Closing the teacher's window, /quit or Ctrl\+C here stops the room")
        amy = Client(teach.port)
        if "Teacher" not in amy.join("amy")["users"]:
            amy.expect("joined", name="Teacher")
        # The window and amy join in either order: both said, then the prompt below them.
        teach.wait_for(r"^\d\d:\d\d:\d\d  amy joined \(127\.0\.0\.1\)$")
        teach.wait_for(r"^\d\d:\d\d:\d\d  Teacher joined \(127\.0\.0\.1\) as a teacher$")
        teach.wait_rows(r"\d\d:\d\d:\d\d  (amy|Teacher) joined \(127\.0\.0\.1\).*", r">")
        teach.type(b"/who\r")
        teach.wait_for(r"^ +amy +127\.0\.0\.1 +since ")
        teach.type(b"/say Pens down\r")
        assert amy.expect("notice")["text"] == "Pens down"
        teach.type(b"/quit\r")  # stops the room, as Ctrl+C does
        amy.expect("left", name="Teacher")  # the window left first
        assert amy.expect("bye")["reason"]
        assert teach.process.wait(WAIT) == 0
        import termios
        assert termios.tcgetattr(teach.slave) == teach.saved_mode
    finally:
        teach.close()
