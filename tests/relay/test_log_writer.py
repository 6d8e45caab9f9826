"""The log writer: a slow, blocked or full disk never delays the room, and loses nothing
that fits in memory."""

import errno
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

from fake_console import FakeConsole
from helpers import WAIT, RunningServer, require, take_unsaved_file, wait_until
from test_outbox import round_done
from test_room import Member
from chat_app.relay import log_writer
from chat_app.relay.log_writer import LogWriter
from chat_app.relay.fanout import Fanout
from chat_app.relay.room import Room


class StandInLog:
    """A HistoryLog whose writes wait until `opened` is set, or fail as told."""

    path = "stand-in.log"
    max_size = 0  # one file, never renamed
    snapshot = None  # the room sets it: the snapshot line each file starts with
    snapshot_due = True

    def __init__(self):
        self.opened = threading.Event()
        self.opened.set()
        self.writing = threading.Event()  # set once a write is under way
        self.failures = []  # OSErrors the next writes return, one each
        self.lines = []
        self.snapshots = []  # how many lines were written when a write began with a snapshot
        self.closed = False

    def write(self, lines):
        self.writing.set()
        self.opened.wait(WAIT)
        if self.failures:
            return 0, self.failures.pop(0)
        if self.snapshot_due:
            self.snapshots.append(len(self.lines))
            self.snapshot_due = False
        self.lines.extend(lines)
        return len(lines), None

    def close(self):
        self.closed = True


def said():
    """Return a console for a LogWriter, and the list of what it was told (info and error)."""
    console = FakeConsole()
    return console, console.lines


def blocked_writer(first_line):
    """Return (log, writer, warnings): a LogWriter stuck writing `first_line`."""
    log = StandInLog()
    log.opened.clear()
    console, warnings = said()
    writer = LogWriter(log, console)
    writer.put(first_line)
    wait_until(log.writing.is_set, what="the first write to start")
    return log, writer, warnings


def test_while_the_log_keeps_up_a_relayed_line_is_written_before_it_is_sent(monkeypatch):
    monkeypatch.setattr(log_writer, "KEEP_UP_SECONDS", WAIT)  # a busy machine is no stall
    log = StandInLog()
    writer = LogWriter(log)
    for number in range(1, 51):
        queued = writer.put(b"%d\n" % number)
        queued.wait_released()
        assert log.lines[-1:] == [b"%d\n" % number]  # in the file before anyone is sent it
    writer.close()


def test_a_stalled_log_is_not_waited_for(monkeypatch):
    log = StandInLog()
    log.opened.clear()
    writer = LogWriter(log)
    writer.put(b"1\n").wait_released()  # the one wait: at most KEEP_UP_SECONDS
    assert log.writing.is_set() and log.lines == []
    wait_until(lambda: writer.put(b"2\n") is None,
               what="a write stuck for KEEP_UP_SECONDS to count as stalled")
    log.opened.set()
    writer.close()


def test_lines_are_queued_while_a_write_blocks_and_written_in_order_after(monkeypatch):
    monkeypatch.setattr(log_writer, "KEEP_UP_SECONDS", 0)  # a write under way is a stall
    log, writer, warnings = blocked_writer(b"1\n")
    for number in range(2, 101):  # each returns at once, though the disk does not answer
        assert writer.put(b"%d\n" % number) is None
    assert log.lines == [] and writer.pending() == 100
    log.opened.set()
    wait_until(lambda: writer.pending() == 0, what="the queue to be written")
    writer.close()
    assert log.lines == [b"%d\n" % number for number in range(1, 101)]
    assert log.closed and warnings == []


def test_past_its_memory_the_queue_leaves_lines_out_and_says_so(monkeypatch):
    monkeypatch.setattr(log_writer, "MAX_PENDING_BYTES", 30)
    monkeypatch.setattr(log_writer, "KEEP_UP_SECONDS", 0)
    log, writer, warnings = blocked_writer(b"first line\n")  # 11 bytes
    assert writer.put(b"second line\n") is None  # 23 bytes queued; the log is stalled
    first = writer.put(b"third line\n").warning  # would be 34
    assert first == log_writer.TOO_FAR_BEHIND % log.path
    assert "chat goes on" in first and "Free some disk space" in first
    assert writer.put(b"fourth line\n") is None  # said once
    log.opened.set()
    wait_until(lambda: warnings, what="the count of lines left out")
    assert warnings == ["2 room event(s) did not fit in memory while the log file stand-in.log "
                        "was behind: they are missing from it (everyone received them)."]
    writer.put(b"fifth\n")  # kept again once the queue is written
    writer.close()
    assert log.lines == [b"first line\n", b"second line\n", b"fifth\n"]
    assert log.snapshots == [0, 1]  # the log's record of the room is whole again from there


def test_a_frame_left_out_of_the_log_goes_with_the_line_before_it(monkeypatch):
    monkeypatch.setattr(log_writer, "KEEP_UP_SECONDS", WAIT)  # a busy machine is no stall
    released = []
    log = StandInLog()
    log.opened.clear()
    writer = LogWriter(log)
    writer.on_release = released.append
    writer.put(b"1\n", 10)
    wait_until(log.writing.is_set, what="the first write to start")
    queued = writer.skip(20)
    assert released == [] and queued is not None  # not before the line before it
    log.opened.set()
    queued.wait_released()
    assert released == [20]
    assert writer.skip(30) is None and released == [20, 30]  # nothing before it: at once
    writer.close()
    assert log.lines == [b"1\n"]


def test_a_failed_write_is_said_once_and_tried_again(monkeypatch):
    monkeypatch.setattr(log_writer, "RETRY_SECONDS", 0.01)
    log = StandInLog()
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    log.failures = [full] * 5
    console = FakeConsole()
    warnings, reports = console.errors, console.infos
    writer = LogWriter(log, console)
    writer.put(b"kept\n")
    wait_until(lambda: log.lines, what="the write to succeed after five failures")
    writer.close()
    assert warnings == [
        "cannot write to the log file stand-in.log: the disk is full. Chat goes on; the room's "
        "events are kept in memory (up to 16M) and written to the log as soon as it can be "
        "written again. Free some space on that disk (delete or move big files)."]
    assert reports == ["the log file stand-in.log can be written again: the room's events "
                       "kept in memory meanwhile are in it now"]
    assert log.lines == [b"kept\n"]


def test_close_says_what_could_not_be_written():
    log = StandInLog()
    log.failures = [OSError(errno.EIO, os.strerror(errno.EIO))] * 1000
    console, warnings = said()
    writer = LogWriter(log, console)
    writer.put(b"a\n")
    writer.put(b"b\n")
    wait_until(lambda: warnings, what="the failure to be said")
    writer.close()
    saved, lines = take_unsaved_file("stand-in.log")
    assert warnings[1] == ("2 room event(s) could not be written to the log file stand-in.log "
                           "before the server stopped (the last write failed: Input/output "
                           "error). They were saved in %s: once the log's disk has space, add "
                           "them to the log with 'cat %s >> stand-in.log' so that a restart "
                           "reloads them." % (saved, saved))
    assert lines == [b"a\n", b"b\n"]
    assert log.closed


def test_close_waits_a_bounded_time_for_a_write_that_does_not_return():
    log, writer, warnings = blocked_writer(b"a\n")
    writer.put(b"b\n")
    writer.close(timeout=0.05)
    saved, lines = take_unsaved_file("stand-in.log")
    assert lines == [b"a\n", b"b\n"]
    assert warnings == ["2 room event(s) could not be written to the log file stand-in.log "
                        "before the server stopped (a write did not finish within 0.05 s). "
                        "They were saved in %s: once the log's disk has space, add them to "
                        "the log with 'cat %s >> stand-in.log' so that a restart reloads "
                        "them." % (saved, saved)]
    assert not log.closed  # the stuck thread still holds it
    log.opened.set()


def test_a_line_is_released_once_written_or_once_its_write_fails():
    log = StandInLog()
    released = []
    writer = LogWriter(log)
    writer.on_release = released.append
    writer.put(b"1\n", 1)
    wait_until(lambda: released == [1], what="the written line to be released")
    log.failures = [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))] * 1000
    writer.put(b"2\n", 2)
    wait_until(lambda: released == [1, 2], what="the line whose write failed to be released")
    assert log.lines == [b"1\n"]  # sent to the room, though not (yet) in the log
    log.failures = []
    wait_until(lambda: log.lines == [b"1\n", b"2\n"], what="the retry to write it")
    writer.close()


# --- the room with a log that blocks, in-process -----------------------------

@pytest.fixture
def logged_room():
    """Return (room, fanout, stand-in log, amy, bob): a room whose log can block."""
    room = Room(10)
    fanout = Fanout(room.stream)
    room.attach_fanout(fanout)
    log = StandInLog()
    room.attach_log(LogWriter(log))
    amy = Member(room, fanout, "amy")
    bob = Member(room, fanout, "bob")
    assert amy.expect("joined")["name"] == "bob"
    assert bob.expect("welcome")["users"] == ["amy", "bob"]
    members = (amy, bob)
    try:
        yield room, fanout, log, amy, bob
    finally:
        log.opened.set()
        for member in members:
            member.close()
        room.close_log()
        fanout.stop()


def test_a_message_is_sent_to_no_one_before_its_line_is_in_the_log(logged_room, monkeypatch):
    monkeypatch.setattr(log_writer, "KEEP_UP_SECONDS", WAIT)  # a busy machine is no stall
    room, fanout, log, amy, bob = logged_room
    log.opened.clear()
    log.writing.clear()
    relay = threading.Thread(target=room.say, args=(amy.peer, "hello"), daemon=True)
    relay.start()
    wait_until(log.writing.is_set, what="the message's line to be written")
    round_done(fanout)  # the fanout is awake, and sends nothing held
    assert amy.nothing_arrived() and bob.nothing_arrived()
    log.opened.set()
    assert bob.expect("message")["text"] == "hello"
    assert amy.expect("message")["text"] == "hello"
    assert json.loads(log.lines[-1])["text"] == "hello"
    relay.join(WAIT)


def test_a_blocked_log_holds_a_message_only_until_it_is_given_up_on(logged_room):
    room, fanout, log, amy, bob = logged_room
    log.opened.clear()  # blocked: every write waits
    started = time.monotonic()
    room.say(amy.peer, "first")  # waits KEEP_UP_SECONDS at most
    assert bob.expect("message")["text"] == "first"
    room.say(amy.peer, "second")  # the log is stalled: not waited for at all
    assert bob.expect("message")["text"] == "second"
    assert time.monotonic() - started < 1.0  # KEEP_UP_SECONDS twice, not the blocked write
    assert log.lines[-1:] != [b"second"]  # both still wait for the disk
    log.opened.set()
    wait_until(lambda: [json.loads(line).get("text") for line in log.lines[-2:]]
               == ["first", "second"], what="the log to catch up, in order")


# --- the server with a blocked log -------------------------------------------

def log_messages(data):
    """Return the texts of the room messages in log bytes (every line must be whole)."""
    assert data.endswith(b"\n") or not data, data[-80:]
    frames = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    return [frame["text"] for frame in frames if frame["type"] == "message"]


def test_past_its_share_a_machine_is_still_relayed_but_no_longer_logged(monkeypatch):
    monkeypatch.setattr(log_writer, "KEEP_UP_SECONDS", WAIT)  # a busy machine is no stall
    console = FakeConsole()
    warnings = console.lines
    room = Room(10, console=console)
    fanout = Fanout(room.stream)
    room.attach_fanout(fanout)
    log = StandInLog()
    log.max_size = 600  # one file's worth: each address's share of the log
    room.attach_log(LogWriter(log, console))
    eve = Member(room, fanout, "eve", "198.18.0.2")
    amy = Member(room, fanout, "amy", "198.18.0.3")
    lee = Member(room, fanout, "lee")  # this computer's: never counted
    members = (eve, amy, lee)
    try:
        for number in range(30):
            room.say(eve.peer, "flood %d" % number)
            assert amy.expect("message")["text"] == "flood %d" % number  # relayed, all of them
        room.say(amy.peer, "the lesson")
        room.say(lee.peer, "the teacher")
        assert [amy.expect("message")["text"] for _ in range(2)] == ["the lesson", "the teacher"]
        room.close_all("stop")
    finally:
        room.close_log()
        for member in members:
            member.close()
        fanout.stop()
    records = [json.loads(line) for line in log.lines]
    texts = [record.get("text") for record in records]
    assert "the lesson" in texts and "the teacher" in texts and "flood 0" in texts
    assert "flood 29" not in texts
    from_eve = [len(line) for line, record in zip(log.lines, records)
                if "eve" in (record.get("from"), record.get("name")) and record["type"] != "stopped"]
    assert sum(from_eve) <= 600
    [cut] = [record for record in records if record["type"] == "log_cut"]
    [summary] = [record for record in records if record["type"] == "log_left_out"]
    assert cut["address"] == summary["address"] == "198.18.0.2"
    assert summary["records"] == 30 - (len(from_eve) - 1)  # all but the join and those logged
    assert [record["type"] for record in records[-2:]] == ["log_left_out", "stopped"]
    assert any(warning.startswith("the log keeps nothing more from 198.18.0.2")
               for warning in warnings)


@pytest.mark.system
def test_a_blocked_log_never_delays_delivery(make_server, tmp_path):
    """--log on a pipe nobody reads: writes block once its 64 KiB buffer is full."""
    fifo = str(tmp_path / "room.fifo")
    os.mkfifo(fifo)
    server = make_server("--log", fifo, "--rate-limit", "0")
    amy, bob = server.client(), server.client()
    amy.join("amy")
    bob.join("bob")
    texts = ["%03d " % number + "x" * 3996 for number in range(60)]  # 240 KB, 4 pipes' worth
    for text in texts:
        amy.send({"type": "say", "text": text})
    assert [bob.expect("message")["text"] for _ in texts] == texts  # in order, all of them
    log = server.room._log
    assert log.pending() > 0  # the log writer is still stuck in write()
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    received = bytearray()

    def read_all():
        try:
            received.extend(os.read(reader, 1 << 20))
        except BlockingIOError:
            pass
        return (log.pending() == 0 and received.endswith(b"\n")
                and received.count(b'"type":"message"') == len(texts))

    try:
        wait_until(read_all, what="the log to take every line once the pipe is read")
    finally:
        os.close(reader)
    assert log_messages(bytes(received)) == texts


# --- a full disk --------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs, mounted for the test and unmounted after it."""
    require(os.geteuid() == 0, "root, to mount a small tmpfs as a full disk")
    require(shutil.which("mount") and shutil.which("umount"), "mount and umount")
    disk = str(tmp_path / "disk")
    os.mkdir(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk], check=True,
                   timeout=WAIT)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", disk], check=True, timeout=WAIT)


def fill(disk, leave):
    """Fill the disk, then free `leave` bytes; return the filler's path."""
    filler = os.path.join(disk, "filler")
    with open(filler, "wb", buffering=0) as handle:
        while True:
            try:
                handle.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        handle.truncate(handle.tell() - leave)
    return filler


@pytest.mark.system
def test_a_full_disk_loses_no_message_and_leaves_no_broken_line(small_disk, monkeypatch):
    monkeypatch.setattr(log_writer, "RETRY_SECONDS", 0.1)
    path = os.path.join(small_disk, "chat.log")
    texts = ["%02d " % number + "z" * 2997 for number in range(12)]
    server = RunningServer("--log", path, "--rate-limit", "0")
    try:
        amy = server.client()
        amy.join("amy")
        filler = fill(small_disk, leave=8192)  # room for two messages and part of a third
        for text in texts[:-1]:
            amy.send({"type": "say", "text": text})
        assert [amy.expect("message")["text"] for _ in texts[:-1]] == texts[:-1]
        server.err.wait_for("cannot write to the log file %s: the disk is full" % path)

        def logged():
            with open(path, "rb") as handle:
                return log_messages(handle.read())  # whole lines only

        wait_until(lambda: len(logged()) + server.room._log.pending() == len(texts) - 1,
                   what="the messages the disk could not take to wait in memory")
        assert 0 < len(logged()) < len(texts) - 1
        assert logged() == texts[:len(logged())]
        os.remove(filler)
        server.out.wait_for("the log file %s can be written again" % path)
        amy.send({"type": "say", "text": texts[-1]})
        amy.expect("message", text=texts[-1])
    finally:
        server.close()
    assert server.err.text.count("the disk is full") == 1
    with open(path, "rb") as handle:
        assert log_messages(handle.read()) == texts
    again = RunningServer("--log", path, "--history", "100")
    try:
        history = again.client().join("bob")["history"]
        assert [frame["text"] for frame in history] == texts
        assert "unreadable" not in again.err.text and "cut off" not in again.err.text
    finally:
        again.close()


@pytest.mark.system
def test_a_stop_while_the_disk_is_full_says_what_the_log_misses(make_server):
    require(os.path.exists("/dev/full"), "/dev/full, to simulate a full disk")
    server = make_server("--log", "/dev/full")
    amy = server.client()
    amy.join("amy")
    amy.send({"type": "say", "text": "relayed, not logged"})
    amy.expect("message")
    server.err.wait_for("the disk is full")
    server.close()
    saved, lines = take_unsaved_file("full")
    assert ("3 room event(s) could not be written to the log file /dev/full before the server "
            "stopped (the last write failed: No space left on device). They were saved in %s"
            % saved in server.err.text)
    assert [json.loads(line)["type"] for line in lines] == ["joined", "message", "stopped"]
