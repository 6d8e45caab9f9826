"""A room that changed at a restart is explained, and never silently re-pinned (issue 25, item 9).

The issue's finding: a room restarted with encryption switched on was
reported, in the window and in `client --text`, as "The chat server has
stopped ... Trying again in 30 s", forever, while the console logged "it
did not use encryption (TLS)" at every retry.  Here a real server is
restarted on the same port encrypted, unencrypted, or with another
certificate, and each client must stop trying, say what changed, and ask
for what it needs: the fingerprint from the board (only what is typed is
pinned), or a yes before it joins unencrypted.
"""

import os
import re

import pytest

from helpers import CERT, KEY, ROOT, WAIT, wait_until
from chat_app.client.chat_state import (
    CHANGED_ROOM,
    CONSENT,
    FINGERPRINT,
    FINGERPRINT_WORDS,
    SAME_FINGERPRINT,
    changed_room,
    read_fingerprint,
)
from chat_app.wire.tls import CHANGES as TLS_CHANGES
from chat_app.wire.tls import NEW_CERTIFICATE, NOT_ENCRYPTED, NOW_ENCRYPTED, grouped
from test_chat_window import gui  # noqa: F401  (a fixture)
from test_text_client import PtyClient
from test_tls import expected_fingerprint

OTHER = (os.path.join(ROOT, "tests", "data", "other.crt"),
         os.path.join(ROOT, "tests", "data", "other.key"))
ENCRYPTED = ("--tls-cert", CERT, "--tls-key", KEY)
RE_ENCRYPTED = ("--tls-cert", OTHER[0], "--tls-key", OTHER[1])

# Each change: how the room starts, how it comes back, and what the person types.
CHANGES = {
    NOW_ENCRYPTED: ((), ENCRYPTED),
    NOT_ENCRYPTED: (ENCRYPTED, ()),
    NEW_CERTIFICATE: (ENCRYPTED, RE_ENCRYPTED),
}


def board(cert=CERT, digits=16):
    """The fingerprint as the teacher writes it on the board."""
    return grouped(expected_fingerprint(cert), digits)


def restart(make_server, server, args):
    port = server.port
    server.close()
    return make_server("--port", str(port), *args)


# --- what is said and asked, decided without Tk --------------------------

def test_each_change_says_what_happened_and_asks_for_what_joining_needs():
    now = changed_room(NOW_ENCRYPTED)
    assert now.asks == FINGERPRINT and "encrypted now" in now.words
    assert "fingerprint from the board" in now.words
    plain = changed_room(NOT_ENCRYPTED)
    assert plain.asks == CONSENT and "no longer encrypted" in plain.words
    assert "only if the teacher says" in plain.words
    new = changed_room(NEW_CERTIFICATE, expected_fingerprint())
    assert new.asks == FINGERPRINT and "new certificate" in new.words
    assert board() in new.words  # the digits it joined with, to compare with the board
    assert "do not go on" in new.words and "tell the teacher" in new.words
    typed = changed_room(NEW_CERTIFICATE, "00:11:22:33:44:55:66:77", typed=True)
    assert "0011 2233 4455 6677, the digits you typed" in typed.words
    assert typed.asks == FINGERPRINT
    assert set(CHANGED_ROOM) == set(TLS_CHANGES) == set(CHANGES)  # each change is said


def test_only_a_typed_fingerprint_of_16_digits_or_more_becomes_the_pin():
    assert read_fingerprint(board(OTHER[0])) == (expected_fingerprint(OTHER[0])[:23], None)
    assert read_fingerprint(board(OTHER[0], 64))[0] == expected_fingerprint(OTHER[0])
    assert read_fingerprint("C71A 9210") == (None, FINGERPRINT_WORDS)  # 8 digits: too few
    assert read_fingerprint("not hex at all!!") == (None, FINGERPRINT_WORDS)
    assert read_fingerprint("") == (None, FINGERPRINT_WORDS)
    old = expected_fingerprint()
    assert read_fingerprint(board(), old) == (None, SAME_FINGERPRINT)  # what the room no
    assert read_fingerprint(board(CERT, 64), old[:47]) == (None, SAME_FINGERPRINT)  # longer shows


# --- the terminal ----------------------------------------------------------

def at_the_terminal(pyz, server, tls):
    args = ["--name", "amy"]
    if tls:
        args += ["--tls", "--tls-fingerprint", board()]
    client = PtyClient(pyz, server.port, *args)
    client.wait_for("Welcome, amy")
    return client


@pytest.mark.system
def test_the_terminal_asks_for_the_fingerprint_of_a_room_encrypted_now(pyz, make_server):
    server = make_server()
    client = at_the_terminal(pyz, server, tls=False)
    try:
        again = restart(make_server, server, ENCRYPTED)
        client.wait_for("The room is encrypted now", timeout=WAIT * 2)
        client.wait_for("Type the fingerprint from the board and press Enter")
        again.out.wait_for("it did not use encryption")
        client.type("C71A 9210")  # too few digits: said, asked again
        client.wait_for("at least the first 16")
        assert again.room.users() == []  # no join of its own meanwhile
        client.type(board())
        client.wait_for("Reconnected.")
        assert again.room.users() == ["amy"]
        assert "Trying again" not in client.text()
        # Asked once, refused once: the console's "did not use encryption" said once.
        assert len(re.findall("did not use encryption", again.out.text)) == 1
    finally:
        client.finish()


@pytest.mark.system
def test_the_terminal_asks_before_joining_a_room_no_longer_encrypted(pyz, make_server):
    server = make_server(*ENCRYPTED)
    client = at_the_terminal(pyz, server, tls=True)
    try:
        again = restart(make_server, server, ())
        client.wait_for("The room is no longer encrypted", timeout=WAIT * 2)
        client.wait_for("Type yes to join it unencrypted, or no to stop")
        client.type("maybe")
        wait_until(lambda: client.text().count("Type yes to join it unencrypted") == 2, WAIT,
                   lambda: "asked again; the terminal shows %r" % client.text())
        assert again.room.users() == []  # never a silent downgrade
        client.type("yes")
        client.wait_for("Reconnected.")
        assert again.room.users() == ["amy"]
    finally:
        client.finish()


@pytest.mark.system
def test_the_terminal_never_takes_a_new_certificate_unless_its_digits_are_typed(
        pyz, make_server):
    server = make_server(*ENCRYPTED)
    client = at_the_terminal(pyz, server, tls=True)
    try:
        again = restart(make_server, server, RE_ENCRYPTED)
        client.wait_for("The room shows a new certificate", timeout=WAIT * 2)
        assert board() in client.text()
        client.type(board())  # the old digits again
        client.wait_for("The room does not show those digits")
        assert again.room.users() == []
        client.type("0000 1111 2222 3333")  # a typing mistake: tried, and said as such
        client.wait_for("does not start with 0000 1111 2222 3333, the digits you typed",
                        timeout=WAIT * 2)
        client.type(board(OTHER[0]))
        client.wait_for("Reconnected.")
        assert again.room.users() == ["amy"]
    finally:
        client.finish()


@pytest.mark.system
def test_piped_input_says_what_changed_and_how_to_start_again(pyz, make_server):
    from test_text_client import TerminalClient
    server = make_server()
    client = TerminalClient(pyz, server.port, "--name", "amy")
    try:
        client.wait_for("Welcome, amy")
        restart(make_server, server, ENCRYPTED)
        assert client.process.wait(WAIT * 2) == 1
    finally:
        said = client.finish()
    assert "The room is encrypted now" in said and "--tls-fingerprint" in said


# --- the window ------------------------------------------------------------

@pytest.mark.system
@pytest.mark.parametrize("change", [NOW_ENCRYPTED, NOT_ENCRYPTED, NEW_CERTIFICATE])
def test_the_window_explains_a_changed_room_in_a_bar_and_rejoins_as_told(
        make_server, gui, change):  # noqa: F811  (the fixture)
    before, after = CHANGES[change]
    server = make_server(*before)
    amy = gui()
    amy.fill(host="127.0.0.1", port=str(server.port), name="amy",
             fingerprint=board() if before else "")
    amy.form.button.invoke()
    amy.pump(amy.joined, "the join")
    amy.enter("before the restart", shows="amy: before the restart")
    again = restart(make_server, server, after)
    chat = amy.chat
    amy.pump(lambda: chat.bar.winfo_ismapped(), "the bar", timeout=WAIT * 2)
    asked = changed_room(change, expected_fingerprint() if before else None)
    assert chat.bar_words.cget("text") == asked.words
    assert amy.window.session is None  # it stopped trying
    assert "Trying again" not in chat.status.cget("text")
    assert again.room.users() == []
    if asked.asks == FINGERPRINT:
        assert chat.bar_fingerprint.winfo_ismapped() and chat.bar_fingerprint.cget("show") == ""
        assert amy.root.focus_lastfor() is chat.bar_fingerprint
        chat.bar_fingerprint.insert(0, "C71A")
        amy.press_enter(chat.bar_fingerprint)
        assert chat.bar_words.cget("text") == FINGERPRINT_WORDS
        assert amy.window.session is None
        chat.bar_fingerprint.delete(0, "end")
        chat.bar_fingerprint.insert(0, board(CERT if change == NOW_ENCRYPTED else OTHER[0]))
        amy.press_enter(chat.bar_fingerprint)
    else:
        assert not chat.bar_fingerprint.winfo_ismapped()
        assert chat.bar_button.cget("text") == "Join unencrypted"
        chat.bar_button.invoke()
    amy.pump(lambda: amy.joined() and again.room.users() == ["amy"], "the rejoin")
    amy.wait_log("Reconnected.")
    assert not chat.bar.winfo_ismapped()
    encrypted = ", encrypted" in chat.status.cget("text")
    assert encrypted == (change != NOT_ENCRYPTED)
    assert amy.log().count("amy: before the restart") == 1
