"""One connection's handler (handler.py): its helpers alone, and over a real server.

The helpers (refusal words, addresses, the peer a connection becomes) are
tested without a server; what a connection lives through (join timeouts,
lines too long, pings, faults, half-closed sockets) over real sockets on
127.0.0.1 (marked system).
"""

import json
import socket
import threading
import time

import pytest

from helpers import WAIT
from test_server import joined
from chat_app.relay import handler
from chat_app.relay.fanout import Fanout
from chat_app.relay.handler import cut_off, display_address, new_peer, refusal_for
from chat_app.relay.room import Room


@pytest.mark.parametrize("address, shown", [
    ("::ffff:192.0.2.1", "192.0.2.1"), ("192.0.2.1", "192.0.2.1"), ("2001:db8::1", "2001:db8::1"),
    ("fe80::1%eth0", "fe80::1%eth0"), ("not an address", "not an address"),
])
def test_an_ipv4_client_of_a_dual_stack_socket_is_shown_as_ipv4(address, shown):
    assert display_address(address) == shown


def test_a_full_server_and_a_full_address_are_refused_in_different_words():
    error, why = refusal_for("full", 30, 5)
    assert error.code == "server_full"
    assert why == "the server is full (30 connections, see --max-clients)"
    error, why = refusal_for("per_ip", 30, 5)
    assert error.code == "server_full" and "(the limit is 5)" in error.message
    assert why == "5 connections from that address already (see --max-per-ip)"


class Accepting:
    """What new_peer reads of the server: its room and its fanout."""

    def __init__(self):
        self.room = Room(10)
        self.fanout = Fanout(self.room.stream)


def test_a_new_connection_becomes_a_non_blocking_peer_that_a_cut_off_ends():
    server = Accepting()
    ours, theirs = socket.socketpair()
    try:
        peer = new_peer(ours, ("::ffff:192.0.2.7", 50000), server)
        assert peer.address == "192.0.2.7" and peer.outbox.sock is ours
        assert ours.getblocking() is False
        cut_off(peer)
        assert peer.reason == "too_slow"
        assert ours.recv(1) == b""  # its reader is woken: its socket reads as closed
    finally:
        server.fanout.stop()
        ours.close()
        theirs.close()


@pytest.mark.system
def test_a_join_timeout_shorter_than_the_prompt_delay_fires_first(make_server):
    server = make_server("--join-timeout", "0.3")
    silent = server.client()  # silence is a person: told in plain words, never prompted
    lines = silent.assert_closed()
    assert lines == [b"! Nothing was joined within 0.3 seconds, so the connection is closed. "
                     b"Connect again and send your name."]
    server.wait_connections(0)


@pytest.mark.system
def test_a_program_that_sent_its_join_late_gets_a_json_join_timeout(make_server):
    server = make_server("--join-timeout", "0.5")
    late = server.client()
    late.send_raw(b"{")
    assert late.expect_error("join_timeout")["message"].startswith("Nothing was joined")
    late.assert_closed()


@pytest.mark.system
def test_join_timeout_also_ends_a_connection_that_never_finishes_a_line(make_server):
    server = make_server("--join-timeout", "0.5")
    slow = server.client()
    slow.send_raw(b'{"type":"jo')
    lines = slow.assert_closed()
    assert b'"join_timeout"' in lines[-1]


@pytest.mark.system
def test_frame_too_long_closes_without_buffering_the_whole_line(server):
    amy, bob = joined(server, "amy", "bob")
    chunk = b"a" * 65536
    chunks = 1024  # 64 MiB, never ending the line: far beyond socket buffers
    sent = 0
    try:
        for _ in range(chunks):
            amy.send_raw(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed on us mid-flood, as it should
    assert sent < chunks * len(chunk), "the server read all 64 MiB of one line"
    bob.expect("left", name="amy", reason="disconnected")
    bob.send({"type": "say", "text": "fine"})
    assert bob.expect("message")["text"] == "fine"


@pytest.mark.system
def test_frame_too_long_error_reaches_the_sender(server):
    amy, = joined(server, "amy")
    amy.send_raw(b"b" * 70000 + b"\n")
    amy.expect_error("frame_too_long")
    amy.assert_closed()


@pytest.mark.system
def test_silent_client_is_pinged_then_removed(make_server):
    server = make_server("--ping-interval", "0.3", "--ping-timeout", "0.3")
    amy, bob = joined(server, "amy", "bob")
    assert amy.expect("ping") == {"type": "ping"}
    stop = threading.Event()

    def answer_pings():
        while not stop.is_set():
            bob.send({"type": "pong"})
            stop.wait(0.1)

    keeper = threading.Thread(target=answer_pings)
    keeper.start()
    try:
        assert bob.expect("left", name="amy", timeout=WAIT)["reason"] == "timeout"
        assert server.room.users() == ["bob"]
        assert server.client().join("amy")["name"] == "amy"
    finally:
        stop.set()
        keeper.join(WAIT)


@pytest.mark.system
def test_pong_keeps_a_client_in_the_room(make_server):
    server = make_server("--ping-interval", "0.2", "--ping-timeout", "0.5")
    amy, = joined(server, "amy")
    deadline = time.monotonic() + 1.5
    pings = 0
    while time.monotonic() < deadline:
        frame = amy.frame()
        assert frame["type"] == "ping", frame
        pings += 1
        amy.send({"type": "pong"})
    assert pings >= 3 and server.room.users() == ["amy"]


@pytest.mark.system
def test_server_sockets_use_nodelay_and_keepalive(server):
    amy, = joined(server, "amy")
    (peer,) = server.room._connections
    sock = peer.outbox.sock
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)


@pytest.mark.system
def test_an_unexpected_error_ends_that_connection_only(server, monkeypatch):
    original = handler.ChatRequestHandler.json_say

    def explode(self, frame):
        if frame["text"] == "boom":
            raise RuntimeError("injected fault")
        return original(self, frame)

    monkeypatch.setattr(handler.ChatRequestHandler, "json_say", explode)
    amy, bob = joined(server, "amy", "bob")
    amy.send({"type": "say", "text": "boom"})
    assert bob.expect("left", name="amy")["reason"] == "disconnected"
    server.err.wait_for("unexpected error in the connection from 127.0.0.1")
    assert "injected fault" in server.err.text
    bob.send({"type": "say", "text": "still works"})
    assert bob.expect("message")["text"] == "still works"


@pytest.mark.system
def test_a_script_that_half_closes_after_joining_still_gets_its_answers(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    sock.sendall(b'{"type":"join","name":"amy"}\n{"type":"say","text":"one shot"}\n')
    sock.shutdown(socket.SHUT_WR)  # what 'printf ... | nc -q 1' does
    received = b""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        received += data
    sock.close()
    frames = [json.loads(line) for line in received.splitlines()]
    assert [frame["type"] for frame in frames][:2] == ["welcome", "message"]
    assert frames[1]["text"] == "one shot"
