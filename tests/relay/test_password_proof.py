"""The server's side of proving a password: challenge, proof, and the room's own proof.

A raw client joins a real server on 127.0.0.1 with scram.ClientLogin, so
each frame of the exchange is seen (docs/protocol.md, "Proving a password").
The attacks (a fake room, a relay) are in tests/discovery/test_fake_room_proof.py.
"""

import pytest

from helpers import LOOPBACK
from chat_app.wire import scram
from chat_app.wire.protocol import PASSWORD_MISSING_MESSAGE

pytestmark = pytest.mark.system  # real servers, processes or sockets

ROOM, TEACHER = "room-pw-42", "T-secret-7"


def login(name, port, password=None, teacher_password=None):
    return scram.ClientLogin(name, {"password": password, "teacher_password": teacher_password},
                             lambda: scram.tcp_binding(LOOPBACK, port))


def start(server, name, password=None, teacher_password=None, **fields):
    """Send a proving join; return (client, login, first answer)."""
    client = server.client()
    proving = login(name, server.port, password, teacher_password)
    client.send(dict(fields, type="join", name=name, **proving.join_fields()))
    return client, proving, client.frame()


def test_a_proving_join_gets_a_challenge_and_the_welcome_proves_the_room(make_server):
    server = make_server("--password", ROOM, "--teacher-password", TEACHER)
    client, proving, challenge = start(server, "ann", ROOM, TEACHER)
    assert challenge["type"] == "challenge"
    assert challenge["iterations"] == scram.ITERATIONS
    assert set(challenge["salt"]) == {"password", "teacher_password"}
    assert challenge["salt"]["password"] != challenge["salt"]["teacher_password"]
    assert challenge["nonce"].startswith(proving.nonce)
    client.send(proving.proof(challenge))
    welcome = client.expect("welcome")
    assert welcome["role"] == "teacher"
    proving.check_welcome(welcome)  # the room proved both
    assert list(welcome)[-1] == "history"
    server.out.wait_for(r"ann joined \(127\.0\.0\.1\) as a teacher")


def test_a_room_without_a_password_welcomes_a_proving_join_at_once(server):
    client, proving, welcome = start(server, "amy")
    assert welcome["type"] == "welcome" and "server_proof" not in welcome
    proving.check_welcome(welcome)
    client, proving, welcome = start(server, "bob", "typed anyway")
    assert welcome["type"] == "welcome"  # the server asks nothing of a room without one,
    with pytest.raises(scram.NotTheRoom):  # but a client given a password wants it proven
        proving.check_welcome(welcome)


def test_a_teacher_claim_at_a_server_without_a_teacher_password_is_refused_at_once(
        make_server):
    server = make_server("--password", ROOM)
    client, _, refusal = start(server, "ann", ROOM, TEACHER)
    assert refusal["code"] == "bad_teacher" and "no teacher password" in refusal["message"]
    assert client.assert_closed() == []


def test_a_wrong_proof_is_a_wrong_password_and_counts_like_one(make_server, monkeypatch):
    from chat_app.relay import access
    monkeypatch.setattr(access, "FIRST_PASSWORD_DELAY", 1.5)  # long enough to be told
    server = make_server("--password", ROOM)
    for number in range(3):
        client, proving, challenge = start(server, "amy", "guess%d" % number)
        client.send(proving.proof(challenge))
        assert client.expect_error("bad_password")["message"].startswith("Wrong password")
    server.out.wait_for(r"3 wrong passwords from 127\.0\.0\.1: each further try")
    client, proving, challenge = start(server, "amy", ROOM)
    client.send(proving.proof(challenge))
    assert client.expect("password_wait")["seconds"] >= 1  # the same slowed line
    proving.check_welcome(client.expect("welcome"))


def test_a_proof_without_the_password_needs_one_and_counts_nothing(make_server):
    server = make_server("--password", ROOM)
    client, proving, challenge = start(server, "amy")
    assert proving.needs_password(challenge)  # the shipped clients ask and close here
    client.send({"type": "proof", "binding": scram.tcp_binding(LOOPBACK, server.port)})
    assert client.expect_error("bad_password")["message"] == PASSWORD_MISSING_MESSAGE
    assert server.room._guard.waiting(LOOPBACK) == 0
    assert LOOPBACK not in server.room._guard._lines  # no wrong try remembered


def test_a_proof_for_another_address_is_bad_binding_not_a_wrong_password(make_server):
    server = make_server("--password", ROOM)
    client, proving, challenge = start(server, "amy", ROOM)
    proving.binding = lambda: scram.tcp_binding("198.18.0.3", server.port)  # via a relay
    client.send(proving.proof(challenge))
    error = client.expect_error("bad_binding")
    assert "port forwarding" in error["message"] and "--tls-cert" in error["message"]
    assert client.assert_closed() == []
    assert LOOPBACK not in server.room._guard._lines
    server.out.wait_for(r"refused amy \(127\.0\.0\.1\): its password proof was made for another "
                        r"address")


def test_while_proving_only_the_proof_joins(make_server):
    server = make_server("--password", ROOM)
    early = server.client()
    early.send({"type": "proof", "binding": "b"})
    assert early.expect_error("not_joined")
    client, proving, challenge = start(server, "amy", ROOM)
    client.send({"type": "say", "text": "hi"})
    assert "proof" in client.expect_error("not_joined")["message"]
    client.send({"type": "join", "name": "amy"})
    client.expect_error("not_joined")
    client.send({"type": "ping", "token": 7})
    assert client.expect("pong")["token"] == 7
    client.send(proving.proof(challenge))
    proving.check_welcome(client.expect("welcome"))
    client.send({"type": "proof", "binding": "b"})
    client.expect_error("already_joined")


def test_the_join_timeout_covers_the_proof(make_server):
    server = make_server("--password", ROOM, "--join-timeout", "0.5")
    client, _, challenge = start(server, "amy", ROOM)
    assert challenge["type"] == "challenge"
    client.expect_error("join_timeout")
    assert client.assert_closed() == []


@pytest.mark.parametrize("nonce", ["", "too-short", "x" * 300])
def test_a_join_with_a_nonce_that_is_none_is_told_so(make_server, nonce):
    server = make_server("--password", ROOM)
    client = server.client()
    client.send({"type": "join", "name": "amy", "nonce": nonce})
    assert "nonce" in client.expect_error("bad_frame")["message"]
    client.join("amy", password=ROOM)  # not fatal: a join may follow


def test_a_nonce_join_reads_no_sent_password(make_server):
    server = make_server("--password", ROOM)
    client = server.client()
    client.send(dict(login("amy", server.port).join_fields(), type="join", name="amy",
                     password=ROOM))
    assert client.frame()["type"] == "challenge"  # the sent one is not read: prove it
    assert server.room.users() == []
