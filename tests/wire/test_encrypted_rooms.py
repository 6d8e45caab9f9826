"""Encrypted rooms: the server's certificate, pinned and CA-verified clients, mismatches,
every close encrypted, and the fingerprint as students copy it from the banner.  The
certificates: test_tls.py."""

import json
import os
import queue
import re
import shlex
import socket
import ssl
import subprocess
import sys

import pytest

from helpers import CERT, DATA, KEY, ROOT, WAIT, Client, ServerProcess, as_student, wait_until
from chat_app.client.link import Link
from chat_app.client.connection import ConnectError, ServerConnection
from chat_app.wire.tls import ClientTls, grouped
from test_tls import OTHER_CERT, digest, expected_fingerprint

pytestmark = pytest.mark.system


@pytest.fixture
def tls_server(make_server):
    return make_server("--tls-cert", CERT, "--tls-key", KEY, "--join-timeout", "2",
                       "--rate-limit", "0")


def open_pinned(server, pin=None):
    return ServerConnection.open("127.0.0.1", server.port,
                                 tls=ClientTls(pin=pin or expected_fingerprint()))


def test_the_server_shows_its_certificate_fingerprint(tls_server):
    assert tls_server.server.tls_fingerprint == expected_fingerprint()


def test_pinned_clients_chat_encrypted(tls_server):
    amy, bob = open_pinned(tls_server), open_pinned(tls_server)
    assert amy.join("amy")["users"] == ["amy"]
    assert bob.join("bob")["users"] == ["amy", "bob"]
    long_text = "x" * 3900
    for number in range(60):  # ~240 KB: many TLS records, partial writes
        amy.send({"type": "say", "text": "%d %s" % (number, long_text)})
    got = []
    while len(got) < 60:
        frame = bob.receive()
        if frame["type"] == "message":
            got.append(int(frame["text"].split()[0]))
    assert got == list(range(60))
    amy.close()
    bob.close()


def test_a_wrong_fingerprint_is_a_refusal(tls_server):
    wrong = expected_fingerprint(OTHER_CERT)
    with pytest.raises(ConnectError) as refused:
        open_pinned(tls_server, pin=wrong)
    assert "not the one you were told about" in str(refused.value)
    assert grouped(wrong) in str(refused.value)
    # The real fingerprint is not shown: a student would paste it and pin the intruder.
    assert grouped(expected_fingerprint())[:19] not in str(refused.value)


def test_ca_verification_accepts_the_right_server_and_refuses_another(tls_server):
    good = ServerConnection.open("127.0.0.1", tls_server.port, tls=ClientTls(ca_file=CERT))
    assert good.join("amy")["type"] == "welcome"
    good.close()
    with pytest.raises(ConnectError) as refused:
        ServerConnection.open("127.0.0.1", tls_server.port, tls=ClientTls(ca_file=OTHER_CERT))
    assert "could not prove who it is" in str(refused.value)


def test_a_plain_client_at_an_encrypted_port_is_told_so(tls_server):
    plain = Client(tls_server.port)
    plain.send({"type": "join", "name": "amy"})
    error = plain.expect_error("tls_required")
    assert "--tls" in error["message"]
    assert plain.assert_closed() == []


def test_an_encrypting_client_at_a_plain_port_is_told_so(server):
    with pytest.raises(ConnectError) as refused:
        ServerConnection.open("127.0.0.1", server.port, tls=ClientTls(pin="AB" * 32))
    assert "does not use encryption" in str(refused.value)
    server.out.wait_for("it tried to encrypt")


def test_an_unfinished_handshake_costs_one_thread_for_the_join_timeout_only(tls_server):
    stalled = socket.create_connection(("127.0.0.1", tls_server.port))
    stalled.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
    amy = open_pinned(tls_server)
    assert amy.join("amy")["type"] == "welcome"  # served meanwhile
    stalled.settimeout(WAIT)
    assert stalled.recv(100) == b""  # closed after the 2 s join timeout
    tls_server.out.wait_for("no encrypted connection with 127.0.0.1")
    stalled.close()
    amy.close()


def test_sessions_reconnect_over_tls(tls_server):
    events = queue.Queue()
    session = Link("127.0.0.1", tls_server.port, "amy", None, events,
                      tls=ClientTls(pin=expected_fingerprint()))
    session.start()
    try:
        assert events.get(timeout=WAIT)[0] == "joined"
    finally:
        session.close()


def test_the_server_program_prints_how_to_connect_encrypted(pyz, tmp_path):
    server = ServerProcess(sys.executable, pyz, "--tls-cert", CERT, "--tls-key", KEY,
                           cwd=str(tmp_path))
    try:
        out = server.wait_for("Certificate fingerprint").string
        assert grouped(expected_fingerprint()) in out
        assert '--tls --tls-fingerprint "%s"' % grouped(expected_fingerprint(), 16) in out
        assert "nc " not in out  # nc cannot join an encrypted room
    finally:
        server.kill()


def test_a_missing_key_or_bad_files_stop_the_server_with_a_reason(pyz, tmp_path):
    for args, words in ((["--tls-cert", CERT], "--tls-cert and --tls-key go together"),
                        (["--tls-cert", KEY, "--tls-key", KEY], "cannot use --tls-cert")):
        result = __import__("subprocess").run(
            [sys.executable, pyz, "server", "--port", "0", "--host", "127.0.0.1"] + args,
            capture_output=True, text=True, timeout=WAIT * 2)
        assert result.returncode == 1 and words in result.stderr, result.stderr


# --- every close is encrypted ------------------------------------------------

def raw_tls(server):
    """A TLS socket that fails on an end without close_notify (no ragged EOFs)."""
    context = ssl.create_default_context(cafile=CERT)
    sock = socket.create_connection(("127.0.0.1", server.port), WAIT)
    return context.wrap_socket(sock, server_hostname="127.0.0.1", suppress_ragged_eofs=False)


def frames_until_closed(sock):
    """Read frames until the server's TLS close_notify; return them."""
    data = b""
    while True:
        chunk = sock.recv(65536)  # SSLEOFError if the end came without close_notify
        if not chunk:
            return [json.loads(line) for line in data.splitlines()]
        data += chunk


def test_five_kicked_users_each_read_their_encrypted_bye(tls_server):
    names = ["amy", "bob", "cy", "dee", "eve"]
    users = {}
    for name in names:
        users[name] = raw_tls(tls_server)
        users[name].sendall(b'{"type":"join","name":"%s"}\n' % name.encode())
    # Each joins from its own thread: in any order.
    wait_until(lambda: sorted(tls_server.room.users()) == names, what="five members")
    for name in names:
        assert tls_server.room.kick(name, "kicked for the test, %s" % name) == name
    for name, sock in users.items():
        frames = frames_until_closed(sock)
        assert frames[-1] == {"type": "bye", "reason": "kicked for the test, %s" % name,
                              "kicked": True}
        sock.close()
    wait_until(lambda: tls_server.room.connection_count() == 0, what="every connection closed")


def test_a_refusal_and_a_shutdown_end_with_close_notify(make_server):
    server = make_server("--tls-cert", CERT, "--tls-key", KEY, "--max-clients", "1")
    first = raw_tls(server)
    first.sendall(b'{"type":"join","name":"amy"}\n')
    wait_until(lambda: server.room.users() == ["amy"], what="amy to join")
    second = raw_tls(server)
    second.sendall(b'{"type":"join","name":"bob"}\n')
    assert frames_until_closed(second)[-1]["code"] == "server_full"
    server.close()
    assert frames_until_closed(first)[-1] == {"type": "bye",
                                              "reason": "The server is shutting down."}


def test_a_person_at_an_encrypted_port_reads_plain_words(tls_server):
    person = Client(tls_server.port)  # nc: types nothing
    lines = person.assert_closed()
    assert len(lines) == 1 and lines[0].startswith(b"! This chat room is encrypted (TLS)")
    assert b"'python3 chat.pyz client --tls" in lines[0]
    assert b"(on Windows: 'py chat.pyz client --tls" in lines[0]


def test_a_kicked_terminal_client_on_an_encrypted_room_does_not_reconnect(pyz, tls_server):
    from test_text_client import TerminalClient
    client = TerminalClient(pyz, tls_server.port, "--name", "amy", "--tls",
                            "--tls-fingerprint", expected_fingerprint().replace(":", ""))
    try:
        client.wait_for("Welcome, amy")
        assert tls_server.room.kick("amy", "time out for you") == "amy"
        client.wait_for(r"removed you from the room \(time out for you\)")
        tls_server.wait_connections(0)
        client.end_input()
        assert not [line for line in client.lines if "Reconnect" in line], client.lines
        assert tls_server.out.text.count("amy joined") == 1
    finally:
        assert "Traceback" not in client.finish()


def test_timeouts_on_an_encrypted_room_end_with_close_notify(make_server):
    server = make_server("--tls-cert", CERT, "--tls-key", KEY, "--join-timeout", "0.5",
                         "--ping-interval", "0.2", "--ping-timeout", "0.2")
    silent = raw_tls(server)
    assert frames_until_closed(silent)[-1]["code"] == "join_timeout"
    unanswering = raw_tls(server)
    unanswering.sendall(b'{"type":"join","name":"amy"}\n')
    frames = frames_until_closed(unanswering)
    assert [frame["type"] for frame in frames] == ["welcome", "ping"]
    server.out.wait_for("amy did not answer a ping")


def test_refused_connections_beyond_the_goodbyes_get_no_handshake(make_server, monkeypatch):
    from chat_app.relay import handler
    from chat_app.relay.access import MAX_GOODBYES
    # No goodbye may end (and free its place) while the test is still connecting,
    # however slowly a loaded machine runs it: each lasts until its client closes.
    monkeypatch.setattr(handler, "GOODBYE_SECONDS", 60.0)
    server = make_server("--tls-cert", CERT, "--tls-key", KEY, "--max-clients", "1")
    member = raw_tls(server)
    member.sendall(b'{"type":"join","name":"amy"}\n')
    wait_until(lambda: server.room.users() == ["amy"], what="amy to join")
    plain = [socket.create_connection(("127.0.0.1", server.port), WAIT)
             for _ in range(MAX_GOODBYES * 2)]  # the goodbyes wait for a first byte
    encrypted = []  # kept open, so that their goodbyes stay in flight
    for sock in plain:
        try:
            encrypted.append(ssl.create_default_context(cafile=CERT).wrap_socket(
                sock, server_hostname="127.0.0.1"))
        except (ssl.SSLError, OSError):
            pass  # closed at once: no handshake, no thread
    assert MAX_GOODBYES // 2 <= len(encrypted) <= MAX_GOODBYES
    assert all(frames_until_closed(sock)[-1]["code"] == "server_full" for sock in encrypted)
    member.sendall(b'{"type":"say","text":"still here"}\n')
    received = b""
    while b'"still here"' not in received:
        received += member.recv(65536)


def test_a_plain_server_does_not_load_openssl():
    # Loading OpenSSL (ssl, or hashlib and hmac through _hashlib) costs a
    # process some 5 MiB; a server without --tls-cert and --password never
    # needs it.
    code = ("import sys; import chat_app.cli, chat_app.server, chat_app.relay.handler, "
            "chat_app.relay.outbox; from chat_app.wire import tls; loaded = lambda: '_ssl' in sys.modules or "
            "'_hashlib' in sys.modules; print(loaded()); "
            "tls.ClientTls(pin='AB' * 32); print(loaded())")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=WAIT)
    assert result.stdout.split() == [b"False", b"True"], result.stderr


# --- the fingerprint from the board ------------------------------------------

def text_client(pyz, port, *args):
    return subprocess.run(
        [sys.executable, pyz, "client", "--text", "--host", "127.0.0.1", "--port", str(port),
         "--name", "cy"] + list(args),
        input=b"hello over TLS\n", capture_output=True, timeout=WAIT * 3, env=as_student())


def test_students_copy_the_banner_command_and_a_wrong_prefix_is_refused(pyz, tmp_path):
    server = ServerProcess(sys.executable, pyz, "--tls-cert", CERT, "--tls-key", KEY,
                           cwd=str(tmp_path))
    try:
        out = server.wait_for(r"Stop the server with Ctrl\+C").string  # the last banner line
        assert "\n  %s\n" % grouped(digest()) in out
        command = re.search(r"Students connect with:  (python3 chat\.pyz client .*)", out).group(1)
        prefix = grouped(digest(), 16)
        assert '--tls --tls-fingerprint "%s" ' % prefix in command
        args = shlex.split(command)[3:]  # as typed from the board, after "python3 chat.pyz client"
        joined = subprocess.run(
            [sys.executable, pyz, "client"] + args + ["--text", "--name", "cy"],
            input=b"hello over TLS\n", capture_output=True, timeout=WAIT * 3, env=as_student())
        assert joined.returncode == 0, joined.stderr
        server.wait_for(r"<cy> hello over TLS")
        lower = text_client(pyz, server.port, "--tls-fingerprint", prefix.lower())
        assert lower.returncode == 0, lower.stderr
        server.wait_for(r"cy joined[\s\S]*cy joined")
        wrong = digest(os.path.join(DATA, "other.crt"))[:16]
        refused = text_client(pyz, server.port, "--tls-fingerprint", wrong)
        assert refused.returncode != 0
        error = refused.stderr.decode("utf-8")
        assert "is not the one you were told about" in error, error
        assert grouped(wrong) in error and grouped(digest())[:19] not in error
        short = text_client(pyz, server.port, "--tls-fingerprint", prefix[:9])
        assert short.returncode == 2 and b"at least the first 16" in short.stderr
        assert short.stderr.count(b"\n") == 1
        assert server.out.count("cy joined") == 2  # the two refused never got in
    finally:
        server.kill()
