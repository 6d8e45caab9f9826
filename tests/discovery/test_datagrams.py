"""Discovery's datagrams (chat_app/discovery/datagrams.py): no sockets."""

import json
import unicodedata

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.discovery import datagrams as discovery
from chat_app.wire import protocol
from chat_app.discovery.datagrams import MAX_ANSWER_BYTES, answer_bytes, is_query, parse_answer

FINGERPRINT = "ab" * 32


def answer(**changes):
    fields = dict(room="Lab 3", port=1234, tls=True, fingerprint=FINGERPRINT, password=False,
                  users=14, version="0.1")
    fields.update(changes)
    return answer_bytes(**fields)


def test_the_query_find_sends_is_a_query_and_other_keys_are_ignored():
    assert is_query(discovery.QUERY_BYTES)
    assert is_query(b'{"type": "discover", "from": "a newer find"}')


@pytest.mark.parametrize("data", [
    b"", b"discover", b'{"type": "room"}', b"[1, 2]", b'"discover"', b"\xff\xfe{",
    b'{"type": "discover"' + b" " * 1024 + b"}", b"[" * 100000,
])
def test_anything_else_is_not_a_query(data):
    assert not is_query(data)


def test_an_answer_carries_every_field_and_reads_back():
    data = answer()
    assert json.loads(data.decode("utf-8")) == {
        "type": "room", "room": "Lab 3", "port": 1234, "tls": True, "fingerprint": FINGERPRINT,
        "password": False, "users": 14, "version": "0.1", "logged": False}
    assert parse_answer(data) == {key: value for key, value in json.loads(data).items()
                                  if key != "type"}
    assert parse_answer(answer(tls=False, fingerprint=None))["fingerprint"] is None
    assert parse_answer(answer(logged=True))["logged"] is True


def test_an_older_servers_answer_without_logged_reads_as_not_logged():
    older = dict(json.loads(answer().decode("utf-8")))
    del older["logged"]
    assert parse_answer(json.dumps(older).encode("utf-8"))["logged"] is False


def test_a_long_room_name_is_cut_to_fit_512_bytes():
    for name in ("L" * 2000, "教室" * 400, "é" * 700):
        data = answer(room=name)
        assert len(data) <= MAX_ANSWER_BYTES
        found = parse_answer(data)
        assert found is not None and name.startswith(found["room"])
        assert len(data) > MAX_ANSWER_BYTES - 30  # cut no more than it must


# What a fake room may put in its name: a title change (OSC 0), a clipboard
# write (OSC 52), clear-screen, a CSI spelt as one C1 byte, BEL, a
# right-to-left override, direction marks, line breaks of every kind.
ESCAPES = ("\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H\x9b31m\x07\u202e\u200f"
           "\u061c\n\r\u2028\u2029\x85\x0b\x0c\t")


def test_every_string_of_an_answer_arrives_cleaned_and_cut():
    data = answer(room="Lab 3" + ESCAPES + "  join:  evil", version="0.1" + ESCAPES)
    fields = parse_answer(data)
    for text in (fields["room"], fields["version"]):
        assert not [ch for ch in text if unicodedata.category(ch) == "Cc"], text
        assert not set(text) & (protocol.BIDI_CONTROLS | protocol.DIRECTION_MARKS
                                | protocol.LINE_SEPARATORS), text
    assert fields["room"] == "Lab 3]0;pwned]52;c;cm0gLXJmIH4=[2J[H31m join: evil"
    assert fields["version"] == "0.1]0;pwned]52;c;cm0gLXJmIH4=[2J[H31m"
    assert len(parse_answer(answer(room="L" * 300))["room"]) == discovery.MAX_ROOM_CHARS
    assert len(parse_answer(answer(version="9" * 300))["version"]) == (
        discovery.MAX_STRING_CHARS)


def test_a_field_a_later_server_adds_is_cleaned_too(monkeypatch):
    monkeypatch.setattr(discovery, "OPTIONAL_ANSWER_FIELDS",
                        discovery.OPTIONAL_ANSWER_FIELDS + (("motto", str, ""),))
    obj = dict(json.loads(answer().decode("utf-8")), motto="hi\x1b]52;c;eA==\x07")
    assert parse_answer(json.dumps(obj).encode("utf-8"))["motto"] == "hi]52;c;eA=="


def test_the_server_cuts_its_room_name_as_a_finder_does():
    from chat_app.relay import listener as server
    assert server.MAX_ROOM_CHARS == discovery.MAX_ROOM_CHARS


@pytest.mark.parametrize("data", [
    b"", b"{}", b'{"type": "discover"}', b"\xff",
    json.dumps({"type": "room", "room": "x", "port": "1234", "tls": False,
                "fingerprint": None, "password": False, "users": 1,
                "version": "0.1"}).encode(),
    json.dumps({"type": "room", "room": "x", "port": 1234, "tls": False,
                "fingerprint": None, "password": False, "users": True,
                "version": "0.1"}).encode(),
    json.dumps({"type": "room", "room": "x", "port": 70000, "tls": False,
                "fingerprint": None, "password": False, "users": 1,
                "version": "0.1"}).encode(),
    b'{"type": "room", "room": "' + b"x" * 600 + b'"}',
])
def test_what_is_not_an_answer_is_none(data):
    assert parse_answer(data) is None


def test_find_asks_the_default_port_and_the_nine_the_server_suggests():
    from chat_app.relay import listener as server
    assert discovery.SEARCH_PORTS[0] == server.DEFAULT_PORT
    assert discovery.SEARCH_PORTS[-1] == server.DEFAULT_PORT + server.PORT_SUGGESTIONS
