"""The room (room.py) driven directly: fake members over socketpairs, a fake clock, no server."""

import json
import select
import socket

import pytest

from fake_console import FakeConsole
from helpers import WAIT
from chat_app.relay.fanout import Fanout
from chat_app.relay.outbox import Outbox
from chat_app.relay.peer import Peer
from chat_app.relay.room import Room
from chat_app.wire.protocol import ProtocolError


class Member:
    """A member of the room over a socketpair, its outbox on the server's end."""

    def __init__(self, room, fanout, name, address="127.0.0.1", teacher=False):
        self.server_end, self.client_end = socket.socketpair()
        self.server_end.setblocking(False)
        self.client_end.settimeout(WAIT)
        self.peer = Peer(Outbox(self.server_end, fanout, lambda: None), address)
        self._buffer = b""
        self.welcome_fields = room.join(self.peer, name, teacher=teacher)

    def expect(self, kind):
        """Return the next frame of this type, skipping others."""
        while True:
            while b"\n" not in self._buffer:
                data = self.client_end.recv(65536)
                assert data, "the connection closed"
                self._buffer += data
            line, self._buffer = self._buffer.split(b"\n", 1)
            frame = json.loads(line)
            if frame["type"] == kind:
                return frame

    def nothing_arrived(self):
        """Tell whether no byte waits to be read."""
        readable, _, _ = select.select([self.client_end], [], [], 0)
        return not readable and not self._buffer

    def close(self):
        self.peer.outbox.close()
        self.server_end.close()
        self.client_end.close()


def peer_from(address):
    return Peer(outbox=None, address=address)


def test_connections_per_address_are_limited_except_loopback():
    room = Room(max_clients=100, max_per_ip=2)
    first, second, third = (peer_from("192.0.2.7") for _ in range(3))
    assert room.admit(first) is None and room.admit(second) is None
    assert room.admit(third) == "per_ip"
    assert room.admit(peer_from("192.0.2.8")) is None
    assert [room.admit(peer_from("127.0.0.1")) for _ in range(5)] == [None] * 5
    room.release(first)
    assert room.admit(third) is None
    unlimited = Room(max_clients=3, max_per_ip=0)
    assert [unlimited.admit(peer_from("192.0.2.7")) for _ in range(4)] == [None, None, None, "full"]


class Clock:
    """The room's clock: time stands still unless a test moves it."""

    def __init__(self):
        self.now = 1700000000.0

    def __call__(self):
        return self.now


@pytest.fixture
def room():
    """Return (room, fanout, console): a room with a fake console and clock, no server."""
    console = FakeConsole()
    room = Room(10, console=console, clock=Clock())
    fanout = Fanout(room.stream)
    room.attach_fanout(fanout)
    members = []

    def member(*args, **kwargs):
        members.append(Member(room, fanout, *args, **kwargs))
        assert room.admit(members[-1].peer) is None  # as the server counts each connection in
        return members[-1]

    room.member = member
    yield room, console
    for member in members:
        member.close()
    fanout.stop()


def test_a_join_is_told_to_the_others_and_to_the_console(room):
    room, console = room
    amy = room.member("amy")
    room.member("bob", "192.0.2.9")
    assert amy.expect("joined")["name"] == "bob"
    assert console.infos == ["amy joined (127.0.0.1)", "bob joined (192.0.2.9)"]
    assert room.users() == ["amy", "bob"]


def test_a_message_reaches_every_member_in_one_order_with_increasing_ids(room):
    room, console = room
    amy, bob = room.member("amy"), room.member("bob")
    room.say(amy.peer, "one")
    room.say(bob.peer, "two")
    for member in (amy, bob):
        first, second = member.expect("message"), member.expect("message")
        assert (first["from"], first["text"]) == ("amy", "one")
        assert (second["from"], second["text"]) == ("bob", "two")
        assert second["id"] == first["id"] + 1


def test_the_watch_sees_room_messages_but_never_private_ones(room):
    room, console = room
    seen = []
    room.watch = seen.append
    amy, bob = room.member("amy"), room.member("bob")
    room.say(amy.peer, "to all")
    room.say(amy.peer, "to bob alone", to="bob")
    assert bob.expect("message")["text"] == "to all"
    assert bob.expect("message")["text"] == "to bob alone"
    assert [frame["text"] for frame in seen] == ["to all"]


def test_a_private_message_to_nobody_is_refused(room):
    room, console = room
    amy = room.member("amy")
    with pytest.raises(ProtocolError) as refused:
        room.say(amy.peer, "hello?", to="zed")
    assert refused.value.code == "no_such_user"


def test_a_leave_is_told_to_the_others_and_the_console(room):
    room, console = room
    amy, bob = room.member("amy"), room.member("bob")
    room.leave(bob.peer, "quit")
    left = amy.expect("left")
    assert (left["name"], left["reason"]) == ("bob", "quit")
    assert console.infos[-1].startswith("bob ")
    assert room.users() == ["amy"]


def test_a_teachers_mute_is_told_to_the_console_and_refuses_the_student(room):
    room, console = room
    teacher = room.member("lee", teacher=True)
    amy = room.member("amy")
    words = room.apply_control({"type": "control", "action": "mute", "name": "amy"})
    assert console.infos[-1] == words
    with pytest.raises(ProtocolError) as refused:
        room.say(amy.peer, "can I?")
    assert refused.value.code == "muted"
    room.say(teacher.peer, "the teacher talks")
    assert amy.expect("message")["text"] == "the teacher talks"


def test_a_students_control_is_refused(room):
    room, console = room
    amy = room.member("amy")
    with pytest.raises(ProtocolError) as refused:
        room.control(amy.peer, {"type": "control", "action": "lock"})
    assert refused.value.code == "not_teacher"


def test_a_raised_hand_reaches_the_teachers_and_the_console(room):
    room, console = room
    teacher = room.member("lee", teacher=True)
    amy = room.member("amy")
    room.hand(amy.peer, True)
    assert teacher.expect("hand")["name"] == "amy"
    assert [hand["name"] for hand in room.hands()] == ["amy"]
    assert console.infos[-1] == "amy raised their hand"


def test_kick_ends_the_connection_with_a_bye(room):
    room, console = room
    room.member("lee", teacher=True)
    amy = room.member("amy")
    assert room.kick("AMY", "be kind") == "amy"
    assert amy.expect("bye")["reason"] == "be kind"
    assert amy.peer.reason == "kicked"
    assert room.kick("nobody", "gone") is None


def test_close_all_says_bye_to_every_connection(room):
    room, console = room
    amy, bob = room.member("amy"), room.member("bob")
    peers = room.close_all("The server is shutting down.")
    assert set(peers) == {amy.peer, bob.peer}
    for member in (amy, bob):
        assert member.expect("bye")["reason"] == "The server is shutting down."
        assert member.peer.reason == "disconnected"
