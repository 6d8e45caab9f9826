"""People at a terminal (nc, telnet): the plain-text side of the server."""

import re
import time

import pytest

from helpers import Client

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
    assert re.match(STAMP + r"\* bob waves$", amy.read_text())
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
    assert re.match(STAMP + r"\* amy nods$", amy.read_text())
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


def test_bad_names_are_explained_and_asked_again_three_times(server):
    client = server.client()
    client.send_raw(b"bad name\n")
    assert "a space" in client.read_text()
    assert "another name" in client.read_text()
    client.send_raw(b"\xff\n")
    assert "not UTF-8" in client.read_text()
    client.send_raw(b"bad!\n")
    assert "'!'" in client.read_text()
    client.read_text()
    client.send_raw(b"x" * 40 + b"\n")
    lines = client.assert_closed()
    assert any(b"Too many tries" in line for line in lines), lines


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
    amy.send_raw(b"\n")  # an empty line is ignored
    amy.send_raw(b"this is far too long\n")
    assert "limit is 10" in amy.read_text()
    amy.send_raw(b"ok\n")
    assert amy.read_text().endswith("<amy> ok")


def test_text_sessions_are_not_pinged(make_server):
    server = make_server("--ping-interval", "0.2", "--ping-timeout", "0.2")
    amy = person(server, "amy")
    time.sleep(1.0)
    assert server.room.users() == ["amy"]
    amy.send_raw(b"still here\n")
    assert amy.read_text().endswith("<amy> still here")


@pytest.mark.parametrize("line", [b"{broken\n", b"[1,2]\n"])
def test_a_first_line_that_is_not_a_json_object_is_a_name(server, line):
    client = server.client()
    client.send_raw(line)
    assert "The name contains" in client.read_text()
