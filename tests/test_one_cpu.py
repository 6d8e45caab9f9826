"""The server's threads kept on one CPU while the room floods, and let go once it is calm."""

import os
import threading

import pytest

from helpers import require, wait_until
from chat_app import outbox
from chat_app.one_cpu import OneCpu, current_cpu
from chat_app.outbox import BUSY_ROUND_FRAMES, Outbox, Stream, Writer


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


def test_the_writer_narrows_while_rounds_are_full_and_widens_once_calm(monkeypatch):
    require_two_cpus()
    monkeypatch.setattr(outbox, "CALM_SECONDS", 0.2)
    allowed = allowed_now()
    one_cpu = OneCpu()
    writer = Writer(Stream(), one_cpu)
    amy = TakesAll()
    member = Outbox(amy, writer, lambda: None)
    member.follow(writer.stream.end)
    writer.set_members((member,))
    try:
        writer.stream.append(b"one\n")
        writer.deliver()
        writer.stream.append(b"two\n")  # a round of its own each: a classroom's pace
        writer.deliver()
        wait_until(lambda: amy.received == b"one\ntwo\n")
        assert not one_cpu.narrowed
        flood = [b"line %d\n" % number for number in range(BUSY_ROUND_FRAMES)]
        for data in flood:  # all in the next round: a full one
            writer.stream.append(data)
        writer.wake()
        wait_until(lambda: one_cpu.narrowed, what="a full round did not narrow")
        assert amy.received.endswith(b"".join(flood))
        assert len(set(every_thread().values())) == 1
        wait_until(lambda: not one_cpu.narrowed, what="the calm room stayed on one CPU")
        assert set(every_thread().values()) == {allowed}
    finally:
        writer.stop()
        one_cpu.widen()


def test_a_writer_stopped_while_narrowed_lets_the_threads_go():
    require_two_cpus()
    allowed = allowed_now()
    one_cpu = OneCpu()
    writer = Writer(Stream(), one_cpu)
    member = Outbox(TakesAll(), writer, lambda: None)
    member.follow(writer.stream.end)
    writer.set_members((member,))
    for number in range(BUSY_ROUND_FRAMES):
        writer.stream.append(b"line %d\n" % number)
    writer.wake()
    try:
        wait_until(lambda: one_cpu.narrowed, what="a full round did not narrow")
    finally:
        writer.stop()
    assert not one_cpu.narrowed and set(every_thread().values()) == {allowed}
