"""People at a terminal (nc, telnet): the plain-text side of the server."""

import re
import time

import pytest

from helpers import Client, wait_until
from chat_app.wire.text_format import INDENT

pytestmark = pytest.mark.system  # real servers, processes or sockets

STAMP = r"\[\d\d:\d\d\] "


def read_until(client, pattern, limit=50):
    """Read text lines until one matches; return all lines read."""
    lines = []
    for _ in range(limit):
        line = client.read_text()
        assert line is not None, "closed; got %r" % lines
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError("%r not in %r" % (pattern, lines))


def unwrap(rows):
    """Return the rows of one wrapped line as the line: each further row's indent was a space.

    The server wraps what text sessions read at 80 columns
    (text_format.SESSION_COLUMNS), every row after the first indented.
    """
    return " ".join(row[len(INDENT):] if row.startswith(INDENT) else row for row in rows)


def person(server, name):
    client = server.client()
    client.send_raw(name.encode("utf-8") + b"\n")
    read_until(client, "people in the room|alone in the room")
    return client


def test_silent_connection_is_prompted_for_a_name(server):
    client = server.client()
    started = time.monotonic()
    prompt = client.read_text()
    assert 0.5 < time.monotonic() - started < 3
    assert "Type your name" in prompt
    client.send_raw(b"amy\n")
    lines = read_until(client, "alone in the room")
    assert any("Welcome, amy" in line for line in lines)


def test_text_person_and_json_program_chat(server):
    amy = person(server, "amy")
    bob = Client(server.port)
    bob.join("bob")
    assert re.match(STAMP + r"\* bob joined$", amy.read_text())
    amy.send_raw(b"hello bob\r\n")
    assert bob.expect("message")["text"] == "hello bob"
    assert re.match(STAMP + "<amy> hello bob$", amy.read_text())
    bob.send({"type": "say", "text": "hi amy\nsecond line"})
    assert re.match(STAMP + "<bob> hi amy$", amy.read_text())
    assert amy.read_text() == "    second line"
    bob.send({"type": "say", "text": "/me waves"})
    assert re.match(STAMP + r"<bob> \*waves\*$", amy.read_text())
    bob.send({"type": "leave"})
    assert re.match(STAMP + r"\* bob left$", amy.read_text())


def test_commands(server):
    amy = person(server, "amy")
    bob = Client(server.port)
    bob.join("bob")
    amy.read_text()  # bob joined
    amy.send_raw(b"/who\n")
    assert amy.read_text() == "* 2 people in the room: amy, bob"
    amy.send_raw(b"/msg BOB just for you\n")
    frame = bob.expect("message")
    assert frame["to"] == "bob" and frame["text"] == "just for you"
    assert re.match(STAMP + r"<amy> \(private to bob\) just for you$", amy.read_text())
    amy.send_raw(b"/me nods\n")
    assert bob.expect("message")["text"] == "/me nods"
    assert re.match(STAMP + r"<amy> \*nods\*$", amy.read_text())
    amy.send_raw(b"//slash\n")
    assert bob.expect("message")["text"] == "/slash"
    amy.read_text()
    amy.send_raw(b"/help\n")
    assert "/msg NAME text" in "\n".join(read_until(amy, "//text"))
    amy.send_raw(b"/dance\n")
    assert "Unknown command /dance" in amy.read_text()
    amy.send_raw(b"/msg ghost hi\n")
    assert amy.read_text().startswith("! Nobody called ghost")
    amy.send_raw(b"/quit\n")
    assert amy.read_text() == "* Goodbye!"
    assert amy.assert_closed() == []
    assert bob.expect("left", name="amy")["reason"] == "quit"


def test_no_terminal_gets_control_characters(server):
    amy = person(server, "amy")
    bob = Client(server.port)
    bob.join("bob")
    amy.read_text()
    bob.send({"type": "say", "text": "\x1b]0;pwned\x07\x1b[2J\ttabbed\u202e"})
    raw = amy.read_line()
    assert not any(byte < 32 for byte in raw), raw
    assert raw.decode("utf-8").endswith("<bob> ]0;pwned[2J    tabbed")


def test_bad_names_are_explained_and_asked_again_until_one_fits(server):
    client = server.client()
    client.send_raw(b"bad name\n")
    assert "a space" in client.read_text()
    assert "another name" in client.read_text()
    client.send_raw(b"\xff\n")
    assert "not UTF-8" in client.read_text()
    for _ in range(5):  # no limit on tries: only the join timeout ends a login
        client.send_raw(b"bad!\n")
        assert "'!'" in client.read_text()
        assert "another name" in client.read_text()
    client.send_raw(b"x" * 40 + b"\n")
    assert "the limit is 32" in client.read_text()
    client.read_text()
    client.send_raw(b"amy\n")
    assert any("Welcome, amy" in line for line in read_until(client, "alone in the room"))


def test_each_prompt_gives_the_join_timeout_to_answer(make_server):
    server = make_server("--join-timeout", "0.6")
    client = server.client()
    for _ in range(4):  # longer in all than one join timeout
        client.send_raw(b"bad!\n")
        assert "'!'" in client.read_text()
        started = time.monotonic()
        assert "another name" in client.read_text()
        wait_until(lambda: time.monotonic() - started > 0.3, what="half the join timeout")
    client.send_raw(b"amy\n")
    read_until(client, "alone in the room")
    silent = server.client()
    lines = silent.assert_closed()
    assert lines[-1].startswith(b"! Nothing was joined within 0.6 seconds")


def test_taken_name_is_asked_again(server):
    amy = person(server, "amy")
    client = server.client()
    client.send_raw(b"AMY\n")
    assert "already in use" in client.read_text()
    client.send_raw(b"amy2\n")
    assert any("Welcome, amy2" in line for line in read_until(client, "people in the room"))
    amy.close()


def test_password_prompt(make_server):
    server = make_server("--password", "pw")
    client = server.client()
    client.send_raw(b"amy\n")
    assert "password" in client.read_text()
    client.send_raw(b"nope\n")
    assert "Wrong password" in client.read_text()
    assert "password" in client.read_text()
    client.send_raw(b"pw\n")
    read_until(client, "alone in the room")
    server.out.wait_for(r"refused amy \(127\.0\.0\.1\): wrong password; asked again")


def test_a_taken_name_at_a_password_room_asks_only_for_another_name(make_server):
    server = make_server("--password", "pw")
    amy = Client(server.port)
    amy.join("amy", password="pw")
    client = server.client()
    client.send_raw(b"Amy\n")
    assert client.read_text() == "This room has a password. Type it and press Enter:"
    client.send_raw(b"pw\n")
    assert "already in use" in client.read_text()
    assert client.read_text() == "Type another name and press Enter:"
    client.send_raw(b"amelia\n")  # the password is not asked again
    assert read_until(client, "people in the room")[0] == "* Welcome, amelia! Type /help for commands."
    server.out.wait_for(r"refused Amy \(127\.0\.0\.1\): that name, or one that looks like it, "
                        r"is in use; asked again")


def test_a_person_is_told_whether_the_password_is_missing_or_wrong(make_server):
    server = make_server("--password", "pw")
    client = server.client()
    client.send_raw(b"amy\n")
    assert client.read_text() == "This room has a password. Type it and press Enter:"
    client.send_raw(b"\n")
    assert client.read_text() == "! This room needs a password. Ask the teacher for it."
    assert "password" in client.read_text()
    for _ in range(4):  # more than three tries: no limit, only the join timeout
        client.send_raw(b"nope\n")
        assert client.read_text().startswith("! Wrong password for this room.")
        assert "password" in client.read_text()
    client.send_raw(b"pw\n")
    read_until(client, "alone in the room")


def test_history_is_shown_to_a_person(server):
    bob = Client(server.port)
    bob.join("bob")
    bob.send({"type": "say", "text": "earlier"})
    bob.expect("message")
    client = server.client()
    client.send_raw(b"amy\n")
    lines = read_until(client, "people in the room")
    assert lines[0] == "* Earlier messages:"
    assert re.match(STAMP + "<bob> earlier$", lines[1])


def test_text_errors_do_not_disconnect(make_server):
    server = make_server("--max-text", "10", "--rate-limit", "0")
    amy = person(server, "amy")
    # Lines that show nothing are ignored, without a word: empty, spaces, a
    # tab, an ideographic space, a zero-width space.
    amy.send_raw("\n   \n\t\n\u3000\n\u200b\n".encode("utf-8"))
    amy.send_raw(b"this is far too long\n")
    assert "limit is 10" in amy.read_text()
    amy.send_raw(b"ok\n")
    assert amy.read_text().endswith("<amy> ok")


def test_text_sessions_are_not_pinged(make_server):
    server = make_server("--ping-interval", "0.2", "--ping-timeout", "0.2")
    amy = person(server, "amy")
    bob = Client(server.port)  # a program, pinged: it shows the intervals passing
    bob.join("bob")
    for _ in range(2):
        bob.expect("ping")
        bob.send({"type": "pong"})
    assert server.room.users() == ["amy", "bob"]
    assert amy.read_text().endswith("* bob joined")
    amy.send_raw(b"still here\n")
    assert amy.read_text().endswith("<amy> still here")


@pytest.mark.parametrize("line", [b"{broken\n", b"[1,2]\n"])
def test_a_first_line_that_is_not_a_json_object_is_a_name(server, line):
    client = server.client()
    client.send_raw(line)
    assert "The name contains" in client.read_text()


# --- what a person reads without typing anything ----------------------------

def test_a_person_at_a_full_room_reads_plain_words(make_server):
    server = make_server("--max-clients", "1")
    first = server.client()
    server.wait_connections(1)
    person_at_full = server.client()  # types nothing
    lines = person_at_full.assert_closed()
    assert lines == [b"! The chat room is full, so you cannot join now. Try again in a few "
                     b"minutes, or ask the teacher to raise --max-clients."]
    server.out.wait_for("refused 127.0.0.1: the server is full")
    first.close()


def test_a_person_over_the_per_address_limit_reads_plain_words(make_server, monkeypatch):
    from chat_app.relay import room as room_module
    monkeypatch.setattr(room_module, "is_loopback", lambda address: False)
    server = make_server("--max-per-ip", "1")
    first = server.client()
    server.wait_connections(1)
    lines = server.client().assert_closed()
    assert len(lines) == 1 and lines[0].startswith(b"! Too many connections from your")
    first.close()


def test_a_person_who_types_first_at_a_full_room_reads_plain_words(make_server):
    server = make_server("--max-clients", "1")
    first = server.client()
    server.wait_connections(1)
    typist = server.client()
    typist.send_raw(b"amy\n")
    assert typist.read_text().startswith("! The chat room is full")
    first.close()


# --- held back, never dropped -------------------------------------------------

def test_a_pasted_listing_arrives_whole_and_in_order(make_server):
    server = make_server("--rate-limit", "50")
    amy = person(server, "amy")
    bob = Client(server.port)
    bob.join("bob")
    amy.read_text()  # bob joined
    amy.send_raw(b"".join(b"line %d\n" % number for number in range(200)))
    texts = [re.sub(STAMP, "", line) for line in read_until(amy, "^! ")]
    notice = texts.pop()
    assert notice.startswith("! You are sending faster than this room allows (50 messages")
    assert "held back and will follow in order" in notice
    bob.send({"type": "say", "text": "meanwhile"})
    while len(texts) < 201:
        line = amy.read_text()
        assert not line.startswith("!"), line  # one notice only
        texts.append(re.sub(STAMP, "", line))
    pasted = [text for text in texts if text.startswith("<amy>")]
    assert pasted == ["<amy> line %d" % number for number in range(200)]
    assert "<bob> meanwhile" in texts[:-1]  # relayed while the paste was still arriving
