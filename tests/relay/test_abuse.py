"""Attacks on a real server process on 127.0.0.1, each bounded in count and time.

Every test ends with the same checks: the server still answers, the
well-behaved clients received every message in order, and the server's
threads, file descriptors and memory are back near where they started.
Each prints its figures (run with -s to see them; docs/security.md has them).
"""

import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

import pytest

from helpers import WAIT, Client, ServerProcess, require, wait_until

pytestmark = pytest.mark.system  # real servers, processes or sockets

# How far the server's resources may stay above where they started.  The
# allocator keeps memory it once needed (a high-water mark), so memory is
# checked twice: bounded after the first half of an attack, and not growing
# in the second.
THREAD_SLACK = 3
FD_SLACK = 3
RSS_SLACK_MIB = 32
RSS_GROWTH_MIB = 6


def proc_status(pid):
    """Return (threads, open fds, RSS in MiB) of a process, from /proc."""
    fields = {}
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return (int(fields["Threads"][0]), len(os.listdir("/proc/%d/fd" % pid)),
            int(fields["VmRSS"][0]) / 1024.0)


def settle(pid, baseline, timeout=WAIT * 2):
    """Wait for the server to free what the attack cost; return what it holds then."""
    held = [proc_status(pid)]

    def freed():
        held[0] = proc_status(pid)
        return held[0][0] <= baseline[0] + THREAD_SLACK and held[0][1] <= baseline[1] + FD_SLACK

    wait_until(freed, timeout, lambda: "the server to free its threads and descriptors "
               "(baseline %r, now %r)" % (baseline, held[0]), interval=0.05)
    return held[0]


@pytest.fixture
def served(pyz, tmp_path):
    require_proc()
    started = []

    def start(*args):
        server = ServerProcess(sys.executable, pyz, "--rate-limit", "0", *args,
                               cwd=str(tmp_path))
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def require_proc():
    require(os.path.isdir("/proc/self/fd"),
            "/proc, to count the server's threads and descriptors (Linux)")


class Conversation:
    """A sender and listeners that check every message arrives, in order."""

    def __init__(self, port, count, listeners=2, pause=0.002):
        self.port, self.count, self.pause = port, count, pause
        self.listeners = [Client(port) for _ in range(listeners)]
        for number, listener in enumerate(self.listeners):
            listener.join("listener%d" % number)
        self.sender = Client(port)
        self.sender.join("sender")
        self.received = [[] for _ in self.listeners]
        self.threads = [threading.Thread(target=self._listen, args=(n,), daemon=True)
                        for n in range(listeners)]
        self.threads.append(threading.Thread(target=self._send, daemon=True))

    def start(self):
        for thread in self.threads:
            thread.start()

    def _send(self):
        for number in range(self.count):
            self.sender.send({"type": "say", "text": "%d in order" % number})
            time.sleep(self.pause)

    def _listen(self, number):
        listener, got = self.listeners[number], self.received[number]
        deadline = time.monotonic() + 60
        while len(got) < self.count and time.monotonic() < deadline:
            frame = listener.frame(timeout=30)
            if frame["type"] == "message" and frame["from"] == "sender":
                got.append(int(frame["text"].split()[0]))
            elif frame["type"] == "ping":
                listener.send({"type": "pong"})

    def check(self):
        for thread in self.threads:
            thread.join(60)
        for got in self.received:
            assert got == list(range(self.count)), \
                "a well-behaved client lost or reordered messages: %r" % got[:20]
        for client in self.listeners + [self.sender]:
            client.close()


def still_answers(port):
    probe = Client(port)
    assert probe.join("probe%d" % random.randrange(10 ** 6))["type"] == "welcome"
    probe.close()


# --- fuzzing --------------------------------------------------------------

def fuzz_line(rng):
    """Return one hostile line (bytes), of a kind chosen by rng."""
    good = json.dumps({"type": "say", "text": "hello", "to": "listener0"}).encode()
    kind = rng.randrange(10)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    if kind == 1:
        return good[:rng.randrange(len(good))]
    if kind == 2:
        mutated = bytearray(good)
        for _ in range(rng.randrange(1, 5)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        return bytes(mutated)
    if kind == 3:
        value = rng.choice([None, 1, -1.5, [], {}, True, "x" * 10, [1, [2]], {"a": 1}])
        field = rng.choice(["type", "name", "text", "to", "password", "token"])
        frame = {"type": rng.choice(["join", "say", "ping", "leave", "pong", "?"])}
        frame[field] = value
        return json.dumps(frame).encode()
    if kind == 4:
        depth = rng.randrange(10, 5000)
        return b'{"type":"say","text":' + b"[" * depth + b"]" * depth + b"}"
    if kind == 5:
        return b'{"type":"ping","token":%s}' % rng.choice([b"1" + b"0" * 400, b"-" + b"9" * 5000,
                                                          b"18446744073709551616", b"1e999"])
    if kind == 6:  # overlong and invalid UTF-8, lone surrogates
        return b'{"type":"say","text":"' + rng.choice(
            [b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xff", b"\\ud800"]) + b'"}'
    if kind == 7:
        return good.replace(b"hello", b"he\x00llo\x00")
    if kind == 8:
        return b'{"type":"join","name":"' + bytes([rng.randrange(32, 127)]) * \
            rng.randrange(1, 100) + b'"}'
    return b"x" * rng.randrange(60000, 70000)  # around the 64 KiB frame limit


def fuzz_connection(port, rng, lines, errors):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
            if rng.random() < 0.5:
                sock.sendall(b'{"type":"join","name":"fz%d"}\n' % rng.randrange(10 ** 9))
            for _ in range(lines):
                sock.sendall(fuzz_line(rng) + b"\n")
            if rng.random() < 0.3:  # vanish abruptly, with a reset
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # the server may close a connection that broke the rules: that is its answer
    except Exception as error:  # noqa: BLE001 -- reported to the test thread
        errors.append(error)


def test_seeded_fuzz_from_many_connections_while_others_chat(served):
    seed = int(os.environ.get("CHAT_FUZZ_SEED", random.randrange(10 ** 9)))
    rng = random.Random(seed)
    server = served()
    pid = server.process.pid
    baseline = proc_status(pid)
    chat = Conversation(server.port, 300)
    chat.start()
    connections, lines_each, errors = 400, 5, []
    halves = []
    for half in range(2):
        for batch in range(connections // 2 // 20):
            workers = [threading.Thread(target=fuzz_connection,
                                        args=(server.port, random.Random(rng.random()),
                                              lines_each, errors))
                       for _ in range(20)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(WAIT * 2)
        halves.append(settle(pid, baseline))
    chat.check()
    still_answers(server.port)
    after = settle(pid, baseline)
    print("\nfuzz seed %d: %d connections, %d hostile lines; threads %d->%d, fds %d->%d, "
          "RSS %.1f->%.1f->%.1f MiB" % (seed, connections, connections * lines_each,
                                        baseline[0], after[0], baseline[1], after[1],
                                        baseline[2], halves[0][2], halves[1][2]))
    assert not errors, "seed %d: %r" % (seed, errors[:3])
    assert server.process.poll() is None, "seed %d: the server died" % seed
    assert "unexpected error" not in server.err, "seed %d:\n%s" % (seed, server.err)
    assert after[0] <= baseline[0] + THREAD_SLACK, "seed %d: threads left over" % seed
    assert after[1] <= baseline[1] + FD_SLACK, "seed %d: descriptors left over" % seed
    assert halves[0][2] <= baseline[2] + RSS_SLACK_MIB, "seed %d: memory unbounded" % seed
    assert halves[1][2] <= halves[0][2] + RSS_GROWTH_MIB, "seed %d: memory grows" % seed


# --- slowloris ------------------------------------------------------------

def test_slowloris_connections_are_dropped_and_others_served(served):
    server = served("--join-timeout", "2")
    pid = server.process.pid
    baseline = proc_status(pid)
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
    dribblers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]
    chat = Conversation(server.port, 200, pause=0.01)
    chat.start()
    started = time.monotonic()
    while time.monotonic() - started < 3:  # a byte a second, never a whole line
        for sock in dribblers:
            try:
                sock.send(b"{")
            except OSError:
                pass  # already dropped
        time.sleep(1)
    chat.check()
    dropped = 0
    for sock in silent + dribblers:
        sock.settimeout(WAIT)
        try:
            while sock.recv(65536):
                pass
            dropped += 1
        except OSError:
            dropped += 1  # reset: dropped too
        sock.close()
    still_answers(server.port)
    after = settle(pid, baseline)
    print("\nslowloris: %d silent + %d dribbling connections, %d dropped after the join "
          "timeout; threads %d->%d, fds %d->%d" % (len(silent), len(dribblers), dropped,
                                                  baseline[0], after[0], baseline[1], after[1]))
    assert dropped == len(silent) + len(dribblers)
    assert after[0] <= baseline[0] + THREAD_SLACK and after[1] <= baseline[1] + FD_SLACK


# --- churn ----------------------------------------------------------------

def test_thousands_of_connect_join_disconnect_cycles_leave_nothing_behind(served):
    server = served()
    pid = server.process.pid
    chat = Conversation(server.port, 300, pause=0.01)
    baseline = proc_status(pid)
    chat.start()
    cycles, resets = 2000, 0
    deadline = time.monotonic() + 120
    for number in range(cycles):
        assert time.monotonic() < deadline, "churn took too long"
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        frame = b'{"type":"join","name":"churn%d"}\n' % number
        if number % 3 == 0:  # reset in the middle of the frame
            sock.sendall(frame[:len(frame) // 2])
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            resets += 1
        else:
            sock.sendall(frame)
            if number % 3 == 1:
                sock.recv(1)  # wait until joined, then hang up without leaving
        sock.close()
    chat.check()
    still_answers(server.port)
    after = settle(pid, baseline)
    print("\nchurn: %d cycles (%d reset mid-frame); threads %d->%d, fds %d->%d, "
          "RSS %.1f->%.1f MiB" % (cycles, resets, baseline[0], after[0], baseline[1], after[1],
                                  baseline[2], after[2]))
    assert after[0] <= baseline[0] + THREAD_SLACK + 3  # the conversation's own 3 connections
    assert after[1] <= baseline[1] + FD_SLACK + 3
    assert after[2] <= baseline[2] + RSS_SLACK_MIB


# --- crash safety ---------------------------------------------------------

def test_a_killed_server_reloads_every_message_anyone_received(pyz, tmp_path):
    require_proc()
    log = str(tmp_path / "chat.log")
    server = ServerProcess(sys.executable, pyz, "--rate-limit", "0", "--log", log,
                           "--history", "10000", cwd=str(tmp_path))
    try:
        listener, sender = Client(server.port), Client(server.port)
        listener.join("listener")
        sender.join("sender")
        listener.expect("joined", name="sender")
        received = []
        sent = 0

        def listen():
            while True:
                try:
                    frame = listener.frame(timeout=WAIT)
                except (AssertionError, OSError):
                    return
                if frame is None or frame.get("type") == "bye":
                    return
                if frame.get("type") == "message":
                    received.append(frame["id"])

        reader = threading.Thread(target=listen, daemon=True)
        reader.start()
        def send():
            nonlocal sent
            for number in range(5000):
                try:
                    sender.send({"type": "say", "text": "message %d" % number})
                except OSError:
                    return  # the server is gone
                sent += 1
                time.sleep(0.0005)

        talker = threading.Thread(target=send, daemon=True)
        talker.start()
        wait_until(lambda: len(received) >= 300, WAIT * 2, "300 messages to arrive")
        os.kill(server.process.pid, signal.SIGKILL)  # mid-conversation
        talker.join(WAIT)
        server.process.wait(WAIT)
        reader.join(WAIT * 2)
    finally:
        server.kill()
    with open(log, "ab") as handle:  # as if the kill had come in the middle of a write
        handle.write(b'{"type":"message","id":999999,"from":"sender","te')
    again = ServerProcess(sys.executable, pyz, "--log", log, "--history", "10000",
                          cwd=str(tmp_path))
    try:
        history = Client(again.port).join("after")["history"]
        reloaded = {frame["id"] for frame in history}
        missing = [number for number in received if number not in reloaded]
        print("\ncrash: %d messages sent, %d received before SIGKILL, %d reloaded, %d missing"
              % (sent, len(received), len(reloaded), len(missing)))
        assert received, "the listener received nothing before the kill"
        assert not missing
        assert "Traceback" not in again.err
        assert "cut off" in again.err  # the torn line: a warning, not a crash
    finally:
        again.kill()
