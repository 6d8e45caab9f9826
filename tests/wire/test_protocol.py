"""The protocol module on its own: no sockets, no threads."""

import json
import random
import re
import time

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import protocol
from chat_app.wire.protocol import (
    MAX_FRAME_BYTES,
    MAX_NESTING,
    LineSplitter,
    ProtocolError,
    clean_text,
    decode_client_frame,
    encode,
    nesting,
    parse_object,
    welcome_bytes,
)


def code_of(call, *args):
    with pytest.raises(ProtocolError) as caught:
        call(*args)
    return caught.value.code


# --- framing ---------------------------------------------------------------

def test_splitter_joins_pieces_and_accepts_crlf():
    splitter = LineSplitter()
    assert splitter.feed(b'{"a"') == []
    assert splitter.feed(b':1}\r\n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert splitter.pending == 4
    assert splitter.feed(b":3}\n") == [b'{"c":3}']


def test_splitter_refuses_a_long_line_before_it_ends():
    splitter = LineSplitter(limit=10)
    assert splitter.feed(b"x" * 10) == []
    assert code_of(splitter.feed, b"y") == "frame_too_long"


def test_splitter_refuses_a_long_complete_line():
    assert code_of(LineSplitter(limit=10).feed, b"x" * 11 + b"\n") == "frame_too_long"


def test_splitter_never_asks_for_more_than_the_limit():
    splitter = LineSplitter(limit=MAX_FRAME_BYTES)
    held = 0
    while True:
        wanted = splitter.wanted()
        assert held + wanted <= MAX_FRAME_BYTES + 2
        try:
            splitter.feed(b"z" * wanted)
        except ProtocolError as error:
            assert error.code == "frame_too_long"
            break
        held += wanted
    assert held <= MAX_FRAME_BYTES


# Streams cut at random places must give the same lines as when fed whole.
CUTTINGS = 40
LIMIT = 16


def cut(data, rng):
    """Return data cut into pieces of 1 to 2*LIMIT bytes at random places."""
    pieces, at = [], 0
    while at < len(data):
        size = rng.choice([1, 1, 2, 3, rng.randint(1, 2 * LIMIT)])
        pieces.append(data[at:at + size])
        at += size
    return pieces


def feed_pieces(pieces, limit=LIMIT):
    """Return (lines, error code or None, bytes fed when the error came)."""
    splitter, lines, fed = LineSplitter(limit=limit), [], 0
    for piece in pieces:
        fed += len(piece)
        try:
            lines.extend(splitter.feed(piece))
        except ProtocolError as error:
            return lines, error.code, fed
    return lines, None, fed


GOOD_STREAM = b"".join([
    b"a\n", b"\n", b"\r\n", b"x" * LIMIT + b"\n", b"y" * LIMIT + b"\r\n",
    b"mid\rdle\r\n", b"z" * (LIMIT - 1) + b"\r\n", b"last",
])
GOOD_LINES = [b"a", b"", b"", b"x" * LIMIT, b"y" * LIMIT, b"mid\rdle", b"z" * (LIMIT - 1)]


def test_splitter_gives_the_same_lines_however_the_stream_is_cut():
    rng = random.Random(11)
    assert feed_pieces([GOOD_STREAM]) == (GOOD_LINES, None, len(GOOD_STREAM))
    assert feed_pieces([GOOD_STREAM[i:i + 1] for i in range(len(GOOD_STREAM))])[:2] == (
        GOOD_LINES, None)
    for _ in range(CUTTINGS):
        assert feed_pieces(cut(GOOD_STREAM, rng))[:2] == (GOOD_LINES, None)


@pytest.mark.parametrize("long_line, passes_at", [
    (b"x" * (LIMIT + 1) + b"\n", LIMIT + 1),  # the byte after the limit
    (b"x" * LIMIT + b"\r\r\n", LIMIT + 2),  # a "\r" may start "\r\n": one more
    (b"x" * LIMIT + b"\rx\n", LIMIT + 2),
    (b"x" * (LIMIT - 1) + b"\r\r\r\n", LIMIT + 2),
])
def test_splitter_refuses_a_long_line_however_it_is_cut(long_line, passes_at):
    good = b"ok\n" + b"x" * LIMIT + b"\r\n"
    stream = good + long_line + b"after\n"
    rng = random.Random(8)
    cuttings = [[stream], [stream[i:i + 1] for i in range(len(stream))]]
    cuttings += [cut(stream, rng) for _ in range(CUTTINGS)]
    for pieces in cuttings:
        lines, code, fed = feed_pieces(pieces)
        assert code == "frame_too_long"
        assert lines == [b"ok", b"x" * LIMIT][:len(lines)]
        if all(len(piece) == 1 for piece in pieces):  # byte by byte: at once, not later
            assert fed == len(good) + passes_at
            assert lines == [b"ok", b"x" * LIMIT]


@pytest.mark.parametrize("size, ending, refused", [
    (LIMIT - 1, b"\n", False), (LIMIT, b"\n", False), (LIMIT, b"\r\n", False),
    (LIMIT + 1, b"\n", True), (LIMIT + 1, b"\r\n", True),
])
def test_splitter_limit_at_each_boundary(size, ending, refused):
    line = b"q" * size + ending
    for pieces in ([line], [line[i:i + 1] for i in range(len(line))],
                   [line[:size], line[size:]], [line[:LIMIT], line[LIMIT:]]):
        lines, code, _ = feed_pieces(pieces)
        assert (code == "frame_too_long") == refused
        assert lines == ([] if refused else [b"q" * size])


def test_splitter_work_is_linear_in_the_bytes_received():
    # Issue 11: copying the partial line on every read made a line dripped a
    # byte at a time quadratic (256 KiB took over 20 s of CPU; now about 0.2 s).
    limit = 256 * 1024
    splitter = LineSplitter(limit=limit)
    data = b"d" * limit + b"\n"
    started = time.process_time()
    lines = [line for i in range(len(data)) for line in splitter.feed(data[i:i + 1])]
    assert time.process_time() - started < 3.0
    assert lines == [b"d" * limit] and splitter.pending == 0


def test_the_limit_is_64_kib_excluding_the_line_ending():
    line = b'{"type":"say","text":"' + b"a" * (MAX_FRAME_BYTES - 24) + b'"}'
    assert len(line) == MAX_FRAME_BYTES
    assert LineSplitter().feed(line + b"\r\n") == [line]


# --- decoding --------------------------------------------------------------

@pytest.mark.parametrize("line, why", [
    (b"\xff\xfe{}", "invalid UTF-8"),
    (b'{"type":"say","text":"\xc0\xaf"}', "overlong UTF-8"),
    (b"not json", "not JSON"),
    (b"[1, 2]", "not an object"),
    (b'"text"', "a string"),
    (b"{" * 5000 + b"}" * 5000, "deep nesting"),
    (b'{"type":"ping","token":NaN}', "NaN"),
    (b'{"type": 5}', "type not a string"),
    (b'{"name":"x"}', "no type"),
    (b'{"type":"join"}', "join without a name"),
    (b'{"type":"join","name":7}', "join with a number as name"),
    (b'{"type":"join","name":"a","password":1}', "password not a string"),
    (b'{"type":"join","name":"a","nonce":1}', "nonce not a string"),
    (b'{"type":"join","name":"a","nonce":"n","teacher":1}', "teacher claim not a boolean"),
    (b'{"type":"proof","password":"p"}', "proof without a binding"),
    (b'{"type":"proof","binding":"b","teacher_password":false}', "proof not a string"),
    (b'{"type":"say"}', "say without text"),
    (b'{"type":"say","text":["x"]}', "text not a string"),
    (b'{"type":"say","text":"x","to":true}', "to not a string"),
    (b'{"type":"say","text":"\\ud800"}', "unpaired surrogate"),
    (b'{"type":"ping","token":{"a":1}}', "token an object"),
    (b'{"type":"ping","token":' + b"9" * 400 + b"}", "huge number"),
    (b'{"type":"ping","token":"' + b"t" * 300 + b'"}', "token too long"),
    (b"", "empty line"),
    (b"\x00\x00", "NUL bytes"),
])
def test_bad_frames_are_bad_frame(line, why):
    assert code_of(decode_client_frame, line) == "bad_frame", why


def test_unknown_type_is_not_bad_frame():
    assert code_of(decode_client_frame, b'{"type":"dance"}') == "unknown_type"


def test_unknown_fields_are_ignored_and_dropped():
    frame = decode_client_frame(b'{"type":"say","text":"hi","colour":"red","to":null}')
    assert frame == {"type": "say", "text": "hi"}


def test_join_password_and_ping_token_are_kept():
    assert decode_client_frame(b'{"type":"join","name":"a","password":"p"}') == {
        "type": "join", "name": "a", "password": "p"}
    assert decode_client_frame(b'{"type":"ping","token":42}') == {"type": "ping", "token": 42}


def test_a_proving_join_and_its_proof_keep_their_fields():
    assert decode_client_frame(b'{"type":"join","name":"a","nonce":"n","teacher":true}') == {
        "type": "join", "name": "a", "nonce": "n", "teacher": True}
    assert decode_client_frame(
        b'{"type":"proof","binding":"tcp:198.18.0.1:1234","password":"p","other":1}') == {
        "type": "proof", "binding": "tcp:198.18.0.1:1234", "password": "p"}
    assert protocol.challenge_frame("n", 200000, {"password": "s"}) == {
        "type": "challenge", "nonce": "n", "iterations": 200000, "salt": {"password": "s"}}
    assert ProtocolError("bad_binding").fatal


def test_fatal_codes():
    assert ProtocolError("frame_too_long").fatal
    assert ProtocolError("join_timeout").fatal
    assert not ProtocolError("bad_frame").fatal
    assert not ProtocolError("rate_limited").fatal


def test_every_error_code_has_a_message():
    codes = set(protocol.FATAL_ERRORS) | {
        "bad_frame", "unknown_type", "not_joined", "already_joined", "text_too_long",
        "empty_text", "no_such_user", "rate_limited", "muted", "locked", "slow_mode",
        "private_off", "not_teacher", "not_student", "no_such_message", "bad_control"}
    assert codes == set(protocol.ERROR_MESSAGES)
    for code in codes:
        assert ProtocolError(code).frame() == {
            "type": "error", "code": code, "message": protocol.ERROR_MESSAGES[code]}


def test_encode_is_one_utf8_line():
    data = encode({"type": "message", "text": "héllo\nwörld 😀"})
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data.decode("utf-8"))["text"] == "héllo\nwörld 😀"


@pytest.mark.parametrize("frame", [
    protocol.message_frame(1, "amy", "hi", 1764412345.123456),
    protocol.message_frame(2 ** 40, "Zoë", 'say "hi"\\ \n\t\u2028 😀 \x7f', 0.1),
    protocol.message_frame(3, "李雷", "", 5),  # a test clock may give whole seconds
    protocol.message_frame(4, "amy", "psst", 2.5, to="bob"),
    protocol.message_frame(5, "Mr_T", "listen", 2.5, teacher=True),
    protocol.message_frame(6, "Mr_T", "psst", 2.5, to="amy", teacher=True),
])
def test_encode_message_writes_what_encode_writes(frame):
    assert protocol.encode_message(frame) == encode(frame)


@pytest.mark.parametrize("line", [
    b'{"type":"say","text":"hi"}', b' \t{"a": [1, {"b": null}]}  ', b'{}', b'{"a":1}{"b":2}',
    b'{"a":1} x', b'{"a":NaN}', b'{"a":-Infinity}', b'[1]', b'"x"', b'{"a":1', b'', b'  ',
    b'{"a":' + b"9" * 5000 + b'}', b'{"a":"\\ud800"}', b'{"a":1,}', b'\xef\xbb\xbf{}',
])
def test_parse_object_reads_each_line_as_the_whole_decoder_does(line):
    """The scanner's short way gives the same object, or the same error, as the decoder."""
    text = line.decode("utf-8")
    try:
        expected = protocol._DECODER.decode(text)
    except ValueError as error:
        assert code_of(parse_object, line) == "bad_frame"
        with pytest.raises(ProtocolError, match=re.escape(str(error))):
            parse_object(line)
        return
    if isinstance(expected, dict):
        assert parse_object(line) == expected
    else:
        assert code_of(parse_object, line) == "bad_frame"


# --- text ------------------------------------------------------------------

def test_text_keeps_newlines_tabs_and_emoji_but_not_controls():
    assert clean_text("a\r\nb\tc\x1b[31m\x00d\u202e 👩\u200d💻", 100) == "a\nb\tc[31md 👩\u200d💻"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x1b\x07", "\u3164", " \u115f\ufe0f\u034f ",
                                  "\U000e0100\u2028"])
def test_empty_text(text):
    assert code_of(clean_text, text, 100) == "empty_text"


def test_text_too_long_counts_characters_after_cleaning():
    assert clean_text("é" * 10, 10) == "é" * 10
    assert clean_text("a" * 10 + "\x00" * 5, 10) == "a" * 10
    error = pytest.raises(ProtocolError, clean_text, "a" * 11, 10).value
    assert error.code == "text_too_long" and "11" in error.message and "10" in error.message


# --- welcome ---------------------------------------------------------------

def test_welcome_carries_history_oldest_first():
    history = [encode({"type": "message", "id": i})[:-1] for i in range(1, 4)]
    frame = json.loads(welcome_bytes("bob", ["amy", "bob"], history).decode("utf-8"))
    assert frame["type"] == "welcome" and frame["users"] == ["amy", "bob"]
    assert [item["id"] for item in frame["history"]] == [1, 2, 3]


def test_welcome_keeps_the_newest_history_that_fits():
    history = [encode({"type": "message", "id": i, "text": "x" * 100})[:-1]
               for i in range(100)]
    data = welcome_bytes("bob", ["bob"], history, limit=1000)
    assert len(data) <= 1000
    ids = [item["id"] for item in json.loads(data.decode("utf-8"))["history"]]
    assert ids and ids == list(range(100 - len(ids), 100))
    limits = {"rate": 5.0, "burst": 20, "max_text": 4000}
    with_limits = json.loads(welcome_bytes("bob", ["bob"], history[-2:], limits).decode("utf-8"))
    assert with_limits["limits"] == limits
    assert [item["id"] for item in with_limits["history"]] == [98, 99]
    empty = json.loads(welcome_bytes("bob", ["bob"], []).decode("utf-8"))
    assert empty["history"] == []


def test_a_welcome_whose_head_would_pass_the_limit_leaves_hands_then_names_out():
    """A teacher's welcome of a room of 3000 with every hand up, against a small limit."""
    names = ["student%04d" % number for number in range(3000)]
    hands = [{"name": name, "time": 1764410000.5 + number} for number, name in enumerate(names)]
    history = [encode({"type": "message", "id": 1, "text": "hello"})[:-1]]
    extra = {"role": "teacher", "teachers": ["lee"], "hands": hands}
    data = welcome_bytes("lee", names + ["lee"], history, limit=64 * 1024, extra=extra)
    assert len(data) <= 64 * 1024
    frame = json.loads(data.decode("utf-8"))
    kept = frame["hands"]
    assert kept == hands[:len(kept)] and frame["more_hands"] == 3000 - len(kept)  # first raised
    assert frame["users"] == names + ["lee"] and "more_users" not in frame  # the names fit
    assert list(frame)[-1] == "history" and frame["history"] == []  # no room for history
    tiny = json.loads(welcome_bytes("lee", names + ["lee"], history, limit=16 * 1024,
                                    extra=extra).decode("utf-8"))
    assert tiny["hands"] == [] and tiny["more_hands"] == 3000
    assert tiny["users"][-1] == "lee" and tiny["users"] == (names + ["lee"])[-len(tiny["users"]):]
    assert tiny["more_users"] == 3001 - len(tiny["users"])  # those who joined first
    assert len(welcome_bytes("lee", names + ["lee"], history, limit=16 * 1024,
                             extra=extra)) <= 16 * 1024


def test_a_list_cut_to_fit_a_line_says_how_much_went():
    from chat_app.wire.protocol import fit_lists
    from chat_app.wire.records import STOPPED_CUTS
    record = {"type": "stopped", "names": ["n%d" % number for number in range(500)], "time": 1.0}
    frame, line = fit_lists(record, 1000, STOPPED_CUTS)
    assert len(line) <= 1000 and json.loads(line) == frame
    assert frame["names"] == record["names"][:len(frame["names"])]
    assert frame["more_names"] == 500 - len(frame["names"])
    assert fit_lists(record, 10 ** 6, STOPPED_CUTS) == (record, encode(record))  # it fits: as is
    assert len(record["names"]) == 500  # the record given is left as it was


def test_deep_nesting_is_refused_before_it_is_decoded_and_brackets_in_text_do_not_count():
    with pytest.raises(ProtocolError) as refused:
        parse_object(b"[" * 60000)
    assert refused.value.code == "bad_frame" and "nested too deeply" in refused.value.message
    deepest_allowed = b'{"x":' + b"[" * (MAX_NESTING - 1) + b"]" * (MAX_NESTING - 1) + b"}"
    assert parse_object(deepest_allowed)["x"]
    with pytest.raises(ProtocolError):
        parse_object(b'{"x":' + b"[" * MAX_NESTING + b"]" * MAX_NESTING + b"}")
    code = b'{"type":"say","text":"if (a) { b[c[d[e]]] } \\" {{{{' + b"{[" * 2000 + b'"}'
    assert parse_object(code)["type"] == "say"
    assert nesting('{"a":"[[[["}') == 1 and nesting("") == 0
