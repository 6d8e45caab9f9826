"""The join form, in a real window against real servers (window/join_form.py).

Joining, what a refused join says, and the rooms found on the network
(injected: fake_finder.FakeSearch); the window around the form is
test_chat_window.py's Gui, under the display fixture.
"""

import errno
import json
import socket
import threading
import time

import pytest

from fake_finder import FakeSearch, found
from helpers import LOOPBACK, WAIT, Client, wait_until
from scripted_server import scripted  # noqa: F401  (a fixture)
from test_chat_window import attempt, free_port, gui  # noqa: F401  (gui: a fixture)

pytestmark = pytest.mark.system


# --- joining ---------------------------------------------------------------

def test_join_with_enter_and_chat_with_enter(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.fill(host=LOOPBACK, port=str(server.port), name="amy")
    amy.press_enter(amy.form.entries["port"])
    amy.pump(amy.joined, "the join")
    assert bob.expect("joined")["name"] == "amy"
    assert amy.root.focus_lastfor() is amy.chat.input
    assert amy.users() == ["amy", "bob"] and amy.chat.count.cget("text") == "2 people here"
    assert "Connected to 127.0.0.1 port %d as amy" % server.port in amy.chat.status.cget("text")
    amy.type("hello bob")
    amy.press_enter(amy.chat.input)
    assert bob.expect("message")["text"] == "hello bob"
    amy.wait_log("amy: hello bob")
    assert amy.chat.typed() == ""
    bob.send({"type": "say", "text": "hi amy"})
    amy.wait_log("bob: hi amy")


def test_join_with_the_button_and_send_with_the_button(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    amy.type("line one\nline two")
    amy.chat.send_button.invoke()
    amy.pump(lambda: amy.chat.typed() == "", "the box to empty")
    assert bob.expect("message")["text"] == "line one\nline two"


def test_shift_enter_inserts_a_newline(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    amy.type("first")
    amy.press(amy.chat.input, "<Shift-Return>")
    assert amy.chat.typed() == "first\n"


def test_a_second_enter_while_connecting_does_not_connect_twice(gui, server):
    amy = gui(host=LOOPBACK, port=server.port, name="amy")
    amy.press_enter(amy.form.entries["name"])
    first = amy.window.session
    amy.press_enter(amy.form.entries["name"])
    assert amy.window.session is first
    amy.pump(amy.joined, "the join")
    assert server.room.users() == ["amy"]


def test_a_single_enter_joins_when_everything_is_filled_in(gui, server):
    amy = gui(host=LOOPBACK, port=server.port, name="amy")
    amy.root.update()
    assert amy.root.focus_lastfor() is amy.form.entries["name"]
    amy.press_enter(amy.form.entries["name"])
    amy.pump(amy.joined, "the join")


def test_fields_remember_the_last_successful_join(gui, server):
    first = gui(settings="remembered.json")
    first.join(server.port, "amy")
    first.close()
    again = gui(settings="remembered.json")
    assert again.form.values() == {"host": LOOPBACK, "port": str(server.port),
                                   "fingerprint": "", "name": "amy", "password": "",
                                   "teacher_password": ""}


def test_a_broken_settings_file_is_harmless(gui, tmp_path):
    (tmp_path / "broken.json").write_bytes(b"\xff{not json")
    amy = gui(settings="broken.json")
    assert amy.form.values()["name"] == "" and amy.form.values()["port"] == "1234"


# --- join problems, shown in the window --------------------------------------

def test_nothing_listening(gui):
    port = free_port()
    assert "Nothing is listening at 127.0.0.1 port %d" % port in attempt(gui, port)


def test_no_answer_within_five_seconds(gui):
    # A listener whose queue is full drops new connection attempts, the way
    # a firewall does: the client gives up after five seconds.
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex((LOOPBACK, port))
        fillers.append(filler)
    # The queue is full once a filler's connection is established.
    wait_until(lambda: any(filler.connect_ex((LOOPBACK, port)) in (0, errno.EISCONN)
                           for filler in fillers), WAIT, "the listen queue to fill")
    try:
        started = time.monotonic()
        problem = attempt(gui, port)
        assert "did not answer within 5 seconds" in problem
        assert "firewall" in problem
        assert time.monotonic() - started < 9
    finally:
        for sock in fillers + [listener]:
            sock.close()


def test_name_taken(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    assert "already in use" in attempt(gui, server.port, name="BOB")  # the server's words


def assert_name_selected_then_replaced(amy, shown):
    """Check that the name field has the focus with `shown` selected, and typing replaces it."""
    name = amy.form.entries["name"]
    amy.root.update()
    assert str(name.focus_lastfor()) == str(name)
    assert name.selection_present() and name.selection_get() == shown
    name.focus_force()
    amy.root.update()
    for char in "lena":
        name.event_generate("<KeyPress>", keysym=char)
    amy.root.update()
    assert amy.form.vars["name"].get() == "lena"


def test_a_refused_name_is_selected_so_typing_replaces_it(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.fill(host=LOOPBACK, port=str(server.port), name="a b")
    amy.form.button.invoke()
    assert_name_selected_then_replaced(amy, "a b")  # refused by the form itself
    amy.fill(name="BOB")
    amy.form.entries["host"].focus_set()
    amy.form.button.invoke()
    amy.pump(lambda: amy.window.session is None, "the refusal", timeout=WAIT * 2)
    assert "already in use" in amy.problem()
    assert_name_selected_then_replaced(amy, "BOB")  # refused by the server


def test_the_port_in_the_address_shows_in_the_port_field(gui, server):
    amy = gui()
    amy.fill(host="%s:%d" % (LOOPBACK, server.port), port="1", name="amy")
    amy.form.button.invoke()
    assert amy.form.vars["port"].get() == str(server.port)
    amy.pump(amy.joined, "the join")


@pytest.mark.parametrize("name, named", [("a b", "a space"), ("wow!", "'!'"), ("", "empty")])
def test_name_not_allowed_says_which_characters_are(gui, server, name, named):
    amy = gui()
    amy.fill(host=LOOPBACK, port=str(server.port), name=name)
    amy.form.button.invoke()
    assert named in amy.problem() and "letters, digits" in amy.problem()
    assert server.room.connection_count() == 0


def test_wrong_password(make_server, gui):
    server = make_server("--password", "pw")
    assert "wrong" in attempt(gui, server.port, password="nope").lower()  # the server's words
    amy = gui()
    amy.fill(password="pw")
    amy.join(server.port, "amy")


def test_server_full(make_server, gui):
    server = make_server("--max-clients", "1")
    other = Client(server.port)
    server.wait_connections(1)
    assert "full" in attempt(gui, server.port)
    other.close()


def test_bad_port_and_missing_address(gui):
    amy = gui()
    amy.fill(host="", port="1234", name="amy")
    amy.form.button.invoke()
    assert "server address" in amy.problem()
    amy.fill(host=LOOPBACK, port="99999")
    amy.form.button.invoke()
    assert "1 to 65535" in amy.problem()


# --- no address given: the rooms found on the network ------------------------

#
# The search is injected (fake_finder.FakeSearch): these tests send no datagram.  The
# real search, inside a lab of network namespaces, is in test_noaddress.py.

@pytest.fixture
def fast_refresh(monkeypatch):
    """Search again at once, so a refresh shows within a test's wait."""
    from chat_app.discovery import room_search
    monkeypatch.setattr(room_search, "REFRESH_SECONDS", 0.05)


def rows(amy):
    tree = amy.form.tree
    return [tuple(tree.item(key, "values")) for key in tree.get_children()]


def listed(amy, count):
    amy.pump(lambda: len(amy.form.tree.get_children()) == count, "%d rooms listed" % count)


def test_one_room_found_is_preselected_and_enter_joins_it(gui, server):
    search = FakeSearch(found("Lab 3", server.port, users=14))
    amy = gui(search=search, name="amy")
    assert amy.form.entries["host"].winfo_manager() == ""  # the address waits behind "Other"
    listed(amy, 1)
    assert rows(amy) == [("Lab 3", "14 people", "open", "not encrypted",
                          "127.0.0.1:%d" % server.port)]
    assert amy.form.tree.selection() == ("127.0.0.1:%d" % server.port,)
    assert "1 room found" in amy.form.intro.cget("text")
    amy.press_enter(amy.form.entries["name"])
    amy.pump(amy.joined, "the join")
    assert server.room.users() == ["amy"]
    assert amy.window.search is None  # no more searching once in


def test_several_rooms_are_listed_and_chosen_with_the_keys(gui, make_server):
    one, two = make_server(), make_server("--password", "from the board")
    search = FakeSearch(found("Lab 1", one.port, users=1),
                        found("Lab 2", two.port, password=True, users=2))
    amy = gui(search=search, name="amy")
    listed(amy, 2)
    assert rows(amy)[1] == ("Lab 2", "2 people", "password", "not encrypted",
                            "127.0.0.1:%d" % two.port)
    assert amy.form.tree.selection() == ()  # none preselected among several
    amy.press_enter(amy.form.entries["name"])
    assert "Choose your room" in amy.problem() and amy.window.session is None
    amy.form.tree.focus("127.0.0.1:%d" % one.port)
    amy.press(amy.form.tree, "<Down>")
    assert amy.form.tree.selection() == ("127.0.0.1:%d" % two.port,)
    for key, room in (("<Up>", one), ("<Down>", two), ("<Down>", two)):  # where she types
        amy.press(amy.form.entries["name"], key)
        assert amy.form.tree.selection() == ("127.0.0.1:%d" % room.port,)
    amy.press_enter(amy.form.tree)
    # Lab 2 says it has a password: asked now, before any refusal.
    assert "Lab 2 needs a password" in amy.problem() and amy.window.session is None
    amy.root.update()
    assert amy.root.focus_get() is amy.form.entries["password"]
    amy.fill(password="from the board")
    amy.press_enter(amy.form.entries["password"])
    amy.pump(amy.joined, "the join")
    assert two.room.users() == ["amy"] and one.room.users() == []


def test_no_room_found_gives_a_hint_and_other_address_still_joins(gui, server, tmp_path):
    search = FakeSearch()
    amy = gui(search=search, settings="last.json", name="amy")
    amy.pump(lambda: search.searches >= 1 and "No room" in amy.form.intro.cget("text"),
             "the hint that no room answered")
    assert "Other address" in amy.form.intro.cget("text")
    amy.press_enter(amy.form.entries["name"])
    assert amy.problem().startswith("No room is listed yet. Press Other address")
    amy.form.other_button.invoke()
    amy.root.update()
    assert amy.problem() == ""  # the advice about the list is gone with the list
    assert amy.form.entries["host"].winfo_ismapped()
    assert amy.root.focus_lastfor() is amy.form.entries["host"]
    amy.fill(host="%s:%d" % (LOOPBACK, server.port))
    amy.press_enter(amy.form.entries["host"])
    amy.pump(amy.joined, "the join")
    amy.close()
    again = gui(search=FakeSearch(), settings="last.json")
    assert again.form.values()["host"] == LOOPBACK  # the last address stays remembered
    assert again.form.values()["port"] == str(server.port)


def test_the_list_follows_the_rooms_that_come_and_go(gui, make_server, fast_refresh):
    one, two = make_server(), make_server()
    search = FakeSearch(found("Lab 1", one.port))
    amy = gui(search=search, name="amy")
    listed(amy, 1)
    search.answer(found("Lab 1", one.port, users=3), found("Lab 2", two.port))
    listed(amy, 2)
    amy.pump(lambda: rows(amy)[0][1] == "3 people", "the count to refresh")
    assert amy.form.tree.selection() == ("127.0.0.1:%d" % one.port,)  # the choice stays
    search.answer(found("Lab 2", two.port))
    amy.pump(lambda: [row[0] for row in rows(amy)] == ["Lab 2"], "Lab 1 to go")
    amy.press_enter(amy.form.entries["name"])
    amy.pump(amy.joined, "the join")
    assert two.room.users() == ["amy"]


def test_the_room_joined_last_is_chosen_again(gui, make_server):
    one, two = make_server(), make_server()
    rooms = (found("Lab 1", one.port), found("Lab 2", two.port))
    first = gui(search=FakeSearch(*rooms), settings="choice.json", name="amy")
    listed(first, 2)
    first.form.tree.selection_set("127.0.0.1:%d" % two.port)
    first.press_enter(first.form.entries["name"])
    first.pump(first.joined, "the join")
    first.close()
    again = gui(search=FakeSearch(*rooms), settings="choice.json")
    listed(again, 2)
    assert again.form.tree.selection() == ("127.0.0.1:%d" % two.port,)


def checking(amy):
    """Tell whether the form has given way to the fingerprint's check."""
    return amy.form.check.winfo_ismapped() and not amy.form.frame.winfo_ismapped()


def test_an_encrypted_room_shows_16_digits_and_joins_once_they_are_confirmed(gui, make_server):
    from helpers import CERT, KEY
    from test_tls import expected_fingerprint
    server = make_server("--tls-cert", CERT, "--tls-key", KEY, "--password", "from the board")
    whole = expected_fingerprint()
    digits = whole.replace(":", "")
    sixteen = " ".join(digits[i:i + 4] for i in range(0, 16, 4))
    amy = gui(search=FakeSearch(found("Lab 3", server.port, tls=True, fingerprint=whole,
                                      password=True)), name="amy", password="from the board")
    listed(amy, 1)
    assert rows(amy)[0][2:4] == ("password", sixteen)
    amy.press_enter(amy.form.entries["name"])
    amy.pump(lambda: checking(amy), "the fingerprint's check")
    assert amy.form.check_digits.cget("text") == sixteen
    assert '"Lab 3" at 127.0.0.1:%d is encrypted' % server.port in (
        amy.form.check_words.cget("text"))
    assert server.room.connection_count() == 0 and amy.window.session is None  # nothing sent
    assert amy.root.focus_lastfor() is amy.form.differ_button  # Enter alone does not join
    amy.press(amy.form.differ_button, "<Tab>")
    assert amy.root.focus_lastfor() is amy.form.match_button
    amy.press_enter(amy.form.match_button)
    amy.pump(amy.joined, "the join")
    assert amy.window.tls.pin == whole  # the whole fingerprint, not the 16 digits shown
    assert "encrypted" in amy.chat.status.cget("text")


@pytest.mark.parametrize("key", ["<Return>", "<Escape>"])
def test_digits_that_differ_send_nothing_and_say_what_to_do(gui, make_server, key):
    from helpers import CERT, KEY
    from test_tls import expected_fingerprint
    from chat_app.window.join_form import DIGITS_DIFFER
    server = make_server("--tls-cert", CERT, "--tls-key", KEY)
    amy = gui(search=FakeSearch(found("Lab 3", server.port, tls=True,
                                      fingerprint=expected_fingerprint())), name="amy")
    listed(amy, 1)
    amy.press_enter(amy.form.entries["name"])
    amy.pump(lambda: checking(amy), "the fingerprint's check")
    amy.press(amy.form.differ_button, key)  # "They differ" has the focus: Enter, or Escape
    amy.pump(lambda: amy.form.frame.winfo_ismapped(), "the form back")
    assert amy.problem() == DIGITS_DIFFER and "Other address" in DIGITS_DIFFER
    assert amy.form.tree.selection() == ()  # Enter again does not go back to that room
    assert amy.window.session is None and server.room.connection_count() == 0


def test_an_encrypted_room_with_another_certificate_is_refused(gui, make_server):
    from helpers import CERT, KEY
    from test_tls import OTHER_CERT, expected_fingerprint
    server = make_server("--tls-cert", CERT, "--tls-key", KEY)
    forged = found("Lab 3", server.port, tls=True, fingerprint=expected_fingerprint(OTHER_CERT))
    amy = gui(search=FakeSearch(forged), name="amy")
    listed(amy, 1)
    amy.press_enter(amy.form.entries["name"])
    amy.pump(lambda: checking(amy), "the fingerprint's check")
    amy.form.match_button.invoke()  # the student says yes: the pin still refuses the server
    amy.pump(lambda: "fingerprint" in amy.problem(), "the pin to refuse the server")
    assert amy.window.state is None and server.room.users() == []


def test_rooms_of_one_name_are_marked_and_none_is_chosen_not_even_the_last_one(
        gui, make_server, tmp_path):
    low, high = sorted((make_server(), make_server()), key=lambda server: server.port)
    (tmp_path / "last.json").write_text(json.dumps(
        {"host": LOOPBACK, "port": high.port, "name": "amy", "room": "Lab 3"}))
    search = FakeSearch(found("Lab 3", high.port, users=23), found("LAB 3", low.port))
    amy = gui(search=search, settings="last.json")
    listed(amy, 2)
    assert [row[0] for row in rows(amy)] == ["[same name] LAB 3", "[same name] Lab 3"]
    assert amy.form.tree.selection() == ()
    assert all(amy.form.tree.item(key, "tags") == ("same_name",)
               for key in amy.form.tree.get_children())
    warning = amy.form.same_name.cget("text")
    assert amy.form.same_name.winfo_ismapped() and warning.startswith(
        'More than one room is called "LAB 3" (at 127.0.0.1:%d and 127.0.0.1:%d).'
        % (low.port, high.port)) and "ask your teacher which address is on the board" in warning
    amy.press_enter(amy.form.entries["name"])
    assert "Choose your room" in amy.problem() and amy.window.session is None
    search.answer(found("Lab 3", high.port))  # the other one is gone: the mark goes too
    amy.pump(lambda: len(rows(amy)) == 1 and not amy.form.same_name.winfo_ismapped(),
             "the mark to go")
    assert rows(amy)[0][0] == "Lab 3"


def test_a_password_refused_by_a_room_of_a_shared_name_says_it_may_be_the_wrong_room(
        gui, make_server):
    real, fake = make_server("--password", "pw42"), make_server("--password", "guess")
    search = FakeSearch(found("Lab 3", real.port, password=True),
                        found("Lab 3", fake.port, password=True))
    amy = gui(search=search, name="amy", password="pw42")
    listed(amy, 2)
    amy.form.tree.selection_set("127.0.0.1:%d" % fake.port)
    amy.press_enter(amy.form.entries["name"])
    amy.pump(lambda: "Wrong password" in amy.problem(), "the refusal")
    assert ('Another room on this network is also called "Lab 3": if that password is the one '
            "on the board, this may be the wrong room. Check that its address, 127.0.0.1:%d, "
            "is the one on the board." % fake.port) in amy.problem()


def test_a_room_chosen_for_the_student_is_let_go_when_another_takes_its_name(
        gui, make_server, fast_refresh):
    real, fake = make_server(), make_server()
    search = FakeSearch(found("Lab 3", real.port))
    amy = gui(search=search, name="amy")
    listed(amy, 1)
    assert amy.form.tree.selection() == ("127.0.0.1:%d" % real.port,)  # the only room
    search.answer(found("Lab 3", real.port), found("Lab 3", fake.port, users=23))
    listed(amy, 2)
    amy.pump(lambda: amy.form.tree.selection() == (), "the choice to be let go")
    amy.press(amy.form.entries["name"], "<Down>")  # the student chooses: that stays
    chosen = amy.form.tree.selection()
    amy.pump(lambda: search.searches >= 4, "two more searches")
    assert amy.form.tree.selection() == chosen != ()


def test_an_encrypted_room_by_address_asks_for_its_fingerprint_in_the_form(gui, make_server):
    from helpers import CERT, KEY
    from test_tls import expected_fingerprint
    from chat_app.window.join_form import ENCRYPTED_ROOM_WORDS, FINGERPRINT_WORDS
    server = make_server("--tls-cert", CERT, "--tls-key", KEY)
    digits = expected_fingerprint().replace(":", "")
    amy = gui()  # an address given: the form's fields, the fingerprint among them
    amy.fill(host=LOOPBACK, port=str(server.port), name="amy")
    amy.press_enter(amy.form.entries["name"])
    amy.pump(lambda: amy.problem() == ENCRYPTED_ROOM_WORDS, "the form to ask for it")
    assert amy.root.focus_get() is amy.form.entries["fingerprint"]
    amy.fill(fingerprint="C71A 92")  # too few digits: the form says what it takes
    amy.press_enter(amy.form.entries["fingerprint"])
    assert amy.problem() == FINGERPRINT_WORDS and amy.window.session is None
    amy.fill(fingerprint="%s %s %s %s" % (digits[:4], digits[4:8], digits[8:12], digits[12:16]))
    amy.press_enter(amy.form.entries["fingerprint"])
    amy.pump(amy.joined, "the join")
    assert server.room.users() == ["amy"] and "encrypted" in amy.chat.status.cget("text")


def test_a_form_given_an_address_does_not_search(gui, server):
    amy = gui(host=LOOPBACK, port=server.port, name="amy")
    assert amy.window.search is None and not amy.form.searching
    assert amy.form.entries["host"].winfo_manager() == "grid"
    assert amy.form.intro.cget("text") == "Your teacher gives you the server address."


def welcoming_server(welcome):
    """Listen on 127.0.0.1; answer one join with `welcome`; return (port, stop)."""
    listener = socket.create_server((LOOPBACK, 0))
    done = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.makefile("rb").readline()
            conn.sendall(json.dumps(welcome).encode() + b"\n")
            done.wait(WAIT * 2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def stop():
        done.set()
        thread.join(WAIT)
        listener.close()
    return listener.getsockname()[1], stop


@pytest.mark.parametrize("room, shown", [("Lab 3", "amy in Lab 3"), (None, "amy on 127.0.0.1")])
def test_the_room_name_from_the_welcome_is_in_the_title(gui, room, shown):
    welcome = {"type": "welcome", "name": "amy", "users": ["amy"], "history": []}
    if room:  # a server of issue 12 names its room; an older one does not
        welcome["room"] = room
    port, stop = welcoming_server(welcome)
    try:
        amy = gui(search=FakeSearch(found("Lab 3", port)), name="amy")
        listed(amy, 1)
        amy.press_enter(amy.form.entries["name"])
        amy.pump(amy.joined, "the join")
        assert amy.root.title() == "chat_app \u2014 " + shown
    finally:
        stop()


# --- a recorded room ----------------------------------------------------------------

def test_the_join_form_says_a_typed_rooms_address_is_recorded(gui, scripted):
    server = scripted(info={"type": "info", "room": "Lab 3", "logged": True,
                            "password": False, "version": "test"})
    amy = gui(name="amy")
    amy.fill(host=LOOPBACK, port=str(server.port))
    amy.pump(amy.form.recorded.winfo_ismapped, "the recorded line")
    assert server.infos == 1  # one probe, once the typing paused
    amy.fill(port=str(free_port()))
    amy.pump(lambda: not amy.form.recorded.winfo_ismapped(), "the line gone for another port")


def test_the_join_form_says_a_found_room_is_recorded(gui, server):
    search = FakeSearch(found("Lab 3", server.port, logged=True),
                        found("Lab 4", server.port + 1))
    amy = gui(search=search, name="amy")
    listed(amy, 2)
    assert not amy.form.recorded.winfo_ismapped()  # no room chosen yet
    amy.press(amy.form.entries["name"], "<Down>")
    amy.pump(amy.form.recorded.winfo_ismapped, "the recorded line for Lab 3")
    amy.press(amy.form.entries["name"], "<Down>")
    amy.pump(lambda: not amy.form.recorded.winfo_ismapped(), "no line for Lab 4")
