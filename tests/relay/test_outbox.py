"""The shared stream, the outboxes and the writer thread, without a server."""

import select
import socket
import threading
import time

import pytest

from helpers import WAIT, FailsOnce, wait_until
from chat_app.wire import nonblocking
from chat_app.relay.outbox import (
    FAULT_REPORT_SECONDS,
    FAULT_WORDS,
    MAX_BACKLOG_BYTES,
    MAX_SEND_BYTES,
    TRIM_STEP,
    Outbox,
    Stream,
    Writer,
)


@pytest.fixture
def writer():
    writer = Writer(Stream())
    yield writer
    writer.stop()


class Member:
    """One end of a socketpair with an Outbox on the other, as the server has."""

    def __init__(self, writer, follow=True):
        self.server_end, self.client_end = socket.socketpair()
        self.server_end.setblocking(False)
        self.cut = threading.Event()
        self.outbox = Outbox(self.server_end, writer, self.cut.set)
        if follow:
            self.outbox.follow(writer.stream.end)
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


def test_own_frames_keep_their_place_among_room_frames(writer):
    amy, bob = Member(writer), Member(writer)
    writer.set_members((amy.outbox, bob.outbox))
    try:
        writer.stream.append(b"room 1\n")
        amy.outbox.put(b"only amy\n")  # after room 1, before room 2
        writer.stream.append(b"room 2\n")
        amy.outbox.flush()
        writer.wake()
        assert amy.read_lines(3) == [b"room 1", b"only amy", b"room 2"]
        assert bob.read_lines(2) == [b"room 1", b"room 2"]
    finally:
        amy.close()
        bob.close()


def test_a_connection_that_follows_no_room_gets_only_its_own_frames(writer):
    person = Member(writer, follow=False)
    try:
        writer.stream.append(b"room\n")
        person.outbox.put(b"prompt\n")
        person.outbox.flush()
        assert person.read_lines(1) == [b"prompt"]
        assert person.outbox.pending == 0
    finally:
        person.close()


def test_a_stalled_member_is_cut_off_and_the_others_get_everything(writer):
    healthy, stalled = Member(writer), Member(writer)
    writer.set_members((healthy.outbox, stalled.outbox))

    def leave():  # what the room does once the connection ends
        stalled.outbox.follow(None)
        writer.set_members((healthy.outbox,))
        writer.wake()
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
            writer.stream.wait_for_space()
            writer.stream.append(line)
            if number % 50 == 0:
                writer.wake()
        writer.wake()
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


def test_members_far_behind_catch_up_in_order_and_the_stream_forgets_what_all_have(writer):
    amy, bob = TakesAll(), TakesAll()
    outboxes = [Outbox(sock, writer, lambda: None) for sock in (amy, bob)]
    for outbox in outboxes:
        outbox.follow(writer.stream.end)
    writer.set_members(tuple(outboxes))
    line = b"y" * 1000 + b"\n"
    count = max(TRIM_STEP, 3 * MAX_SEND_BYTES // len(line))
    lines = [b"%05d" % number + line[5:] for number in range(count)]
    for data in lines:  # all due at once: more than one send() offers
        writer.stream.append(data)
    writer.wake()
    expected = b"".join(lines)
    wait_until(lambda: amy.received() == bob.received() == expected,
               what=lambda: "amy has %d of %d bytes" % (len(amy.received()), len(expected)))
    for sock in (amy, bob):
        assert len(sock.sends) >= 3
        assert max(len(data) for data in sock.sends) < MAX_SEND_BYTES + len(line)
    writer.stream.append(b"one more\n")  # the next round finds every member past them
    writer.deliver()
    wait_until(lambda: amy.sends[-1] == bob.sends[-1] == b"one more\n")
    wait_until(lambda: writer.stream.base >= count, what="the stream kept frames all members have")


class Gone:
    """A socket whose peer is gone: every send() fails."""

    def send(self, data):
        raise ConnectionResetError(104, "Connection reset by peer")

    def shutdown(self, how):
        pass


def test_a_member_whose_peer_is_gone_costs_the_others_nothing(writer):
    amy = TakesAll()
    gone, healthy = Outbox(Gone(), writer, lambda: None), Outbox(amy, writer, lambda: None)
    for outbox in (gone, healthy):
        outbox.follow(writer.stream.end)
    writer.set_members((gone, healthy))
    for data in (b"first\n", b"second\n"):
        writer.stream.append(data)
        writer.deliver()
    wait_until(lambda: amy.received() == b"first\nsecond\n",
               what=lambda: "amy has %r" % amy.received())
    assert gone.closed and gone.pending == 0


def test_nothing_is_sent_on_a_socket_after_its_outbox_is_closed(writer):
    member = Member(writer)
    writer.set_members((member.outbox,))
    member.outbox.close()
    writer.stream.append(b"late\n")
    writer.wake()
    member.client_end.settimeout(0.2)
    with pytest.raises(socket.timeout):
        member.client_end.recv(10)
    member.server_end.close()
    member.client_end.close()


def plain_room(writer, socks):
    """Outboxes for these sockets, members after one round: all plain."""
    outboxes = [Outbox(sock, writer, lambda: None) for sock in socks]
    for outbox in outboxes:
        outbox.follow(writer.stream.end)
    writer.set_members(tuple(outboxes))
    writer.stream.append(b"first\n")
    writer.deliver()
    wait_until(lambda: all(outbox.plain for outbox in outboxes),
               what=lambda: "plain: %r" % [outbox.plain for outbox in outboxes])
    return outboxes


def test_members_in_the_usual_state_are_sent_to_in_one_go(writer, monkeypatch):
    socks = [TakesAll() for _ in range(3)]
    plain_room(writer, socks)
    served_one_by_one = []
    send_due = Outbox.send_due
    monkeypatch.setattr(Outbox, "send_due",
                        lambda outbox, *args: served_one_by_one.append(outbox)
                        or send_due(outbox, *args))
    writer.stream.append(b"second\n")
    writer.deliver()
    wait_until(lambda: all(sock.received() == b"first\nsecond\n" for sock in socks),
               what=lambda: [sock.received() for sock in socks])
    assert served_one_by_one == []


def test_a_fault_in_a_round_is_reported_and_the_next_round_serves_everyone(monkeypatch):
    faults = []
    writer = Writer(Stream(), on_fault=faults.append)
    try:
        amy, bob, cat = TakesAll(), TakesAll(), TakesAll()
        outboxes = plain_room(writer, (amy, bob))
        outboxes[1].put(b"bob's own\n")  # bob is not plain: served one by one
        joining = Outbox(cat, writer, lambda: None)  # not a member yet: its welcome
        joining.put(b"welcome, cat\n")
        with writer._round_lock:  # all of it in one round, once the writer thread may run
            joining.flush()
            FailsOnce(monkeypatch, Outbox, "prepare")
            writer.stream.append(b"second\n")
            writer.wake()  # the round: amy is sent to, then bob's step fails, before cat's
        wait_until(lambda: faults, what="the fault was never reported")
        assert faults[0].startswith(FAULT_WORDS) and "a bug in a round" in faults[0]
        assert writer._thread.is_alive()
        writer.wake()  # no new frame: the round after a fault serves everyone again
        wait_until(lambda: bob.received() == b"first\nbob's own\nsecond\n"
                   and cat.received() == b"welcome, cat\n",
                   what=lambda: "bob %r, cat %r" % (bob.received(), cat.received()))
        writer.stream.append(b"third\n")
        writer.deliver()
        wait_until(lambda: amy.received() == b"first\nsecond\nthird\n"
                   and bob.received().endswith(b"second\nthird\n"),
                   what=lambda: "amy %r, bob %r" % (amy.received(), bob.received()))
        assert len(faults) == 1
    finally:
        writer.stop()


def test_a_fault_that_repeats_is_reported_once_a_minute_with_a_count():
    faults = []
    writer = Writer(Stream(), on_fault=faults.append)
    try:
        for _ in range(3):
            writer._report_fault("Traceback: the same bug")
        assert len(faults) == 1
        writer._fault_reported -= FAULT_REPORT_SECONDS
        writer._report_fault("Traceback: the same bug")
        assert len(faults) == 2 and "(2 more since the last report)" in faults[1]
    finally:
        writer.stop()


def test_a_member_whose_socket_became_tls_is_never_sent_to_without_its_lock(writer):
    ssl = nonblocking.use_tls()
    if ssl is None:
        pytest.skip("this Python has no ssl module")

    class Encrypted(ssl.SSLSocket):  # what the handler swaps in after the handshake
        def __init__(self):
            self.plain_end = TakesAll()

        def send(self, data):
            return self.plain_end.send(data)

    amy, bob = TakesAll(), TakesAll()
    outboxes = plain_room(writer, (amy, bob))
    encrypted = Encrypted()
    outboxes[1].encrypt(encrypted)  # as handler.start_tls() does (before the join, there)
    for data in (b"second\n", b"third\n"):
        writer.stream.append(data)
        writer.deliver()
    wait_until(lambda: encrypted.plain_end.received() == b"second\nthird\n",
               what=lambda: "the TLS member has %r" % encrypted.plain_end.received())
    assert not outboxes[1].plain and outboxes[0].plain


class GoesAway(TakesAll):
    """A socket that takes everything until its peer goes (gone = True)."""

    gone = False

    def send(self, data):
        if self.gone:
            raise ConnectionResetError(104, "Connection reset by peer")
        return super().send(data)

    def shutdown(self, how):
        pass


def test_in_one_go_a_member_that_fails_or_takes_part_costs_the_others_nothing(writer):
    amy, cat, dan = TakesAll(), GoesAway(), TakesAll()
    ben = Member(writer, follow=False)  # a real socket: it takes part of a big frame
    try:
        outboxes = plain_room(writer, (amy, cat, ben.server_end, dan))
        ben.outbox = outboxes[2]
        cat.gone = True
        big = b"z" * 600000 + b"\n"  # more than the socket buffer, less than the limit
        writer.stream.append(big)
        writer.deliver()
        everything = b"first\n" + big
        wait_until(lambda: amy.received() == dan.received() == everything,
                   what=lambda: "amy %d, dan %d bytes"
                   % (len(amy.received()), len(dan.received())))
        assert outboxes[1].closed and outboxes[1].pending == 0
        wait_until(lambda: ben.outbox.blocked or ben.outbox.pending == 0)
        assert ben.read_lines(2) == [b"first", big[:-1]]  # the rest follows once it reads
        writer.stream.append(b"third\n")
        writer.deliver()
        assert ben.read_lines(1) == [b"third"]
        wait_until(lambda: amy.received() == dan.received() == everything + b"third\n")
    finally:
        ben.close()


class Gated(TakesAll):
    """A socket whose next send() waits for `go`, once `armed` is set."""

    def __init__(self):
        super().__init__()
        self.armed, self.entered, self.go = (threading.Event() for _ in range(3))

    def send(self, data):
        if self.armed.is_set():
            self.entered.set()
            assert self.go.wait(WAIT)
        return super().send(data)


class Watched(TakesAll):
    """A socket that notes whether each send() came after its outbox's close() returned."""

    def __init__(self):
        super().__init__()
        self.closed = threading.Event()
        self.after_close = []

    def send(self, data):
        self.after_close.append(self.closed.is_set())
        return super().send(data)


def test_members_behind_by_more_than_one_send_get_the_rest_before_what_comes_next(writer):
    amy, bob = TakesAll(), Gated()
    plain_room(writer, (amy, bob))
    line = b"y" * 1000 + b"\n"
    lines = [b"%05d" % number + line[5:] for number in range(3 * MAX_SEND_BYTES // len(line))]
    for data in lines:  # more than one send() offers: each member catches up in steps
        writer.stream.append(data)
    writer.stream.hold()  # what comes next waits, as behind a log, until released below
    writer.stream.append(b"after\n")
    bob.armed.set()
    sender = threading.Thread(target=writer.deliver, daemon=True)
    sender.start()
    assert bob.entered.wait(WAIT)  # the first round is in bob's first step
    writer.stream.release(writer.stream.end)  # "after" is due while both are still behind
    writer.deliver()
    bob.go.set()
    expected = b"first\n" + b"".join(lines) + b"after\n"
    wait_until(lambda: amy.received() == bob.received() == expected,
               what=lambda: "amy has %d, bob %d of %d bytes"
               % (len(amy.received()), len(bob.received()), len(expected)))
    sender.join(WAIT)


def stuck_in_one_go(writer, other):
    """A plain room of a Gated socket and `other`, its round held in the loop in C.

    Return (gated, outboxes, the thread running the round); gated.go lets it go on.
    """
    gated = Gated()
    outboxes = plain_room(writer, (gated, other))
    gated.armed.set()
    writer.stream.append(b"second\n")
    sender = threading.Thread(target=writer.deliver, daemon=True)
    sender.start()
    assert gated.entered.wait(WAIT)  # the round is in its loop over the plain members
    return gated, outboxes, sender


def test_close_waits_for_a_send_in_one_go_that_began_before_it(writer):
    watched = Watched()
    gated, outboxes, sender = stuck_in_one_go(writer, watched)

    def close():
        outboxes[1].close()
        watched.closed.set()

    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    assert not watched.closed.wait(0.3), "close() returned while the round was sending"
    gated.go.set()
    assert watched.closed.wait(WAIT)
    sender.join(WAIT)
    assert outboxes[1].cursor is None and outboxes[1].pending == 0  # nothing queued after
    writer.stream.append(b"third\n")
    writer.deliver()
    wait_until(lambda: gated.received().endswith(b"third\n"))
    assert watched.after_close == [False, False]  # "first" and "second": both before


def test_a_member_that_leaves_during_a_send_in_one_go_gets_no_room_frame_after_it(writer):
    bob = TakesAll()
    gated, outboxes, sender = stuck_in_one_go(writer, bob)  # bob is in the loop's list

    def leave():  # what Room.leave() does, under the room lock
        outboxes[1].follow(None)
        writer.set_members((outboxes[0],))
        writer.stream.append(b"bob left\n")

    leaver = threading.Thread(target=leave, daemon=True)
    leaver.start()
    gated.go.set()
    leaver.join(WAIT)
    sender.join(WAIT)
    round_done(writer)
    assert outboxes[1].cursor is None  # the loop in C did not set it back
    outboxes[1].put(b"bye\n")  # what Room.close_all() does before the handler closes it
    outboxes[1].stop_at(writer.stream.end)
    outboxes[1].flush()
    wait_until(lambda: bob.received().endswith(b"bye\n"), what=lambda: bob.received())
    assert bob.received() == b"first\nsecond\nbye\n"
    assert outboxes[1].wait_drained(WAIT)


def test_a_drain_waiter_that_begins_during_a_send_in_one_go_is_told_when_it_ends(writer):
    watched = TakesAll()
    gated, outboxes, sender = stuck_in_one_go(writer, watched)
    drained = []
    waiter = threading.Thread(target=lambda: drained.append(outboxes[1].wait_drained(10 * WAIT)),
                              daemon=True)
    waiter.start()
    gated.go.set()
    wait_until(lambda: drained == [True], what="the drain waiter to be told (not its timeout)")
    writer.stream.append(b"third\n")  # and the writer goes on
    writer.deliver()
    wait_until(lambda: watched.received() == b"first\nsecond\nthird\n",
               what=lambda: "watched has %r" % watched.received())


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


def test_waiting_for_an_outbox_to_drain_ends_when_the_writer_has_sent_it(writer):
    amy = Member(writer, follow=False)
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


def test_a_stopped_outbox_sends_no_room_frame_after_its_last_own_frame(writer):
    amy, bob = Member(writer), Member(writer)
    writer.set_members((amy.outbox, bob.outbox))
    writer.stream.append(b"before\n")
    amy.outbox.put(b"bye\n")
    amy.outbox.stop_at(writer.stream.end)
    writer.stream.append(b"after\n")
    writer.wake()
    assert bob.read_lines(2) == [b"before", b"after"]
    assert amy.read_lines(2) == [b"before", b"bye"]
    assert amy.outbox.wait_drained(WAIT)
    assert amy._buffer == b""
    amy.client_end.setblocking(False)
    with pytest.raises(BlockingIOError):
        amy.client_end.recv(100)  # "after" never comes
    amy.close()
    bob.close()


def round_done(writer):
    """Wait until the writer has made a whole round that began after this call."""
    first = writer._rounds + 1
    writer.wake()
    wait_until(lambda: writer._rounds >= first, what="a round of the writer to begin")
    writer.wake()  # its flag was cleared before that round: this starts the next one
    wait_until(lambda: writer._rounds > first, what="that round to end")


def nothing_arrived(member):
    """Tell whether no byte waits to be read at the member's end."""
    readable, _, _ = select.select([member.client_end], [], [], 0)
    return not readable and not member._buffer


def test_held_frames_and_own_frames_after_them_wait_until_released(writer):
    amy, person = Member(writer), Member(writer, follow=False)
    writer.set_members((amy.outbox,))
    stream = writer.stream
    try:
        stream.append(b"sent at once\n")
        stream.hold()  # a log is kept from now on
        stream.append(b"logged\n")
        amy.outbox.put(b"only amy\n")  # follows the logged frame
        person.outbox.put(b"logged, as text\n")  # a terminal's copy, queued after it
        amy.outbox.flush()
        person.outbox.flush()
        round_done(writer)
        assert amy.read_lines(1) == [b"sent at once"]
        assert nothing_arrived(amy) and nothing_arrived(person)
        stream.release(stream.end)  # the log writer: its line is written
        writer.wake()
        assert amy.read_lines(2) == [b"logged", b"only amy"]
        assert person.read_lines(1) == [b"logged, as text"]
        stream.release_all()  # the log is closed: frames go as they come
        stream.append(b"unlogged\n")
        writer.wake()
        assert amy.read_lines(1) == [b"unlogged"]
    finally:
        amy.close()
        person.close()


def test_a_frame_added_to_a_quiet_room_is_sent_by_the_thread_that_added_it(writer):
    amy, bob = Member(writer), Member(writer)
    writer.set_members((amy.outbox, bob.outbox))
    woken = []
    writer.wake = lambda outbox=None: woken.append(outbox)  # the writer thread stays asleep
    try:
        writer.stream.append(b'{"n":1}\n')
        writer._round_ended = time.monotonic() - 1.0  # nothing sent for a second
        writer.deliver()
        for member in (amy, bob):  # already there when deliver() returns: no other thread sent it
            assert select.select([member.client_end], [], [], 0)[0]
            assert member.read_lines(1) == [b'{"n":1}']
        assert woken == []
    finally:
        del writer.wake
        amy.close()
        bob.close()


def test_in_a_busy_room_the_writer_thread_takes_the_round(writer):
    amy = Member(writer)
    writer.set_members((amy.outbox,))
    woken = []
    real_wake = writer.wake
    writer.wake = lambda outbox=None: (woken.append(outbox), real_wake(outbox))
    try:
        writer.stream.append(b'{"n":1}\n')
        writer._round_ended = time.monotonic()  # a round just ended: frames are coming fast
        writer.deliver()
        assert woken == [None]
        assert amy.read_lines(1) == [b'{"n":1}']  # the writer thread sent it
    finally:
        del writer.wake
        amy.close()
