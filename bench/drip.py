"""The drip attack: long lines sent a byte at a time; server CPU and room latency.

    python3 bench/drip.py                      # 3 runs; median [min-max] of each figure
    python3 bench/drip.py --runs 1 --senders 5
    python3 bench/drip.py --checkout /tmp/old  # the chat_app of another tree (before a fix)

Each run starts chat_app's server fresh on 127.0.0.1 (bench/servers.py),
then measures:

0. the splitter alone: LineSplitter fed such a line a byte at a time, in a
   process of its own, CPU seconds (no server, no socket).
1. one line: a member sends one line of MAX_FRAME_BYTES (a `say` too long
   for --max-text, so the answer is text_too_long) one byte per send(),
   GAP_SECONDS apart; the server's CPU seconds from the first byte to the
   answer.
2. the room: two members chat (a message every 1/CHAT_RATE s, the receiver
   timing each from its sending) for QUIET_SECONDS alone, then for
   DRIP_SECONDS while SENDERS members, in a second process, drip such lines
   over and over (a byte per send(), each socket in turn, GAP_SECONDS
   between rounds); the median and
   p99 latency of both periods and the server's CPU share while dripping.

Everything is bounded: each period has its length, the line has
LINE_DEADLINE. Linux only (CPU from /proc). The figures move with whatever
else runs on the machine: compare runs made one after the other.
"""

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from servers import LOOPBACK, REPO, ChatApp  # noqa: E402

LINE_BYTES = 64 * 1024  # protocol.MAX_FRAME_BYTES: the longest line the server takes
LINE_DEADLINE = 120.0  # seconds one dripped line may take before the run gives up
CHAT_RATE = 20  # messages a second between the two chatting members
QUIET_SECONDS = 5.0
DRIP_SECONDS = 10.0
SENDERS = 20
JOIN_SECONDS = 10.0
RECV_BYTES = 64 * 1024
# Pause after each byte (after each round of bytes, for the SENDERS): long
# enough for the server to read every byte on its own, as a patient
# attacker would make it; sent back to back, bytes would pile up and be
# read in big pieces.  time.sleep adds about 60 us to it.
GAP_SECONDS = 100e-6


def say_line(size=LINE_BYTES):
    """Return a say frame of exactly `size` bytes plus its newline."""
    head, tail = b'{"type":"say","text":"', b'"}'
    return head + b"d" * (size - len(head) - len(tail)) + tail + b"\n"


def join(port, name):
    """Connect and join as `name`; return the socket once welcomed."""
    sock = socket.create_connection((LOOPBACK, port), timeout=JOIN_SECONDS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(b'{"type":"join","name":"%s"}\n' % name.encode())
    received = b""
    while b"\n" not in received:
        chunk = sock.recv(RECV_BYTES)
        if not chunk:
            raise RuntimeError("%s: the server closed the connection while joining" % name)
        received += chunk
    if not received.startswith(b'{"type":"welcome"'):
        raise RuntimeError("%s was not welcomed: %r" % (name, received[:200]))
    return sock


# The splitter alone, in the checkout's Python: a line fed a byte at a time.
SPLITTER_ALONE = """\
import time
try:
    from chat_app.wire.protocol import LineSplitter
except ImportError:  # a tree from before the packages (issue 26)
    from chat_app.protocol import LineSplitter
line = b"d" * %d + b"\\n"
splitter = LineSplitter()
start = time.process_time()
for index in range(len(line)):
    splitter.feed(line[index:index + 1])
print(time.process_time() - start)
"""


def splitter_alone(checkout, python=None, size=LINE_BYTES):
    """Return the CPU seconds LineSplitter takes for a line fed byte by byte."""
    done = subprocess.run([python or sys.executable, "-c", SPLITTER_ALONE % size],
                          cwd=checkout, stdout=subprocess.PIPE,
                          check=True, timeout=LINE_DEADLINE, universal_newlines=True)
    return float(done.stdout)


def one_line(server, size=LINE_BYTES):
    """Drip one line of `size` bytes; return (server CPU s, wall s) until its answer."""
    sock = join(server.port, "drip")
    try:
        line = say_line(size)
        cpu, start = server.cpu_seconds(), time.monotonic()
        for index in range(len(line)):
            sock.send(line[index:index + 1])
            time.sleep(GAP_SECONDS)
        sock.settimeout(LINE_DEADLINE)
        received = b""
        while b"text_too_long" not in received:
            chunk = sock.recv(RECV_BYTES)
            if not chunk:
                raise RuntimeError("the server closed the dripping connection")
            received += chunk
            if time.monotonic() - start > LINE_DEADLINE:
                raise RuntimeError("no answer to the dripped line in %g s" % LINE_DEADLINE)
        return server.cpu_seconds() - cpu, time.monotonic() - start
    finally:
        sock.close()


def drippers(port, count, seconds, joined, lines_done):
    """In a child process: `count` members drip lines for `seconds`."""
    socks = [join(port, "drip%d" % index) for index in range(count)]
    for sock in socks:
        sock.setblocking(False)
    joined.set()
    line = say_line()
    at = [0] * count
    done = 0
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        for index, sock in enumerate(socks):
            try:
                at[index] += sock.send(line[at[index]:at[index] + 1])
            except BlockingIOError:
                continue  # the server is behind on this one; its turn comes again
            if at[index] == len(line):
                at[index] = 0
                done += 1
        time.sleep(GAP_SECONDS)
        rounds += 1
        if rounds % 256 == 0:  # keep what the server sends from piling up
            for sock in socks:
                try:
                    while sock.recv(RECV_BYTES):
                        pass
                except BlockingIOError:
                    pass
    lines_done.value = done
    for sock in socks:
        sock.close()


class Chat:
    """Two members: one says a numbered message every 1/CHAT_RATE s, the other times it."""

    def __init__(self, port):
        self.talker = join(port, "talker")
        self.listener = join(port, "listener")
        self.listener.settimeout(1.0)
        self.sent = {}  # sequence number -> perf_counter when sent
        self.latencies = []  # (sent at, seconds)
        self.stop = threading.Event()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def talk(self, seconds):
        """Say a message every 1/CHAT_RATE s for `seconds`; return (start, end)."""
        start = time.perf_counter()
        end = start + seconds
        first = sequence = len(self.sent)
        while True:
            due = start + (sequence - first) / CHAT_RATE
            if due >= end:
                return start, end
            self.stop.wait(max(0.0, due - time.perf_counter()))
            self.sent[sequence] = time.perf_counter()
            self.talker.sendall(b'{"type":"say","text":"lat %d"}\n' % sequence)
            sequence += 1

    def read(self):
        pending = b""
        while not self.stop.is_set():
            try:
                chunk = self.listener.recv(RECV_BYTES)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            now = time.perf_counter()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                marker = line.find(b'"text":"lat ')
                if marker >= 0 and b'"from":"talker"' in line:
                    sequence = int(line[marker + 12:line.index(b'"', marker + 12)])
                    sent = self.sent[sequence]
                    self.latencies.append((sent, now - sent))

    def between(self, start, end):
        """Return the latencies (ms) of the messages sent from start to end."""
        return [1000 * seconds for sent, seconds in self.latencies if start <= sent < end]

    def close(self):
        self.stop.set()
        self.talker.close()
        self.listener.close()
        self.reader.join(5)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def room(server, senders, quiet_seconds=QUIET_SECONDS, drip_seconds=DRIP_SECONDS):
    """Measure the chat quiet, then while `senders` drip; return the figures."""
    chat = Chat(server.port)
    try:
        quiet = chat.talk(quiet_seconds)
        joined, lines_done = multiprocessing.Event(), multiprocessing.Value("i", 0)
        child = multiprocessing.Process(target=drippers, args=(
            server.port, senders, drip_seconds, joined, lines_done))
        child.start()
        try:
            if not joined.wait(JOIN_SECONDS * 2):
                raise RuntimeError("the %d dripping members did not join" % senders)
            cpu = server.cpu_seconds()
            dripping = chat.talk(drip_seconds)
            cpu_share = (server.cpu_seconds() - cpu) / (dripping[1] - dripping[0])
            child.join(JOIN_SECONDS)
        finally:
            if child.is_alive():
                child.terminate()
                child.join(5)
        settle = time.perf_counter() + 5.0  # the last messages may still be on their way
        while len(chat.latencies) < len(chat.sent) and time.perf_counter() < settle:
            chat.stop.wait(0.05)
        quiet_ms, drip_ms = chat.between(*quiet), chat.between(*dripping)
        return {
            "quiet_p50_ms": statistics.median(quiet_ms), "quiet_p99_ms": percentile(quiet_ms, 0.99),
            "drip_p50_ms": statistics.median(drip_ms), "drip_p99_ms": percentile(drip_ms, 0.99),
            "drip_cpu_share": cpu_share, "lines_dripped": lines_done.value,
            "lost": len(chat.sent) - len(chat.latencies),
        }
    finally:
        chat.close()


class Server(ChatApp):
    """chat_app's server, from this checkout or another (--checkout)."""

    checkout = REPO

    def environment(self):
        env = ChatApp.environment(self)
        env["PYTHONPATH"] = self.checkout
        return env


def one_run(options):
    server = Server(options.python)
    server.checkout = options.checkout
    server.start()
    try:
        cpu, wall = one_line(server)
        figures = {"splitter_cpu_s": splitter_alone(options.checkout, options.python),
                   "line_cpu_s": cpu, "line_wall_s": wall}
        figures.update(room(server, options.senders))
        return figures
    finally:
        server.stop()


FIGURES = [
    ("splitter_cpu_s", "one line: LineSplitter alone, CPU s", "%.3f"),
    ("line_cpu_s", "one line: server CPU s", "%.2f"),
    ("line_wall_s", "one line: wall s", "%.2f"),
    ("quiet_p50_ms", "room alone: median ms", "%.2f"),
    ("quiet_p99_ms", "room alone: p99 ms", "%.2f"),
    ("drip_p50_ms", "room + drippers: median ms", "%.2f"),
    ("drip_p99_ms", "room + drippers: p99 ms", "%.2f"),
    ("drip_cpu_share", "server CPU while dripping, cores", "%.2f"),
    ("lines_dripped", "lines the drippers completed", "%d"),
    ("lost", "chat messages lost", "%d"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3; median, min, max)")
    parser.add_argument("--senders", type=int, default=SENDERS,
                        help="members dripping during the room period (default %d)" % SENDERS)
    parser.add_argument("--checkout", default=REPO,
                        help="the tree whose chat_app runs the server (default: this one)")
    parser.add_argument("--python", default=None, help="the Python that runs the server")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures here")
    options = parser.parse_args(argv)
    runs = []
    for number in range(options.runs):
        print("run %d of %d (%s) ..." % (number + 1, options.runs, options.checkout), flush=True)
        runs.append(one_run(options))
        print("  " + ", ".join("%s %s" % (key, fmt % runs[-1][key]) for key, _, fmt in FIGURES))
    print("\n%-34s  %10s  %10s  %10s" % ("figure", "median", "min", "max"))
    for key, words, fmt in FIGURES:
        values = [run[key] for run in runs]
        print("%-34s  %10s  %10s  %10s" % (words, fmt % statistics.median(values),
                                          fmt % min(values), fmt % max(values)))
    if options.json:
        with open(options.json, "w") as out:
            json.dump({"senders": options.senders, "checkout": options.checkout,
                       "runs": runs}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
