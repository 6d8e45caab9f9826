"""The fanout thread (fanout.py): rounds, sends in one go, faults, who runs a round."""

import select
import threading
import time

from fake_console import FakeConsole
from helpers import WAIT, FailsOnce, wait_until
from chat_app.relay.fanout import FAULT_REPORT_SECONDS, FAULT_WORDS, Fanout
from chat_app.relay.outbox import MAX_SEND_BYTES, Outbox, Stream
from test_outbox import (  # noqa: F401 (fanout: a fixture)
    Member, TakesAll, fanout, plain_room, round_done)


def test_members_in_the_usual_state_are_sent_to_in_one_go(fanout, monkeypatch):
    socks = [TakesAll() for _ in range(3)]
    plain_room(fanout, socks)
    served_one_by_one = []
    send_due = Outbox.send_due
    monkeypatch.setattr(Outbox, "send_due",
                        lambda outbox, *args: served_one_by_one.append(outbox)
                        or send_due(outbox, *args))
    fanout.stream.append(b"second\n")
    fanout.deliver()
    wait_until(lambda: all(sock.received() == b"first\nsecond\n" for sock in socks),
               what=lambda: [sock.received() for sock in socks])
    assert served_one_by_one == []


def test_a_fault_in_a_round_is_reported_and_the_next_round_serves_everyone(monkeypatch):
    console = FakeConsole()
    faults = console.errors
    fanout = Fanout(Stream(), console=console)
    try:
        amy, bob, cat = TakesAll(), TakesAll(), TakesAll()
        outboxes = plain_room(fanout, (amy, bob))
        outboxes[1].put(b"bob's own\n")  # bob is not plain: served one by one
        joining = Outbox(cat, fanout, lambda: None)  # not a member yet: its welcome
        joining.put(b"welcome, cat\n")
        with fanout._round_lock:  # all of it in one round, once the fanout thread may run
            joining.flush()
            FailsOnce(monkeypatch, Outbox, "prepare")
            fanout.stream.append(b"second\n")
            fanout.wake()  # the round: amy is sent to, then bob's step fails, before cat's
        wait_until(lambda: faults, what="the fault was never reported")
        assert faults[0].startswith(FAULT_WORDS) and "a bug in a round" in faults[0]
        assert fanout._thread.is_alive()
        fanout.wake()  # no new frame: the round after a fault serves everyone again
        wait_until(lambda: bob.received() == b"first\nbob's own\nsecond\n"
                   and cat.received() == b"welcome, cat\n",
                   what=lambda: "bob %r, cat %r" % (bob.received(), cat.received()))
        fanout.stream.append(b"third\n")
        fanout.deliver()
        wait_until(lambda: amy.received() == b"first\nsecond\nthird\n"
                   and bob.received().endswith(b"second\nthird\n"),
                   what=lambda: "amy %r, bob %r" % (amy.received(), bob.received()))
        assert len(faults) == 1
    finally:
        fanout.stop()


def test_a_fault_that_repeats_is_reported_once_a_minute_with_a_count():
    console = FakeConsole()
    faults = console.errors
    fanout = Fanout(Stream(), console=console)
    try:
        for _ in range(3):
            fanout._report_fault("Traceback: the same bug")
        assert len(faults) == 1
        fanout._fault_reported -= FAULT_REPORT_SECONDS
        fanout._report_fault("Traceback: the same bug")
        assert len(faults) == 2 and "(2 more since the last report)" in faults[1]
    finally:
        fanout.stop()


class GoesAway(TakesAll):
    """A socket that takes everything until its peer goes (gone = True)."""

    gone = False

    def send(self, data):
        if self.gone:
            raise ConnectionResetError(104, "Connection reset by peer")
        return super().send(data)

    def shutdown(self, how):
        pass


def test_in_one_go_a_member_that_fails_or_takes_part_costs_the_others_nothing(fanout):
    amy, cat, dan = TakesAll(), GoesAway(), TakesAll()
    ben = Member(fanout, follow=False)  # a real socket: it takes part of a big frame
    try:
        outboxes = plain_room(fanout, (amy, cat, ben.server_end, dan))
        ben.outbox = outboxes[2]
        cat.gone = True
        big = b"z" * 600000 + b"\n"  # more than the socket buffer, less than the limit
        fanout.stream.append(big)
        fanout.deliver()
        everything = b"first\n" + big
        wait_until(lambda: amy.received() == dan.received() == everything,
                   what=lambda: "amy %d, dan %d bytes"
                   % (len(amy.received()), len(dan.received())))
        assert outboxes[1].closed and outboxes[1].pending == 0
        wait_until(lambda: ben.outbox.blocked or ben.outbox.pending == 0)
        assert ben.read_lines(2) == [b"first", big[:-1]]  # the rest follows once it reads
        fanout.stream.append(b"third\n")
        fanout.deliver()
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


def test_members_behind_by_more_than_one_send_get_the_rest_before_what_comes_next(fanout):
    amy, bob = TakesAll(), Gated()
    plain_room(fanout, (amy, bob))
    line = b"y" * 1000 + b"\n"
    lines = [b"%05d" % number + line[5:] for number in range(3 * MAX_SEND_BYTES // len(line))]
    for data in lines:  # more than one send() offers: each member catches up in steps
        fanout.stream.append(data)
    fanout.stream.hold()  # what comes next waits, as behind a log, until released below
    fanout.stream.append(b"after\n")
    bob.armed.set()
    sender = threading.Thread(target=fanout.deliver, daemon=True)
    sender.start()
    assert bob.entered.wait(WAIT)  # the first round is in bob's first step
    fanout.stream.release(fanout.stream.end)  # "after" is due while both are still behind
    fanout.deliver()
    bob.go.set()
    expected = b"first\n" + b"".join(lines) + b"after\n"
    wait_until(lambda: amy.received() == bob.received() == expected,
               what=lambda: "amy has %d, bob %d of %d bytes"
               % (len(amy.received()), len(bob.received()), len(expected)))
    sender.join(WAIT)


def stuck_in_one_go(fanout, other):
    """A plain room of a Gated socket and `other`, its round held in the loop in C.

    Return (gated, outboxes, the thread running the round); gated.go lets it go on.
    """
    gated = Gated()
    outboxes = plain_room(fanout, (gated, other))
    gated.armed.set()
    fanout.stream.append(b"second\n")
    sender = threading.Thread(target=fanout.deliver, daemon=True)
    sender.start()
    assert gated.entered.wait(WAIT)  # the round is in its loop over the plain members
    return gated, outboxes, sender


def test_close_waits_for_a_send_in_one_go_that_began_before_it(fanout):
    watched = Watched()
    gated, outboxes, sender = stuck_in_one_go(fanout, watched)

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
    fanout.stream.append(b"third\n")
    fanout.deliver()
    wait_until(lambda: gated.received().endswith(b"third\n"))
    assert watched.after_close == [False, False]  # "first" and "second": both before


def test_a_member_that_leaves_during_a_send_in_one_go_gets_no_room_frame_after_it(fanout):
    bob = TakesAll()
    gated, outboxes, sender = stuck_in_one_go(fanout, bob)  # bob is in the loop's list

    def leave():  # what Room.leave() does, under the room lock
        outboxes[1].follow(None)
        fanout.set_members((outboxes[0],))
        fanout.stream.append(b"bob left\n")

    leaver = threading.Thread(target=leave, daemon=True)
    leaver.start()
    gated.go.set()
    leaver.join(WAIT)
    sender.join(WAIT)
    round_done(fanout)
    assert outboxes[1].cursor is None  # the loop in C did not set it back
    outboxes[1].put(b"bye\n")  # what Room.close_all() does before the handler closes it
    outboxes[1].stop_at(fanout.stream.end)
    outboxes[1].flush()
    wait_until(lambda: bob.received().endswith(b"bye\n"), what=lambda: bob.received())
    assert bob.received() == b"first\nsecond\nbye\n"
    assert outboxes[1].wait_drained(WAIT)


def test_a_drain_waiter_that_begins_during_a_send_in_one_go_is_told_when_it_ends(fanout):
    watched = TakesAll()
    gated, outboxes, sender = stuck_in_one_go(fanout, watched)
    drained = []
    waiter = threading.Thread(target=lambda: drained.append(outboxes[1].wait_drained(10 * WAIT)),
                              daemon=True)
    waiter.start()
    gated.go.set()
    wait_until(lambda: drained == [True], what="the drain waiter to be told (not its timeout)")
    fanout.stream.append(b"third\n")  # and the fanout goes on
    fanout.deliver()
    wait_until(lambda: watched.received() == b"first\nsecond\nthird\n",
               what=lambda: "watched has %r" % watched.received())


def test_a_frame_added_to_a_quiet_room_is_sent_by_the_thread_that_added_it(fanout):
    amy, bob = Member(fanout), Member(fanout)
    fanout.set_members((amy.outbox, bob.outbox))
    woken = []
    fanout.wake = lambda outbox=None: woken.append(outbox)  # the fanout thread stays asleep
    try:
        fanout.stream.append(b'{"n":1}\n')
        fanout._round_ended = time.monotonic() - 1.0  # nothing sent for a second
        fanout.deliver()
        for member in (amy, bob):  # already there when deliver() returns: no other thread sent it
            assert select.select([member.client_end], [], [], 0)[0]
            assert member.read_lines(1) == [b'{"n":1}']
        assert woken == []
    finally:
        del fanout.wake
        amy.close()
        bob.close()


def test_in_a_busy_room_the_fanout_thread_takes_the_round(fanout):
    amy = Member(fanout)
    fanout.set_members((amy.outbox,))
    woken = []
    real_wake = fanout.wake
    fanout.wake = lambda outbox=None: (woken.append(outbox), real_wake(outbox))
    try:
        fanout.stream.append(b'{"n":1}\n')
        fanout._round_ended = time.monotonic()  # a round just ended: frames are coming fast
        fanout.deliver()
        assert woken == [None]
        assert amy.read_lines(1) == [b'{"n":1}']  # the fanout thread sent it
    finally:
        del fanout.wake
        amy.close()
