"""The chat view, drawn in a real window against a real server (window/chat_view.py).

The log, the user list and how lines are laid out; the window around them
is test_chat_window.py's Gui, under the display fixture.
"""

import re

import pytest

from helpers import Client
from test_chat_window import gui  # noqa: F401  (a fixture)

pytestmark = pytest.mark.system


# --- the chat ----------------------------------------------------------------

def test_user_list_follows_joins_and_leaves(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    bob = Client(server.port)
    bob.join("bob")
    amy.pump(lambda: amy.users() == ["amy", "bob"], "bob in the list")
    amy.wait_log("bob joined")
    bob.send({"type": "leave"})
    amy.pump(lambda: amy.users() == ["amy"], "bob gone from the list")
    amy.wait_log("bob left")
    assert amy.chat.count.cget("text") == "1 person here"


def test_double_click_starts_a_private_message(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    bob, cy = Client(server.port), Client(server.port)
    bob.join("bob")
    cy.join("cy")
    amy.pump(lambda: "bob" in amy.users(), "bob in the list")
    index = amy.users().index("bob")
    amy.chat.people.selection_set(index)
    bbox = amy.chat.people.bbox(index)
    for _ in range(2):  # two quick clicks make Tk's double click
        for event in ("<ButtonPress-1>", "<ButtonRelease-1>"):
            amy.chat.people.event_generate(event, x=bbox[0] + 2, y=bbox[1] + 2)
    amy.root.update()
    assert amy.chat.typed() == "/msg bob "
    assert amy.root.focus_lastfor() is amy.chat.input
    amy.chat.input.insert("end", "just you")
    amy.press_enter(amy.chat.input)
    frame = bob.expect("message", text="just you")
    assert frame["to"] == "bob"
    amy.wait_log("amy (private to bob): just you")
    cy.send({"type": "say", "text": "public"})
    assert cy.expect("message")["text"] == "public"  # cy never saw the private one


def test_mentions_are_highlighted_and_counted_while_unfocused(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    bob = Client(server.port)
    bob.join("bob")
    amy.window.state.focus(False)
    bob.send({"type": "say", "text": "are you there Amy?"})
    bob.send({"type": "say", "text": "unrelated"})
    amy.wait_log("unrelated")
    assert amy.root.title().startswith("(2) chat_app")
    ranges = amy.chat.log.tag_ranges("mention")
    assert ranges and "Amy?" in amy.chat.log.get(ranges[0], ranges[1])
    amy.window.state.focus(True)
    amy.window.update_title()
    assert not amy.root.title().startswith("(")


def test_history_is_marked(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    bob.send({"type": "say", "text": "said earlier"})
    bob.expect("message")
    amy = gui()
    amy.join(server.port, "amy")
    amy.wait_log("said earlier")
    log = amy.log()
    assert log.index("Earlier messages:") < log.index("said earlier") < log.index(
        "End of earlier messages.")
    start = amy.chat.log.search("said earlier", "1.0")
    assert "history" in amy.chat.log.tag_names(start)


@pytest.mark.parametrize("text", [
    "party 🎉 time 👩\u200d💻", "שלום עולם مرحبا", "x" * 4000,
    "{brace [bracket] $dollar \\backslash \"quote\" <b>tag</b> %s %d",
])
def test_anything_relayed_displays(gui, server, text):
    amy = gui()
    amy.join(server.port, "amy")
    bob = Client(server.port)
    bob.join("bob")
    bob.send({"type": "say", "text": text})
    # After "bob:" a space, or a no-break space before a long run without spaces.
    amy.pump(lambda: re.search(r"bob:\s" + re.escape(text), amy.log()), "bob: " + text[:40])


def test_the_log_follows_new_lines_only_while_the_reader_is_at_the_end(gui, server):
    from chat_app.window import chat_view
    amy = gui()
    amy.join(server.port, "amy")
    amy.chat.add([chat_view.notice("filler %d" % i) for i in range(200)])
    amy.root.update()
    assert amy.chat.log.yview()[1] == 1.0
    amy.chat.scroll_by_bar("moveto", 0)  # the reader drags the scrollbar to the top
    amy.root.update()
    amy.chat.add([chat_view.notice("while reading the top")])
    amy.root.update()
    assert amy.chat.log.yview()[0] == 0.0
    amy.chat.scroll_by_bar("moveto", 1)
    amy.root.update()
    amy.chat.add([chat_view.notice("at the end again")])
    amy.root.update()
    assert amy.chat.log.yview()[1] == 1.0


def test_the_log_is_capped(gui, server, monkeypatch):
    from chat_app.window import chat_view
    monkeypatch.setattr(chat_view, "MAX_LOG_LINES", 50)
    amy = gui()
    amy.join(server.port, "amy")
    amy.chat.add([chat_view.notice("line %d" % i) for i in range(200)])
    assert int(amy.chat.log.index("end-1c").split(".")[0]) <= 50
    assert "line 199" in amy.log() and "line 100" not in amy.log()


def test_a_capped_log_forgets_the_messages_it_dropped_and_finds_the_rest(gui, server,
                                                                          monkeypatch):
    from chat_app.window import chat_view
    monkeypatch.setattr(chat_view, "MAX_LOG_LINES", 50)
    amy = gui()
    amy.join(server.port, "amy")
    amy.chat.add([chat_view.entry("message", "text %d" % i, 1.0, "bob", id=i)
                  for i in range(1, 201)])
    assert list(amy.chat.shown_ids) == list(range(152, 201))  # 151 dropped whole, forgotten
    amy.root.update()
    amy.chat.log.see(amy.chat.log.index(chat_view.message_marks(180)[0]))
    amy.root.update()
    x, y, _, height = amy.chat.log.bbox(amy.chat.log.index(chat_view.message_marks(180)[0]))
    assert amy.chat.message_at(x + 2, y + height // 2) == 180
    assert amy.chat.remove_message(180) and "text 180\n" not in amy.log()
    assert not amy.chat.remove_message(3)  # dropped long ago


# --- where the view is --------------------------------------------------------

def at_end(amy):
    return amy.chat.log.yview()[1] == 1.0


def room_with_history(make_server, count, *args):
    """A server whose history holds `count` lines of bob's; return it and bob."""
    server = make_server("--rate-limit", "0", "--history", str(count), *args)
    bob = Client(server.port)
    bob.join("bob")
    for i in range(count):
        bob.send({"type": "say", "text": "history line %03d" % i})
    for i in range(count):
        bob.expect("message", text="history line %03d" % i)
    return server, bob


def reading_history(make_server, gui, count):
    """Amy, joined to a room with `count` lines of history; return server, bob, amy."""
    server, bob = room_with_history(make_server, count)
    amy = gui()
    amy.join(server.port, "amy")
    amy.wait_log("history line %03d" % (count - 1))
    settled(amy)
    return server, bob, amy


def wheel_up(amy, clicks):
    """Turn the mouse wheel over the log, as X11 reports it (button 4)."""
    for _ in range(clicks):
        amy.chat.log.event_generate("<Button-4>", x=20, y=20)


def settled(amy):
    """Let Tk finish its layout: pump until no idle work is left."""
    amy.root.update_idletasks()
    amy.root.update()


def test_joining_a_room_with_long_history_shows_the_end(make_server, gui):
    server, bob, amy = reading_history(make_server, gui, 120)
    amy.pump(lambda: amy.chat.log.winfo_height() > 100, "the log to get its size")
    settled(amy)
    first, last = amy.chat.log.yview()
    assert last == 1.0 and first > 0.5, (first, last)
    log = amy.chat.log
    assert log.bbox(log.search("/help lists the commands", "1.0")) is not None  # in view
    assert log.bbox(log.search("history line 000", "1.0")) is None  # scrolled past
    assert not amy.chat.marker.winfo_ismapped()


def test_own_and_new_messages_keep_a_reader_at_the_end(make_server, gui):
    from chat_app.window.chat_view import notice
    server, bob, amy = reading_history(make_server, gui, 120)
    amy.enter("my own line", shows="amy: my own line")
    settled(amy)
    assert at_end(amy)
    bob.send({"type": "say", "text": "a new line from bob"})
    amy.wait_log("bob: a new line from bob")
    settled(amy)
    assert at_end(amy)
    amy.chat.add([notice("a long line " * 200)])  # wrapped: laid out later
    settled(amy)
    assert at_end(amy)


def test_a_resized_window_still_follows_a_long_block(make_server, gui):
    server, bob, amy = reading_history(make_server, gui, 120)
    amy.root.geometry("1280x800")
    amy.pump(lambda: amy.chat.log.winfo_width() > 900, "the wider window")
    bob.send({"type": "say", "text": "Here is mine:\nfor i in range(n):\n    total += a[i]"})
    amy.wait_log("total += a[i]")
    settled(amy)
    assert at_end(amy)
    amy.root.geometry("600x400")  # narrower: every line wraps again
    amy.pump(lambda: amy.chat.log.winfo_width() < 500, "the narrower window")
    settled(amy)
    assert at_end(amy)
    amy.enter("/help", shows="/msg NAME text")
    settled(amy)
    log = amy.chat.log
    assert at_end(amy)
    assert log.bbox(log.search("send a line that starts with", "1.0")) is not None


def test_a_reader_who_scrolled_up_stays_put_and_gets_a_marker(make_server, gui):
    server, bob, amy = reading_history(make_server, gui, 120)
    wheel_up(amy, 10)
    settled(amy)
    top = amy.chat.log.index("@0,0")
    assert not at_end(amy) and not amy.chat.marker.winfo_ismapped()
    for i in range(3):
        bob.send({"type": "say", "text": "while amy reads %d" % i})
    amy.wait_log("while amy reads 2")
    amy.pump(amy.chat.marker.winfo_ismapped, "the marker to show")
    settled(amy)
    assert amy.chat.log.index("@0,0") == top and not at_end(amy)
    assert amy.chat.marker.cget("text") == "3 new messages \u2193"
    amy.chat.marker.invoke()
    settled(amy)
    assert at_end(amy) and not amy.chat.marker.winfo_ismapped()
    bob.send({"type": "say", "text": "after the jump"})
    amy.wait_log("bob: after the jump")
    settled(amy)
    assert at_end(amy)


def test_scrolling_back_to_the_end_removes_the_marker(make_server, gui):
    server, bob, amy = reading_history(make_server, gui, 60)
    wheel_up(amy, 5)
    settled(amy)
    bob.send({"type": "say", "text": "one new"})
    amy.pump(amy.chat.marker.winfo_ismapped, "the marker to show")
    assert amy.chat.marker.cget("text") == "1 new message \u2193"
    amy.chat.scroll_by_bar("moveto", 1.0)
    amy.pump(lambda: not amy.chat.marker.winfo_ismapped(), "the marker to go")


# --- how lines are laid out --------------------------------------------------------

def x_of(amy, text):
    index = amy.chat.log.search(text, "1.0")
    amy.chat.log.see(index)
    settled(amy)
    return amy.chat.log.bbox(index)[0]


def test_wrapped_and_multi_line_messages_hang_under_their_text(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    words = " ".join("word%d" % i for i in range(80))
    bob.send({"type": "say", "text": "START " + words + " END\nsecond line"})
    amy.wait_log("second line")
    settled(amy)
    log = amy.chat.log
    start = log.search("START", "1.0")
    hang = [tag for tag in log.tag_names(start) if tag.startswith("margin")]
    assert hang and int(log.tag_cget(hang[0], "lmargin2")) > 0
    assert x_of(amy, "second line") == x_of(amy, "START")
    end = log.search("END", "1.0")
    assert log.bbox(end)[1] > log.bbox(start)[1]  # the message really wrapped
    wrapped = log.index("%s display linestart" % end)
    assert x_of(amy, log.get(wrapped, wrapped + " wordend")) == x_of(amy, "START")


def test_a_long_run_without_spaces_starts_on_its_prefixs_line(gui, server):
    bob = Client(server.port)
    bob.join("bob")
    amy = gui()
    amy.join(server.port, "amy")
    run = "\u4eca\u5929\u6211\u4eec\u5b66\u4e60" * 40  # Chinese: no spaces to wrap at
    bob.send({"type": "say", "text": run})
    amy.wait_log(run[:6])
    server.room.announce("\u8bf7" + run)
    amy.wait_log("\u8bf7" + run[:6])
    settled(amy)
    log = amy.chat.log
    for prefix, text in (("bob:", run[:6]), ("***", "\u8bf7" + run[:6])):
        start = log.search(text, "1.0")
        log.see(start)
        settled(amy)
        assert log.bbox(start)[1] == log.bbox(log.search(prefix, "1.0"))[1], prefix
        assert log.bbox(start + " lineend -1c")[1] > log.bbox(start)[1]  # it did wrap


def test_help_is_aligned_in_a_fixed_font(gui, server):
    amy = gui()
    amy.join(server.port, "amy")
    amy.enter("/help", shows="/msg NAME text")
    descriptions = ("send text to everyone", "send an action", "send a private message",
                    "list who is in the room")
    assert len({x_of(amy, text) for text in descriptions}) == 1
    # In a narrow window a long meaning wraps under itself, not under the time.
    amy.root.geometry("560x400")
    amy.pump(lambda: amy.root.winfo_width() == 560, "the window to narrow")
    settled(amy)
    log = amy.chat.log
    row = log.search("send a private message", "1.0")
    end = log.search("NAME sees", row)
    assert log.count(row, end, "displaylines")[0] > 0  # the row really wrapped
    wrapped = log.index("%s display linestart" % end)
    amy.chat.following = False  # as a reader who scrolled: the view stays where it is put
    meaning = x_of(amy, "send a private")
    log.see(wrapped)
    settled(amy)
    assert log.bbox(wrapped)[0] == meaning


@pytest.mark.parametrize("size", ["800x600", "1280x800"])
def test_nothing_is_cut_off_at_common_screen_sizes(gui, server, size):
    amy = gui()
    amy.join(server.port, "amy")
    amy.root.geometry(size)
    amy.window.set_status("Connection lost (the server closed the connection: The server "
                          "is shutting down). Trying again in 30 s\u2026 Your typing is kept.")
    amy.chat.set_stale("disconnected")
    amy.chat.show_bar("The teacher removed you from the room (a reason long enough to wrap "
                      "over the whole width of the window, and then some more words). You "
                      "may join again.", "Rejoin", amy.window.rejoin)
    amy.pump(lambda: str(amy.root.winfo_width()) == size.split("x")[0], "the window size")
    settled(amy)
    settled(amy)  # labels wrap to their new width, then ask for their height
    labels = [amy.chat.status, amy.chat.count, amy.chat.bar_words, amy.chat.hint]
    for label in labels:
        assert label.winfo_ismapped()
        assert label.winfo_height() >= label.winfo_reqheight(), label.cget("text")
        assert label.winfo_width() >= label.winfo_reqwidth(), label.cget("text")
        assert 0 < int(str(label.cget("wraplength"))) <= label.winfo_width()
    bottom = amy.chat.status.winfo_rooty() + amy.chat.status.winfo_height()
    assert bottom <= amy.root.winfo_rooty() + amy.root.winfo_height()
