"""The server over real sockets on 127.0.0.1: joining, relaying, every error."""

import re
import threading
import time

import pytest

from helpers import WAIT, Client, FailsOnce, wait_until
from chat_app.relay.fanout import FAULT_WORDS, Fanout

pytestmark = pytest.mark.system  # real servers, processes or sockets


def joined(server, *names):
    clients = []
    for name in names:
        client = server.client()
        client.join(name)
        for earlier in clients:
            earlier.expect("joined", name=name)
        clients.append(client)
    return clients


# --- joining ---------------------------------------------------------------

def test_welcome_lists_users_and_others_hear_of_the_join(server):
    amy = server.client()
    welcome = amy.join("amy")
    assert welcome["name"] == "amy" and welcome["users"] == ["amy"] and welcome["history"] == []
    assert welcome["limits"] == {"rate": 5.0, "burst": 20, "max_text": 4000}
    bob = server.client()
    assert bob.join("bob")["users"] == ["amy", "bob"]
    notice = amy.expect("joined")
    assert notice["name"] == "bob" and isinstance(notice["time"], float)
    server.out.wait_for(r"bob joined \(127\.0\.0\.1\)")


def test_welcome_uses_the_normalised_name(server):
    assert server.client().join("ｆｕｌｌ")["name"] == "full"


def test_name_taken_ignores_case_and_is_fatal(server):
    alice, = joined(server, "Alice")
    twin = server.client()
    twin.send({"type": "join", "name": "aLICE"})
    error = twin.expect_error("name_taken")
    assert "Alice" in error["message"]
    twin.assert_closed()
    server.out.wait_for(r"refused aLICE \(127\.0\.0\.1\): that name, or one that looks like it, "
                        r"is in use")


def test_name_is_free_again_once_its_connection_is_gone(server):
    amy, watcher = joined(server, "amy", "watcher")
    amy.reset()
    watcher.expect("left", name="amy")
    assert server.client().join("AMY")["name"] == "AMY"


@pytest.mark.parametrize("name", ["", "a b", "x" * 33, "bad\u202ename", "ctl\x1b"])
def test_bad_name_is_fatal_and_explained(server, name):
    client = server.client()
    client.send({"type": "join", "name": name})
    error = client.expect_error("bad_name")
    assert "letters, digits" in error["message"]
    client.assert_closed()


def test_join_with_a_name_that_is_not_a_string_is_bad_frame_and_not_fatal(server):
    client = server.client()
    client.send({"type": "join", "name": 42})
    client.expect_error("bad_frame")
    assert client.join("amy")["name"] == "amy"


def test_password(make_server):
    server = make_server("--password", "s3cret")
    wrong = server.client()
    wrong.send({"type": "join", "name": "amy", "password": "guess"})
    assert wrong.expect_error("bad_password")["message"] == (
        "Wrong password for this room. Ask the teacher for the password.")
    wrong.assert_closed()
    missing = server.client()
    missing.send({"type": "join", "name": "amy"})
    assert missing.expect_error("bad_password")["message"] == (
        "This room needs a password. Ask the teacher for it.")
    # The teacher's console says who, in words for the teacher.
    server.out.wait_for(r"refused amy \(127\.0\.0\.1\): wrong password")
    server.out.wait_for(r"refused amy \(127\.0\.0\.1\): no password given")
    forger = server.client()  # a name that would start a line of its own on the console
    forger.send({"type": "join", "name": "x\nmallory joined (10.0.0.1)\u2028eve joined"})
    forger.expect_error("bad_name")
    server.out.wait_for(r"refused x mallory joined \(10\.0\.0\.1\) eve joined")
    assert not re.search(r"^(mallory|eve) joined", server.out.text, re.M)
    assert server.client().join("amy", password="s3cret")["name"] == "amy"


def test_server_full_counts_connections(make_server):
    server = make_server("--max-clients", "2")
    first, second = server.client(), server.client()
    server.wait_connections(2)
    third = server.client()
    third.send({"type": "join", "name": "cy"})  # a program: its first line is JSON
    third.expect_error("server_full")
    third.assert_closed()
    server.out.wait_for("refused 127.0.0.1: the server is full")
    first.close()
    server.wait_connections(1)
    assert server.client().join("amy")["name"] == "amy"
    second.close()


def test_frames_before_join(server):
    client = server.client()
    client.send({"type": "say", "text": "hi"})
    client.expect_error("not_joined")
    client.send({"type": "ping", "token": "t1"})
    assert client.expect("pong") == {"type": "pong", "token": "t1"}
    client.send({"type": "pong"})
    client.send({"type": "dance"})
    client.expect_error("unknown_type")
    client.join("amy")
    client.send({"type": "join", "name": "amy2"})
    client.expect_error("already_joined")


def test_hundreds_of_simultaneous_joins(server):
    count = 300
    clients = [Client(server.port) for _ in range(count)]
    for index, client in enumerate(clients):
        client.send({"type": "join", "name": "user%d" % index})
    names = set()
    for client in clients:
        names.add(client.expect("welcome", timeout=30)["name"])
    assert names == {"user%d" % index for index in range(count)}
    assert len(server.room.users()) == count
    for client in clients:
        client.close()
    server.wait_connections(0, timeout=30)


# --- relaying --------------------------------------------------------------

def test_room_message_reaches_everyone_including_the_sender(server):
    amy, bob, cy = joined(server, "amy", "bob", "cy")
    amy.send({"type": "say", "text": "hello\nthere"})
    frames = [client.expect("message") for client in (amy, bob, cy)]
    assert frames[0] == frames[1] == frames[2]
    assert frames[0]["from"] == "amy" and frames[0]["text"] == "hello\nthere"
    assert isinstance(frames[0]["id"], int) and isinstance(frames[0]["time"], float)
    assert "to" not in frames[0]


def test_action_text_is_relayed_as_typed(server):
    amy, bob = joined(server, "amy", "bob")
    amy.send({"type": "say", "text": "/me waves"})
    assert bob.expect("message")["text"] == "/me waves"


def test_controls_and_bidi_overrides_are_removed(server):
    amy, bob = joined(server, "amy", "bob")
    amy.send({"type": "say", "text": "\x1b[2Jred\u202e\x07 tab\tok"})
    assert bob.expect("message")["text"] == "[2Jred tab\tok"


def test_every_client_sees_the_same_order_with_increasing_ids(server):
    names = ["s%d" % i for i in range(4)]
    clients = joined(server, *names)
    listener = joined(server, "listener")[0]
    for client in clients:
        client.expect("joined", name="listener")
    per_sender = 15

    def talk(client, name):
        for i in range(per_sender):
            client.send({"type": "say", "text": "%s-%d" % (name, i)})

    threads = [threading.Thread(target=talk, args=(c, n)) for c, n in zip(clients, names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    total = per_sender * len(names)
    seen = []
    for client in clients + [listener]:
        got = [client.expect("message") for _ in range(total)]
        seen.append([(m["id"], m["text"]) for m in got])
    assert all(order == seen[0] for order in seen)
    ids = [item[0] for item in seen[0]]
    assert ids == sorted(ids) and len(set(ids)) == total
    for name in names:
        mine = [text for _, text in seen[0] if text.startswith(name + "-")]
        assert mine == ["%s-%d" % (name, i) for i in range(per_sender)]


def test_private_message_reaches_only_sender_and_recipient(server):
    amy, bob, cy = joined(server, "amy", "bob", "cy")
    amy.send({"type": "say", "text": "psst", "to": "BOB"})
    for client in (amy, bob):
        frame = client.expect("message")
        assert frame["to"] == "bob" and frame["from"] == "amy" and frame["text"] == "psst"
    amy.send({"type": "say", "text": "public"})
    public = cy.expect("message")
    assert public["text"] == "public", "cy must not have received the private message"
    private_id = bob.frame()
    assert private_id["text"] == "public" and private_id["id"] > frame["id"]
    newcomer = server.client()
    assert [m["text"] for m in newcomer.join("dee")["history"]] == ["public"]


def test_private_message_to_nobody(server):
    amy, = joined(server, "amy")
    amy.send({"type": "say", "text": "hi", "to": "ghost"})
    assert "ghost" in amy.expect_error("no_such_user")["message"]


@pytest.mark.parametrize("text, code", [("", "empty_text"), (" \n\t ", "empty_text"),
                                        ("x" * 4001, "text_too_long")])
def test_text_errors_are_not_fatal(server, text, code):
    amy, = joined(server, "amy")
    amy.send({"type": "say", "text": text})
    amy.expect_error(code)
    amy.send({"type": "say", "text": "x" * 4000})
    assert len(amy.expect("message")["text"]) == 4000


def test_max_text_option(make_server):
    server = make_server("--max-text", "5")
    amy, = joined(server, "amy")
    amy.send({"type": "say", "text": "123456"})
    amy.expect_error("text_too_long")


def test_malformed_frames_after_join_cost_nothing(server):
    amy, bob = joined(server, "amy", "bob")
    for bad in (b"\xff\xfe\n", b"{not json\n", b"[]\n", b'{"type":"say","text":5}\n',
                b"{" * 3000 + b"\n", b'{"type":"say","text":"\\udc00"}\n'):
        amy.send_raw(bad)
        amy.expect_error("bad_frame")
    amy.send({"type": "fly"})
    amy.expect_error("unknown_type")
    amy.send({"type": "say", "text": "still here"})
    assert bob.expect("message")["text"] == "still here"


def test_a_paste_over_the_rate_limit_is_held_back_not_dropped(make_server):
    # Pings every 0.2 s, unanswered for 0.3 s, would remove amy: not while she is held back.
    server = make_server("--rate-limit", "50", "--ping-interval", "0.2", "--ping-timeout", "0.3")
    amy, = joined(server, "amy")
    bob = server.client()  # a person at a terminal, never pinged: a witness
    bob.send_raw(b"bob\n")
    wait_until(lambda: b"people in the room" in bob.read_line(), what="bob's welcome")
    assert amy.expect("joined")["name"] == "bob"
    amy.send_raw(b"".join(b'{"type":"say","text":"m%d"}\n' % number for number in range(200))
                 + b'{"type":"ping","token":"after"}\n')
    first = []
    while True:
        frame = amy.frame()
        if frame["type"] == "error":
            break
        first.append(frame)
    assert frame["code"] == "rate_limited"
    assert "held back and will follow in order" in frame["message"]
    bob.send_raw(b"meanwhile\n")
    frames = first + [amy.frame()]
    while frames[-1]["type"] != "pong":
        frames.append(amy.frame())
    # (A ping may come if this machine stalls the server for the whole interval.)
    assert [f for f in frames if f["type"] not in ("message", "pong", "ping")] == []
    texts = [f["text"] for f in frames if f["type"] == "message"]
    assert [t for t in texts if t != "meanwhile"] == ["m%d" % number for number in range(200)]
    assert texts.index("meanwhile") < 200  # relayed while amy's paste was still arriving
    assert frames[-1] == {"type": "pong", "token": "after"}  # what followed waited its turn
    bob_saw = [bob.read_text() for _ in range(201)]
    assert bob_saw[-1].endswith("<amy> m199")
    assert not [line for line in bob_saw if "left" in line]  # amy was never timed out


def test_rate_limit_zero_turns_it_off(make_server):
    server = make_server("--rate-limit", "0")
    amy, = joined(server, "amy")
    for i in range(100):
        amy.send({"type": "say", "text": "m%d" % i})
    assert [amy.expect("message")["text"] for _ in range(100)][-1] == "m99"


# --- leaving ---------------------------------------------------------------

def test_leave_is_quit_and_the_server_closes(server):
    amy, bob = joined(server, "amy", "bob")
    amy.send({"type": "leave"})
    amy.assert_closed()
    left = bob.expect("left", name="amy")
    assert left["reason"] == "quit" and isinstance(left["time"], float)
    server.out.wait_for(r"amy left\n")  # the words people read, not the code
    assert server.room.users() == ["bob"]


@pytest.mark.parametrize("how", ["close", "reset"])
def test_abrupt_disconnect_is_disconnected(server, how):
    amy, bob = joined(server, "amy", "bob")
    amy.send_raw(b'{"type":"say","te')  # half a frame, then gone
    getattr(amy, how)()
    assert bob.expect("left", name="amy")["reason"] == "disconnected"
    server.wait_connections(1)


def test_stalled_reader_is_dropped_as_too_slow_and_delays_no_one(make_server):
    server = make_server("--rate-limit", "0")
    stalled = Client(server.port, rcvbuf=4096)
    stalled.join("stalled")
    talker, listener = joined(server, "talker", "listener")
    stalled_since = time.monotonic()
    text = "x" * 3000
    count = 4000  # 12 MB: more than the 1 MiB backlog plus a few MB of socket buffers
    echoes = threading.Thread(target=lambda: [talker.expect("message") for _ in range(count)])
    echoes.start()  # the talker reads its own echoes, or it would stall too

    def talk():
        for i in range(count):
            talker.send({"type": "say", "text": "%d %s" % (i, text)})

    sender = threading.Thread(target=talk)
    sender.start()  # the listener reads meanwhile, below
    got = []
    left = None
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        frame = listener.frame()
        if frame["type"] == "message":
            got.append(int(frame["text"].split()[0]))
        elif frame["type"] == "left":
            left = frame
    assert got == list(range(count)), "the listener lost or reordered messages"
    sender.join(WAIT)
    echoes.join(WAIT)
    if left is None:
        left = listener.expect("left", name="stalled")
    assert left["reason"] == "too_slow"
    assert time.monotonic() - stalled_since < 30
    server.out.wait_for(r"stalled left \(too slow to keep up\)")


# --- history ---------------------------------------------------------------

def test_history_holds_the_last_n_room_messages(make_server):
    server = make_server("--history", "3")
    amy, = joined(server, "amy")
    for i in range(5):
        amy.send({"type": "say", "text": "m%d" % i})
        amy.expect("message")
    history = server.client().join("bob")["history"]
    assert [m["text"] for m in history] == ["m2", "m3", "m4"]
    assert all(m["type"] == "message" and m["from"] == "amy" for m in history)


def test_history_zero(make_server):
    server = make_server("--history", "0")
    amy, = joined(server, "amy")
    amy.send({"type": "say", "text": "gone"})
    amy.expect("message")
    assert server.client().join("bob")["history"] == []


def test_shutdown_says_bye_to_everyone(make_server):
    server = make_server()
    amy, = joined(server, "amy")
    unjoined = server.client()
    server.wait_connections(2)
    started = time.monotonic()
    server.server.shutdown()
    server.server.stop()
    assert time.monotonic() - started < 2
    for client in (amy, unjoined):
        bye = client.expect("bye")
        assert "shutting down" in bye["reason"]
        client.assert_closed()


def test_every_leave_reason_has_words_for_people():
    from chat_app.wire import protocol, text_format
    assert set(text_format.LEFT_WORDS) == set(protocol.LEFT_REASONS)


# --- a fault in the fan-out ---------------------------------------------------

def test_a_fault_in_the_fan_out_is_told_to_the_teacher_and_the_room_goes_on(
        server, monkeypatch):
    amy, bob = server.client(), server.client()
    amy.join("amy")
    bob.join("bob")
    amy.expect("joined", name="bob")
    FailsOnce(monkeypatch, Fanout, "_round")
    amy.send({"type": "say", "text": "one"})  # its round fails before it sends
    server.err.wait_for(re.escape(FAULT_WORDS))
    assert "a bug in a round" in server.err.text
    amy.send({"type": "say", "text": "two"})  # the next round sends both, in order
    assert [bob.expect("message")["text"] for _ in range(2)] == ["one", "two"]
    assert [amy.expect("message")["text"] for _ in range(2)] == ["one", "two"]
