"""Proving a password both ways (chat_app/wire/scram.py): the keys, the proofs, and both sides' checks.

No sockets: the module is fed values and frames.  The RFC 7677 example
checks the keys and proofs against the standard; the worked example of
docs/protocol.md is checked here too, so that a third-party client can
trust it.
"""

import base64
import os

import pytest

from helpers import ROOT
from chat_app.wire import scram
from chat_app.wire.protocol import ProtocolError, decode_client_frame, encode

# RFC 7677, section 3: SCRAM-SHA-256 with user "user" and password "pencil".
RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_NONCE = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_AUTH_MESSAGE = (
    b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
RFC_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

# The worked example of docs/protocol.md ("Proving a password").
EXAMPLE = {
    "password": "room-pw-42", "name": "amy", "client_nonce": "AAECAwQFBgcICQoLDA0ODxAR",
    "nonce": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj",
    "salt": "oKGio6SlpqeoqaqrrK2urw==", "iterations": 200000,
    "binding": "tcp:198.18.0.1:1234",
    "auth_message": (
        "k=password,n=amy,r=AAECAwQFBgcICQoLDA0ODxAR,"
        "r=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj,s=oKGio6SlpqeoqaqrrK2urw==,"
        "i=200000,c=dGNwOjE5OC4xOC4wLjE6MTIzNA==,"
        "r=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj"),
    "salted_password": "24fbe29f999afd92497c9747dbd6df4725abb5681eb060c9ae0e31029e647c58",
    "client_key": "1cccdcad0003dae382d1ab3319c2fabc4b5905f4b11ec5e5d936f66fd1b14e34",
    "stored_key": "ffea9b38a27e6a261d14b1d11f7b1f5aeaa83876ac0fb01f786221a01526516d",
    "server_key": "dd16e713720db6b945d1a5914c368d93da97b37e5d4956e129e8444894ff7b7f",
    "proof": "BK/pXZiIqiMM0+RobKxTaQLJBxE2ezFx27zfhpGX7vE=",
    "signature": "MtRJDMEcP/1uehzyo5b5/ndWzsC8j8ZQZRlHTOqtVMA=",
}

# Few rounds for the tests that are not about the rounds: each derivation
# at the real count costs tens of milliseconds.
QUICK = 4096


def test_the_keys_and_proofs_are_rfc_7677s():
    salted = scram.salted_password("pencil", RFC_SALT, 4096)
    message = scram.rfc_auth_message("user", RFC_CLIENT_NONCE, RFC_NONCE, RFC_SALT, 4096, b"n,,")
    assert message == RFC_AUTH_MESSAGE
    assert scram.b64(scram.client_proof(salted, message)) == RFC_PROOF
    assert scram.b64(scram.server_signature(scram.server_key(salted), message)) == RFC_SIGNATURE
    verifier = scram.Verifier(RFC_SALT, 4096, scram.stored_key(salted), scram.server_key(salted))
    assert verifier.check(base64.b64decode(RFC_PROOF), message)
    assert scram.b64(verifier.signature(message)) == RFC_SIGNATURE
    # The same verifier, derived from the password:
    made = scram.Verifier.make("pencil", 4096, RFC_SALT)
    assert (made.stored_key, made.server_key) == (verifier.stored_key, verifier.server_key)


def test_the_worked_example_in_the_protocol_document_is_right():
    salt = base64.b64decode(EXAMPLE["salt"])
    salted = scram.salted_password(EXAMPLE["password"], salt, EXAMPLE["iterations"])
    message = scram.auth_message("password", EXAMPLE["name"], EXAMPLE["client_nonce"],
                                 EXAMPLE["nonce"], salt, EXAMPLE["iterations"],
                                 EXAMPLE["binding"])
    assert message.decode("ascii") == EXAMPLE["auth_message"]
    assert salted.hex() == EXAMPLE["salted_password"]
    assert scram.client_key(salted).hex() == EXAMPLE["client_key"]
    assert scram.stored_key(salted).hex() == EXAMPLE["stored_key"]
    assert scram.server_key(salted).hex() == EXAMPLE["server_key"]
    assert scram.b64(scram.client_proof(salted, message)) == EXAMPLE["proof"]
    assert scram.b64(scram.server_signature(scram.server_key(salted), message)) == \
        EXAMPLE["signature"]
    with open(os.path.join(ROOT, "docs", "protocol.md"), encoding="utf-8") as handle:
        document = handle.read()
    for key, value in EXAMPLE.items():
        assert str(value) in document, "docs/protocol.md lacks the example's %s" % key


def test_the_rounds_are_the_named_constant_and_a_client_takes_no_fewer():
    assert scram.ITERATIONS >= 100000  # a fake room's offline guesses cost this much each
    assert scram.MIN_ITERATIONS == scram.ITERATIONS
    assert scram.Verifier.make("pw").iterations == scram.ITERATIONS


@pytest.mark.parametrize("address, port, binding", [
    ("198.18.0.1", 1234, "tcp:198.18.0.1:1234"),
    ("::ffff:198.18.0.1", 1234, "tcp:198.18.0.1:1234"),  # a dual-stack server's view
    ("fe80::1%eth0", 1235, "tcp:[fe80::1]:1235"),  # the scope is this end's, not the address's
    ("2001:DB8:0:0::7", 1234, "tcp:[2001:db8::7]:1234"),
])
def test_both_ends_spell_a_plain_binding_alike(address, port, binding):
    assert scram.tcp_binding(address, port) == binding


def test_a_tls_binding_is_the_certificates_sha256_however_it_is_spelled():
    digits = "C71A921044B30F2E" * 4
    colons = ":".join(digits[i:i + 2] for i in range(0, 64, 2))
    assert scram.tls_binding(colons) == scram.tls_binding(digits.lower()) == \
        "tls-server-end-point:" + digits.lower()


# --- the two sides of a join ---------------------------------------------

def verifiers(room="room-pw-42", teacher="T-secret-7"):
    made = {}
    if room is not None:
        made["password"] = scram.Verifier.make(room, QUICK)
    if teacher is not None:
        made["teacher_password"] = scram.Verifier.make(teacher, QUICK)
    return made


def quick_client(monkeypatch):
    """Let a client take the tests' few rounds."""
    monkeypatch.setattr(scram, "MIN_ITERATIONS", QUICK)


def exchange(client, server_verifiers, server_binding="tcp:198.18.0.1:1234"):
    """Run one join's proofs; return (server login, proof frame), or raise as a side does."""
    server = scram.ServerLogin(client.name, client.nonce, server_verifiers, server_binding)
    challenge = server.challenge()
    proof = client.proof(decode_frame(challenge))
    server.take_proof(decode_client_frame(encode(proof)[:-1]))
    return server, proof


def decode_frame(frame):
    import json
    return json.loads(encode(frame).decode("utf-8"))


def test_a_client_and_the_room_prove_both_passwords_to_each_other(monkeypatch):
    quick_client(monkeypatch)
    client = scram.ClientLogin("amy", {"password": "room-pw-42", "teacher_password": "T-secret-7"},
                               lambda: "tcp:198.18.0.1:1234")
    assert client.join_fields() == {"nonce": client.nonce, "teacher": True}
    server, proof = exchange(client, verifiers())
    assert set(proof) == {"type", "binding", "password", "teacher_password"}
    assert "room-pw-42" not in str(proof) and "T-secret-7" not in str(proof)
    with pytest.raises(RuntimeError):
        server.server_proof()  # never before the client's proofs were found right
    assert server.check("password") and server.check("teacher_password")
    client.check_welcome({"type": "welcome", "server_proof": server.server_proof()})


def test_a_wrong_password_fails_and_the_room_then_proves_nothing(monkeypatch):
    quick_client(monkeypatch)
    client = scram.ClientLogin("amy", {"password": "room-pw-43"}, lambda: "tcp:198.18.0.1:1234")
    server, _ = exchange(client, verifiers(teacher=None))
    assert not server.check("password")
    with pytest.raises(RuntimeError):
        server.server_proof()


def test_a_proof_is_good_for_one_challenge_only(monkeypatch):
    quick_client(monkeypatch)
    keys = verifiers(teacher=None)
    client = scram.ClientLogin("amy", {"password": "room-pw-42"}, lambda: "tcp:198.18.0.1:1234")
    first, proof = exchange(client, keys)
    assert first.check("password")
    # Replayed with the same join (same client nonce): the server's nonce is new.
    again = scram.ServerLogin("amy", client.nonce, keys, "tcp:198.18.0.1:1234")
    again.challenge()
    again.take_proof(dict(proof))
    assert again.nonce != first.nonce and not again.check("password")
    # Nor for another name.
    other = scram.ServerLogin("bob", client.nonce, keys, "tcp:198.18.0.1:1234")
    other.take_proof(dict(proof))
    assert not other.check("password")


def test_a_proof_made_for_another_channel_is_refused_as_such_and_fails_anyway(monkeypatch):
    quick_client(monkeypatch)
    keys = verifiers(teacher=None)
    client = scram.ClientLogin("amy", {"password": "room-pw-42"}, lambda: "tcp:198.18.0.3:1234")
    with pytest.raises(ProtocolError) as refused:
        exchange(client, keys, server_binding="tcp:198.18.0.1:1234")
    assert refused.value.code == "bad_binding" and refused.value.fatal
    assert "port forwarding" in refused.value.message and "--tls-cert" in refused.value.message
    # A relay that rewrites the field gains nothing: the binding is in the proof.
    server = scram.ServerLogin("amy", client.nonce, keys, "tcp:198.18.0.1:1234")
    proof = client.proof(server.challenge())
    server.take_proof(dict(proof, binding="tcp:198.18.0.1:1234"))
    assert not server.check("password")


def test_a_garbled_or_missing_proof_is_a_wrong_one(monkeypatch):
    keys = verifiers(teacher=None)
    for proof in ({}, {"password": "not base64!"}, {"password": scram.b64(b"short")},
                  {"password": scram.b64(bytes(32))}):
        server = scram.ServerLogin("amy", scram.new_nonce(), keys, "b")
        server.take_proof(dict(proof, type="proof", binding="b"))
        assert server.has_proof("password") == ("password" in proof)
        assert not server.check("password")


def test_one_challenge_names_one_rounds_count_for_every_secret():
    mixed = {"password": scram.Verifier.make("a", QUICK),
             "teacher_password": scram.Verifier.make("b", QUICK * 2)}
    with pytest.raises(ValueError):
        scram.ServerLogin("amy", scram.new_nonce(), mixed, "b")


@pytest.mark.parametrize("nonce", ["", "short", "A" * 23, "A" * 300, "a,b" * 12, "é" * 30])
def test_a_join_nonce_must_look_like_one(nonce):
    with pytest.raises(ProtocolError) as refused:
        scram.ServerLogin("amy", nonce, verifiers(teacher=None), "b")
    assert refused.value.code == "bad_frame" and not refused.value.fatal


# --- what a client refuses ------------------------------------------------

def a_challenge(client, **changes):
    frame = {"type": "challenge", "nonce": client.nonce + scram.new_nonce(),
             "iterations": scram.MIN_ITERATIONS, "salt": {"password": scram.b64(os.urandom(16))}}
    frame.update(changes)
    return frame


@pytest.mark.parametrize("changes, words", [
    ({"iterations": 1}, "1 rounds"),  # a fake making offline guessing cheap
    ({"iterations": scram.MAX_ITERATIONS + 1}, "rounds"),  # or stalling the client
    ({"iterations": True}, "rounds"),
    ({"nonce": "B" * 48}, "not made for this connection"),  # not an answer to our nonce
    ({"nonce": None}, "not made for this connection"),
    ({"salt": {"password": scram.b64(b"x")}}, "salt"),
    ({"salt": "abc"}, "salt"),
])
def test_a_client_refuses_a_challenge_that_is_no_real_one(changes, words):
    client = scram.ClientLogin("amy", {"password": "room-pw-42"}, lambda: "b")
    challenge = a_challenge(client, **changes)
    if changes.get("nonce", 0) is None:
        del challenge["nonce"]
    with pytest.raises(scram.NotTheRoom) as refused:
        client.proof(challenge)
    assert words in str(refused.value)


def test_a_client_takes_no_welcome_without_the_rooms_proof(monkeypatch):
    quick_client(monkeypatch)
    client = scram.ClientLogin("amy", {"password": "room-pw-42"}, lambda: "b")
    client.proof(a_challenge(client, iterations=QUICK))
    for welcome in ({}, {"server_proof": {}}, {"server_proof": {"password": "nonsense!"}},
                    {"server_proof": {"password": scram.b64(os.urandom(32))}},
                    {"server_proof": "yes"}):
        with pytest.raises(scram.NotTheRoom) as refused:
            client.check_welcome(dict(welcome, type="welcome"))
        assert "knows the room's password" in str(refused.value)


def test_a_teacher_takes_no_welcome_the_teacher_password_was_not_proven_for():
    client = scram.ClientLogin("ann", {"teacher_password": "T-secret-7"}, lambda: "b")
    with pytest.raises(scram.NotTheRoom) as refused:
        client.check_welcome({"type": "welcome", "role": "teacher"})  # no challenge at all
    assert "teacher password" in str(refused.value)
    scram.ClientLogin("amy", {}, lambda: "b").check_welcome({"type": "welcome"})  # no password


def test_a_room_that_lets_in_without_asking_for_the_password_given_cannot_know_it():
    student = scram.ClientLogin("amy", {"password": "room-pw-42"}, lambda: "b")
    with pytest.raises(scram.NotTheRoom) as refused:
        student.check_welcome({"type": "welcome"})
    assert "without asking for the room's password you gave" in str(refused.value)
    assert "join without one" in str(refused.value)  # the way in, if the room has none


def test_a_client_without_the_room_password_sends_no_proof_and_asks():
    client = scram.ClientLogin("amy", {}, lambda: "b")
    assert client.needs_password(a_challenge(client))
    assert not client.needs_password(a_challenge(client, salt={"teacher_password": "x"}))


def test_a_client_proves_only_what_it_claimed(monkeypatch):
    quick_client(monkeypatch)
    client = scram.ClientLogin("amy", {"password": "room-pw-42"}, lambda: "b")
    salts = {"password": scram.b64(os.urandom(16)), "teacher_password": scram.b64(os.urandom(16))}
    proof = client.proof(a_challenge(client, iterations=QUICK, salt=salts))
    assert "teacher_password" not in proof and "password" in proof


def test_the_salted_password_is_kept_for_reconnects():
    cache = scram.SaltedCache()
    salt = os.urandom(16)
    first = cache.get("room-pw-42", salt, QUICK)
    assert cache.get("room-pw-42", salt, QUICK) is first  # no second PBKDF2
    for number in range(scram.SALTED_KEPT):
        cache.get("pw%d" % number, salt, QUICK)
    assert cache.get("room-pw-42", salt, QUICK) is not first  # the oldest went
