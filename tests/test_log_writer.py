"""The log writer: a slow, blocked or full disk never delays the room, and loses nothing
that fits in memory."""

import errno
import json
import os
import shutil
import subprocess
import threading

import pytest

from helpers import WAIT, RunningServer, require, wait_until
from chat_app import log_writer
from chat_app.log_writer import LogWriter


class StandInLog:
    """A HistoryLog whose writes wait until `opened` is set, or fail as told."""

    path = "stand-in.log"

    def __init__(self):
        self.opened = threading.Event()
        self.opened.set()
        self.writing = threading.Event()  # set once a write is under way
        self.failures = []  # OSErrors the next writes return, one each
        self.lines = []
        self.closed = False

    def write(self, lines):
        self.writing.set()
        self.opened.wait(WAIT)
        if self.failures:
            return 0, self.failures.pop(0)
        self.lines.extend(lines)
        return len(lines), None

    def close(self):
        self.closed = True


def said():
    """Return a list the console's lines go into, and the function that adds to it."""
    lines = []
    return lines, lines.append


def blocked_writer(first_line):
    """Return (log, writer, warnings): a LogWriter stuck writing `first_line`."""
    log = StandInLog()
    log.opened.clear()
    warnings, warn = said()
    writer = LogWriter(log, warn, warn)
    writer.put(first_line)
    wait_until(log.writing.is_set, what="the first write to start")
    return log, writer, warnings


def test_while_the_log_keeps_up_a_relayed_line_is_written_before_it_is_sent(monkeypatch):
    monkeypatch.setattr(log_writer, "KEEP_UP_SECONDS", WAIT)  # a busy machine is no stall
    log = StandInLog()
    writer = LogWriter(log, None, None)
    for number in range(1, 51):
        queued = writer.put(b"%d\n" % number)
        queued.wait_released()
        assert log.lines[-1:] == [b"%d\n" % number]  # in the file before anyone is sent it
    writer.close()


def test_a_stalled_log_is_not_waited_for(monkeypatch):
    log = StandInLog()
    log.opened.clear()
    writer = LogWriter(log, None, None)
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


def test_a_failed_write_is_said_once_and_tried_again(monkeypatch):
    monkeypatch.setattr(log_writer, "RETRY_SECONDS", 0.01)
    log = StandInLog()
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    log.failures = [full] * 5
    warnings, warn = said()
    reports, report = said()
    writer = LogWriter(log, warn, report)
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
    warnings, warn = said()
    writer = LogWriter(log, warn, warn)
    writer.put(b"a\n")
    writer.put(b"b\n")
    wait_until(lambda: warnings, what="the failure to be said")
    writer.close()
    assert warnings[1] == ("2 room event(s) could not be written to the log file stand-in.log "
                           "before the server stopped (the last write failed: Input/output "
                           "error); they are missing from it.")
    assert log.closed


def test_close_waits_a_bounded_time_for_a_write_that_does_not_return():
    log, writer, warnings = blocked_writer(b"a\n")
    writer.put(b"b\n")
    writer.close(timeout=0.05)
    assert warnings == ["2 room event(s) could not be written to the log file stand-in.log "
                        "before the server stopped (a write did not finish within 0.05 s); "
                        "they are missing from it."]
    assert not log.closed  # the stuck thread still holds it
    log.opened.set()


# --- the server with a blocked log -------------------------------------------

def log_messages(data):
    """Return the texts of the room messages in log bytes (every line must be whole)."""
    assert data.endswith(b"\n") or not data, data[-80:]
    frames = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    return [frame["text"] for frame in frames if frame["type"] == "message"]


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


def test_a_stop_while_the_disk_is_full_says_what_the_log_misses(make_server):
    require(os.path.exists("/dev/full"), "/dev/full, to simulate a full disk")
    server = make_server("--log", "/dev/full")
    amy = server.client()
    amy.join("amy")
    amy.send({"type": "say", "text": "relayed, not logged"})
    amy.expect("message")
    server.err.wait_for("the disk is full")
    server.close()
    assert ("2 room event(s) could not be written to the log file /dev/full before the server "
            "stopped (the last write failed: No space left on device); they are missing from "
            "it." in server.err.text)
