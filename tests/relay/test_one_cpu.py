"""The server's threads kept on one CPU while the room floods, and let go once it is calm."""

import os
import threading

import pytest

from helpers import require, wait_until
from chat_app.relay import fanout as fanout_module, one_cpu as one_cpu_module
from chat_app.relay.one_cpu import OneCpu, current_cpu
from chat_app.relay.fanout import Fanout
from chat_app.relay.outbox import Outbox, Stream


def allowed_now():
    return frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()


def require_two_cpus():
    require(len(allowed_now()) > 1 and os.path.isdir("/proc/self/task"),
            "keeping threads on one CPU needs Linux and two CPUs or more")


def every_thread():
    """Return {thread id: the CPUs it may run on} for every thread of this process."""
    return {int(task): frozenset(os.sched_getaffinity(int(task)))
            for task in os.listdir("/proc/self/task")}


@pytest.fixture
def sleeper():
    """A thread that only waits, as most connection threads do."""
    done = threading.Event()
    thread = threading.Thread(target=done.wait, daemon=True)
    thread.start()
    yield thread
    done.set()
    thread.join()


def test_narrow_keeps_every_thread_on_one_cpu_and_widen_lets_them_go(sleeper):
    require_two_cpus()
    allowed = allowed_now()
    one_cpu = OneCpu()
    try:
        one_cpu.narrow()
        narrowed = every_thread()
        assert one_cpu.narrowed
        assert len(set(narrowed.values())) == 1 and len(narrowed[sleeper.native_id]) == 1
        cpu = next(iter(narrowed[sleeper.native_id]))
        started = []
        later = threading.Thread(target=lambda: started.append(os.sched_getaffinity(0)))
        later.start()
        later.join()
        assert started == [{cpu}], "a thread started meanwhile runs elsewhere"
    finally:
        one_cpu.widen()
    assert not one_cpu.narrowed
    assert set(every_thread().values()) == {allowed}


def test_where_one_cpu_is_allowed_nothing_changes():
    before = allowed_now()
    one_cpu = OneCpu(allowed=[0])
    one_cpu.narrow()
    assert not one_cpu.possible and not one_cpu.narrowed
    assert allowed_now() == before


def test_current_cpu_is_one_this_thread_may_run_on():
    require_two_cpus()
    assert current_cpu() in allowed_now()


class TakesAll:
    def __init__(self):
        self.received = b""

    def send(self, data):
        self.received += bytes(data)
        return len(data)


class Counting(OneCpu):
    """A OneCpu that only notes what it would do, on any system."""

    def __init__(self):
        super().__init__(allowed=[0, 1])
        self.possible = True

    def narrow(self):
        self.narrowed = True

    def widen(self):
        self.narrowed = False


def test_frames_at_a_flood_rate_narrow_and_calm_widens():
    one_cpu = Counting()
    rate, window = one_cpu_module.FLOOD_RATE, one_cpu_module.FLOOD_WINDOW
    now = 100.0
    one_cpu.count(5, now)  # the first window, from the start: a trickle
    now += 2 * window
    one_cpu.count(int(rate * 2 * window / 10), now)  # a class pasting at once: a tenth of a flood
    assert not one_cpu.narrowed
    one_cpu.count(int(rate * 3 * window), now + window / 2)
    assert not one_cpu.narrowed, "judged before its window ended"
    now += 2 * window
    one_cpu.count(0, now)  # the window ends: one and a half times a flood's rate
    assert one_cpu.narrowed
    calm = one_cpu_module.CALM_SECONDS
    one_cpu.count(1, now + calm / 2)  # quiet again
    one_cpu.calm(now + calm / 2)
    assert one_cpu.narrowed
    one_cpu.calm(now + calm + window)
    assert not one_cpu.narrowed


def flooded_fanout(monkeypatch):
    """A Fanout with a member, whose OneCpu counts a flood from 100 frames a second."""
    monkeypatch.setattr(one_cpu_module, "FLOOD_RATE", 100)
    monkeypatch.setattr(one_cpu_module, "FLOOD_WINDOW", 0.05)
    one_cpu = OneCpu()
    fanout = Fanout(Stream(), one_cpu)
    amy = TakesAll()
    member = Outbox(amy, fanout, lambda: None)
    member.follow(fanout.stream.end)
    fanout.set_members((member,))
    return fanout, one_cpu, amy


def flood(fanout, one_cpu):
    """Send 20 frames in a round (once per check): more than 100 a second."""
    def more():
        for number in range(20):
            fanout.stream.append(b"flood %d\n" % number)
        fanout.deliver()
        return one_cpu.narrowed
    wait_until(more, what="a flood did not keep the threads to one CPU")


def test_the_fanout_narrows_while_the_room_floods_and_widens_once_calm(monkeypatch):
    require_two_cpus()
    monkeypatch.setattr(fanout_module, "CALM_SECONDS", 0.2)
    monkeypatch.setattr(one_cpu_module, "CALM_SECONDS", 0.2)
    allowed = allowed_now()
    fanout, one_cpu, amy = flooded_fanout(monkeypatch)
    try:
        fanout.stream.append(b"one\n")
        fanout.deliver()
        wait_until(lambda: amy.received == b"one\n")
        assert not one_cpu.narrowed
        flood(fanout, one_cpu)
        assert len(set(every_thread().values())) == 1
        wait_until(lambda: not one_cpu.narrowed, what="the calm room stayed on one CPU")
        assert set(every_thread().values()) == {allowed}
        assert amy.received.endswith(b"flood 19\n")
    finally:
        fanout.stop()
        one_cpu.widen()


def test_a_fanout_stopped_while_narrowed_lets_the_threads_go(monkeypatch):
    require_two_cpus()
    allowed = allowed_now()
    fanout, one_cpu, _ = flooded_fanout(monkeypatch)
    try:
        flood(fanout, one_cpu)
    finally:
        fanout.stop()
    assert not one_cpu.narrowed and set(every_thread().values()) == {allowed}
