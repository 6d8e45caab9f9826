"""The shared stream and the outboxes (outbox.py), without a server."""

import select
import socket
import threading
import time

import pytest

from helpers import WAIT, wait_until
from chat_app.wire import nonblocking
from chat_app.relay.fanout import TRIM_STEP, Fanout
from chat_app.relay.outbox import MAX_BACKLOG_BYTES, MAX_SEND_BYTES, Outbox, Stream


@pytest.fixture
def fanout():
    fanout = Fanout(Stream())
    yield fanout
    fanout.stop()


class Member:
    """One end of a socketpair with an Outbox on the other, as the server has."""

    def __init__(self, fanout, follow=True):
        self.server_end, self.client_end = socket.socketpair()
        self.server_end.setblocking(False)
        self.cut = threading.Event()
        self.outbox = Outbox(self.server_end, fanout, self.cut.set)
        if follow:
            self.outbox.follow(fanout.stream.end)
        self._buffer = b""

    def read_lines(self, count):
        deadline = time.monotonic() + WAIT
        self.client_end.settimeout(WAIT)
        while self._buffer.count(b"\n") < count and time.monotonic() < deadline:
            self._buffer += self.client_end.recv(65536)
        lines = self._buffer.split(b"\n")
        assert len(lines) > count, "only %r arrived" % self._buffer[:200]
        self._buffer = b"\n".join(lines[count:])
        return lines[:count]

    def close(self):
        self.outbox.close()
        self.server_end.close()
        self.client_end.close()


def test_stream_counts_bytes_and_forgets_what_everyone_has():
    stream = Stream()
    for data in (b"a\n", b"bb\n", b"ccc\n"):
        stream.append(data)
    assert stream.end == 3
    assert stream.bytes_from(0) == 9 and stream.bytes_from(1) == 7 and stream.bytes_from(3) == 0
    stream.trim(2)
    assert stream.base == 2 and stream.chunks == [b"ccc\n"]
    assert stream.bytes_from(2) == 4 and stream.retained() == 4
    stream.trim(1)  # already gone: nothing happens
    assert stream.base == 2


def test_senders_wait_while_the_stream_is_full_until_it_is_trimmed():
    stream = Stream(max_bytes=10)
    stream.append(b"x" * 11)
    waited = threading.Event()

    def sender():
        stream.wait_for_space()
        waited.set()

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    assert not waited.wait(0.3)
    stream.trim(1)
    assert waited.wait(WAIT)
    thread.join(WAIT)


def test_own_frames_keep_their_place_among_room_frames(fanout):
    amy, bob = Member(fanout), Member(fanout)
    fanout.set_members((amy.outbox, bob.outbox))
    try:
        fanout.stream.append(b"room 1\n")
        amy.outbox.put(b"only amy\n")  # after room 1, before room 2
        fanout.stream.append(b"room 2\n")
        amy.outbox.flush()
        fanout.wake()
        assert amy.read_lines(3) == [b"room 1", b"only amy", b"room 2"]
        assert bob.read_lines(2) == [b"room 1", b"room 2"]
    finally:
        amy.close()
        bob.close()


def test_a_connection_that_follows_no_room_gets_only_its_own_frames(fanout):
    person = Member(fanout, follow=False)
    try:
        fanout.stream.append(b"room\n")
        person.outbox.put(b"prompt\n")
        person.outbox.flush()
        assert person.read_lines(1) == [b"prompt"]
        assert person.outbox.pending == 0
    finally:
        person.close()


def test_a_stalled_member_is_cut_off_and_the_others_get_everything(fanout):
    healthy, stalled = Member(fanout), Member(fanout)
    fanout.set_members((healthy.outbox, stalled.outbox))

    def leave():  # what the room does once the connection ends
        stalled.outbox.follow(None)
        fanout.set_members((healthy.outbox,))
        fanout.wake()
        stalled.cut.set()

    stalled.outbox.on_overflow = leave
    line = b"x" * 1000 + b"\n"
    count = 8 * MAX_BACKLOG_BYTES // len(line)  # more than any socket buffer here takes
    received = []
    reader = threading.Thread(target=lambda: received.extend(healthy.read_lines(count)),
                              daemon=True)
    reader.start()
    try:
        for number in range(count):
            fanout.stream.wait_for_space()
            fanout.stream.append(line)
            if number % 50 == 0:
                fanout.wake()
        fanout.wake()
        assert stalled.cut.wait(WAIT), "the stalled member was never cut off"
        reader.join(WAIT * 2)
        assert len(received) == count
        assert stalled.outbox.pending <= MAX_BACKLOG_BYTES + 64 * len(line)
    finally:
        healthy.close()
        stalled.close()


class TakesAll:
    """A socket that takes every byte it is offered, and keeps each send()."""

    def __init__(self):
        self.sends = []

    def send(self, data):
        self.sends.append(bytes(data))
        return len(data)

    def received(self):
        return b"".join(self.sends)


def test_members_far_behind_catch_up_in_order_and_the_stream_forgets_what_all_have(fanout):
    amy, bob = TakesAll(), TakesAll()
    outboxes = [Outbox(sock, fanout, lambda: None) for sock in (amy, bob)]
    for outbox in outboxes:
        outbox.follow(fanout.stream.end)
    fanout.set_members(tuple(outboxes))
    line = b"y" * 1000 + b"\n"
    count = max(TRIM_STEP, 3 * MAX_SEND_BYTES // len(line))
    lines = [b"%05d" % number + line[5:] for number in range(count)]
    for data in lines:  # all due at once: more than one send() offers
        fanout.stream.append(data)
    fanout.wake()
    expected = b"".join(lines)
    wait_until(lambda: amy.received() == bob.received() == expected,
               what=lambda: "amy has %d of %d bytes" % (len(amy.received()), len(expected)))
    for sock in (amy, bob):
        assert len(sock.sends) >= 3
        assert max(len(data) for data in sock.sends) < MAX_SEND_BYTES + len(line)
    fanout.stream.append(b"one more\n")  # the next round finds every member past them
    fanout.deliver()
    wait_until(lambda: amy.sends[-1] == bob.sends[-1] == b"one more\n")
    wait_until(lambda: fanout.stream.base >= count, what="the stream kept frames all members have")


class Gone:
    """A socket whose peer is gone: every send() fails."""

    def send(self, data):
        raise ConnectionResetError(104, "Connection reset by peer")

    def shutdown(self, how):
        pass


def test_a_member_whose_peer_is_gone_costs_the_others_nothing(fanout):
    amy = TakesAll()
    gone, healthy = Outbox(Gone(), fanout, lambda: None), Outbox(amy, fanout, lambda: None)
    for outbox in (gone, healthy):
        outbox.follow(fanout.stream.end)
    fanout.set_members((gone, healthy))
    for data in (b"first\n", b"second\n"):
        fanout.stream.append(data)
        fanout.deliver()
    wait_until(lambda: amy.received() == b"first\nsecond\n",
               what=lambda: "amy has %r" % amy.received())
    assert gone.closed and gone.pending == 0


def test_nothing_is_sent_on_a_socket_after_its_outbox_is_closed(fanout):
    member = Member(fanout)
    fanout.set_members((member.outbox,))
    member.outbox.close()
    fanout.stream.append(b"late\n")
    fanout.wake()
    member.client_end.settimeout(0.2)
    with pytest.raises(socket.timeout):
        member.client_end.recv(10)
    member.server_end.close()
    member.client_end.close()


def plain_room(fanout, socks):
    """Outboxes for these sockets, members after one round: all plain."""
    outboxes = [Outbox(sock, fanout, lambda: None) for sock in socks]
    for outbox in outboxes:
        outbox.follow(fanout.stream.end)
    fanout.set_members(tuple(outboxes))
    fanout.stream.append(b"first\n")
    fanout.deliver()
    wait_until(lambda: all(outbox.plain for outbox in outboxes),
               what=lambda: "plain: %r" % [outbox.plain for outbox in outboxes])
    return outboxes


def test_a_member_whose_socket_became_tls_is_never_sent_to_without_its_lock(fanout):
    ssl = nonblocking.use_tls()
    if ssl is None:
        pytest.skip("this Python has no ssl module")

    class Encrypted(ssl.SSLSocket):  # what the handler swaps in after the handshake
        def __init__(self):
            self.plain_end = TakesAll()

        def send(self, data):
            return self.plain_end.send(data)

    amy, bob = TakesAll(), TakesAll()
    outboxes = plain_room(fanout, (amy, bob))
    encrypted = Encrypted()
    outboxes[1].encrypt(encrypted)  # as handler.start_tls() does (before the join, there)
    for data in (b"second\n", b"third\n"):
        fanout.stream.append(data)
        fanout.deliver()
    wait_until(lambda: encrypted.plain_end.received() == b"second\nthird\n",
               what=lambda: "the TLS member has %r" % encrypted.plain_end.received())
    assert not outboxes[1].plain and outboxes[0].plain


def test_a_sender_waiting_for_space_gives_up_when_woken_after_its_end():
    stream = Stream(max_bytes=10)
    stream.append(b"x" * 11)
    ended, done = threading.Event(), threading.Event()

    def sender():
        stream.wait_for_space(ended.is_set)
        done.set()

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    ended.set()
    stream.wake_senders()  # what Peer.end() calls: no polling interval to wait out
    assert done.wait(WAIT)
    thread.join(WAIT)


def test_waiting_for_an_outbox_to_drain_ends_when_the_fanout_has_sent_it(fanout):
    amy = Member(fanout, follow=False)
    amy.client_end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    amy.server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    assert amy.outbox.put(b"y" * 200000 + b"\n")
    amy.outbox.flush()
    assert not amy.outbox.wait_drained(0.05)  # the reader has not read it yet
    drained = []
    thread = threading.Thread(target=lambda: drained.append(amy.outbox.wait_drained(WAIT)))
    thread.start()
    assert len(amy.read_lines(1)[0]) == 200000
    thread.join(WAIT)
    assert drained == [True] and amy.outbox.pending == 0
    amy.close()


def test_a_stopped_outbox_sends_no_room_frame_after_its_last_own_frame(fanout):
    amy, bob = Member(fanout), Member(fanout)
    fanout.set_members((amy.outbox, bob.outbox))
    fanout.stream.append(b"before\n")
    amy.outbox.put(b"bye\n")
    amy.outbox.stop_at(fanout.stream.end)
    fanout.stream.append(b"after\n")
    fanout.wake()
    assert bob.read_lines(2) == [b"before", b"after"]
    assert amy.read_lines(2) == [b"before", b"bye"]
    assert amy.outbox.wait_drained(WAIT)
    assert amy._buffer == b""
    amy.client_end.setblocking(False)
    with pytest.raises(BlockingIOError):
        amy.client_end.recv(100)  # "after" never comes
    amy.close()
    bob.close()


def round_done(fanout):
    """Wait until the fanout has made a whole round that began after this call."""
    first = fanout._rounds + 1
    fanout.wake()
    wait_until(lambda: fanout._rounds >= first, what="a round of the fanout to begin")
    fanout.wake()  # its flag was cleared before that round: this starts the next one
    wait_until(lambda: fanout._rounds > first, what="that round to end")


def nothing_arrived(member):
    """Tell whether no byte waits to be read at the member's end."""
    readable, _, _ = select.select([member.client_end], [], [], 0)
    return not readable and not member._buffer


def test_held_frames_and_own_frames_after_them_wait_until_released(fanout):
    amy, person = Member(fanout), Member(fanout, follow=False)
    fanout.set_members((amy.outbox,))
    stream = fanout.stream
    try:
        stream.append(b"sent at once\n")
        stream.hold()  # a log is kept from now on
        stream.append(b"logged\n")
        amy.outbox.put(b"only amy\n")  # follows the logged frame
        person.outbox.put(b"logged, as text\n")  # a terminal's copy, queued after it
        amy.outbox.flush()
        person.outbox.flush()
        round_done(fanout)
        assert amy.read_lines(1) == [b"sent at once"]
        assert nothing_arrived(amy) and nothing_arrived(person)
        stream.release(stream.end)  # the log fanout: its line is written
        fanout.wake()
        assert amy.read_lines(2) == [b"logged", b"only amy"]
        assert person.read_lines(1) == [b"logged, as text"]
        stream.release_all()  # the log is closed: frames go as they come
        stream.append(b"unlogged\n")
        fanout.wake()
        assert amy.read_lines(1) == [b"unlogged"]
    finally:
        amy.close()
        person.close()
