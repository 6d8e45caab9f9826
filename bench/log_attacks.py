"""The --log under attack: a flood of long messages, a full disk, a log that blocks.

Runs `python -m chat_app server` from a checkout (--tree, default this one)
on 127.0.0.1 and prints the figures docs/security.md quotes:

    python3 bench/log_attacks.py flood --seconds 20                       # log bytes/s
    python3 bench/log_attacks.py flood --seconds 20 --log-max-size 1M     # files on disk
    python3 bench/log_attacks.py full-disk      # root: mounts a 1 MiB tmpfs, unmounts it
    python3 bench/log_attacks.py blocked        # --log on a pipe nobody reads
    python3 bench/log_attacks.py blocked --plain  # the same on an ordinary file

For the figures before a change, export the older tree and point --tree at
it (git archive main | tar -x -C /tmp/before).  Standard library only; Linux.
Every loop is bounded in count and time.
"""

import argparse
import errno
import glob
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

LOOPBACK = "127.0.0.1"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAIT = 10.0  # seconds any single step may take

# The longest message a server takes by default, in a character that costs
# four bytes of UTF-8 (the log's encoding keeps it as is): the most log
# bytes per message a client can cause.
WIDE_CHAR = "\U0001F600"
MAX_TEXT = 4000

# The default --rate-limit: each flooding client sends this many a second.
RATE = 5.0


class Server:
    """chat_app's server in a subprocess, its output in a file."""

    def __init__(self, tree, *args):
        self.out_path = tempfile.mktemp(prefix="chat-log-bench-", suffix=".out")
        with open(self.out_path, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chat_app", "server", "--host", LOOPBACK, "--port", "0",
                 "--quiet"] + list(args), cwd=tree, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        self.port = int(self.wait_for(r"listening on port (\d+)").group(1))

    def output(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_for(self, pattern, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("no %r from the server:\n%s" % (pattern, self.output()))

    def stop(self):
        """Stop with Ctrl+C as a teacher would; return the seconds it took (killed: None)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(WAIT)
            return time.monotonic() - started
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(WAIT)
            return None


class Client:
    """A JSON client whose reader thread notes each room message and when it came."""

    def __init__(self, port, name):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=WAIT)
        self.received = []  # (id, text, arrival time.monotonic())
        self.welcome = None
        self._joined = threading.Event()
        self.send({"type": "join", "name": name})
        threading.Thread(target=self._read, daemon=True).start()
        if not self._joined.wait(WAIT):
            raise RuntimeError("%s was not welcomed" % name)

    def send(self, frame):
        self.sock.sendall((json.dumps(frame) + "\n").encode("utf-8"))

    def say(self, text):
        self.send({"type": "say", "text": text})

    def _read(self):
        buffer = b""
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except OSError:
                return
            if not data:
                return
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            now = time.monotonic()
            for line in lines:
                frame = json.loads(line)
                if frame["type"] == "welcome":
                    self.welcome = frame
                    self._joined.set()
                elif frame["type"] == "message":
                    self.received.append((frame["id"], frame["text"], now))

    def close(self):
        self.sock.close()


def log_files(path):
    return sorted(glob.glob(glob.escape(path) + "*"))


def flood(args):
    """20 clients at the default rate with the longest messages: log growth and files."""
    folder = tempfile.mkdtemp(prefix="chat-log-flood-")
    path = os.path.join(folder, "chat.log")
    extra = ["--log-max-size", args.log_max_size] if args.log_max_size else []
    server = Server(args.tree, "--log", path, *extra)
    clients = [Client(server.port, "flood%d" % number) for number in range(args.clients)]
    text = WIDE_CHAR * MAX_TEXT
    started = time.monotonic()
    most_on_disk = 0
    for tick in range(int(args.seconds * RATE)):
        for client in clients:
            client.say(text)
        most_on_disk = max(most_on_disk, sum(os.path.getsize(name) for name in log_files(path)))
        time.sleep(max(0.0, started + (tick + 1) / RATE - time.monotonic()))
    took = time.monotonic() - started
    server.stop()
    files = {os.path.basename(name): os.path.getsize(name) for name in log_files(path)}
    total = sum(files.values())
    print("flood: %d clients x %g msg/s x %d chars (%d bytes of UTF-8) for %.1f s, "
          "--log-max-size %s" % (args.clients, RATE, MAX_TEXT, len(text.encode()), took,
                                 args.log_max_size or "(not given)"))
    print("  on disk at the end: %d file(s), %.1f MB; the most at any sample: %.1f MB"
          % (len(files), total / 1e6, most_on_disk / 1e6))
    if len(files) == 1:
        print("  log growth: %.2f MB/s (%.0f GB in an 8-hour day)"
              % (total / took / 1e6, total / took * 8 * 3600 / 1e9))
    print("  files: %s" % ", ".join("%s %d" % item for item in sorted(files.items())))
    print("  console: %s" % " | ".join(line for line in server.output().splitlines()
                                      if "log" in line)[:600])


def fill(folder, leave):
    """Fill the disk, then free `leave` bytes; return the filler's path."""
    filler = os.path.join(folder, "filler")
    with open(filler, "wb", buffering=0) as handle:
        for _ in range(1 << 20):  # bounded: a 4 GiB disk at most
            try:
                handle.write(b"\0" * 4096)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        handle.truncate(max(0, handle.tell() - leave))
    return filler


def full_disk(args):
    """Messages while the disk is full, space freed, a restart: what the history kept."""
    folder = tempfile.mkdtemp(prefix="chat-log-disk-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder], check=True)
    try:
        path = os.path.join(folder, "chat.log")
        server = Server(args.tree, "--log", path, "--rate-limit", "0")
        sender, listener = Client(server.port, "sender"), Client(server.port, "listener")
        filler = fill(folder, leave=8192)
        for number in range(args.messages):
            sender.say("%03d " % number + "x" * (MAX_TEXT - 4))
        deadline = time.monotonic() + WAIT
        while len(listener.received) < args.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        acknowledged = [message_id for message_id, _, _ in listener.received]
        os.remove(filler)
        time.sleep(2.5)  # the log writer retries every second
        sender.say("after the disk had space again")
        time.sleep(0.5)
        stop_seconds = server.stop()
        restarted = Server(args.tree, "--log", path, "--history", "10000")
        history = Client(restarted.port, "reader").welcome["history"]
        restarted.stop()
        reloaded = {frame["id"] for frame in history}
        lines = open(path, "rb").read().split(b"\n")
        garbled = [line for line in lines if line and not _parses(line)]
        print("full disk: %d messages of %d chars sent while the disk was full (8 KiB free)"
              % (args.messages, MAX_TEXT))
        print("  acknowledged (relayed) %d; missing from the history after a restart: %d"
              % (len(acknowledged), len([i for i in acknowledged if i not in reloaded])))
        print("  unreadable lines in the log: %d; longest line %d bytes; stop took %s s"
              % (len(garbled), max(len(line) for line in lines),
                 "%.2f" % stop_seconds if stop_seconds is not None else "(killed)"))
        print("  console: %s" % " | ".join(
            line.split("  ", 1)[-1][:110] for line in server.output().splitlines()
            if "log" in line)[:900])
    finally:
        subprocess.run(["umount", "--lazy", folder], check=True)
        os.rmdir(folder)


def _parses(line):
    try:
        json.loads(line)
        return True
    except ValueError:
        return False


def blocked(args):
    """--log on a pipe nobody reads: how long deliveries take while writes block."""
    folder = tempfile.mkdtemp(prefix="chat-log-fifo-")
    fifo = os.path.join(folder, "chat.log")
    if args.plain:  # the same run with an ordinary file, to compare
        open(fifo, "wb").close()
    else:
        os.mkfifo(fifo)
    server = Server(args.tree, "--log", fifo, "--rate-limit", "0")
    sender, listener = Client(server.port, "sender"), Client(server.port, "listener")
    sent = {}
    for number in range(args.messages):  # 64 KiB of pipe fills after ~16 of them
        sent[number] = time.monotonic()
        sender.say("%03d " % number + "x" * (MAX_TEXT - 4))
        time.sleep(1.0 / args.rate)
    deadline = time.monotonic() + 2.0
    while len(listener.received) < args.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    delays = sorted((arrived - sent[int(text[:3])]) * 1000
                    for _, text, arrived in listener.received)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    logged = b""
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and logged.count(b'"type":"message"') < len(delays):
        try:
            logged += os.read(reader, 1 << 20)
        except BlockingIOError:
            time.sleep(0.05)
    stop_seconds = server.stop()
    os.close(reader)
    print("blocked log: %d messages of %d chars at %g/s, the log %s"
          % (args.messages, MAX_TEXT, args.rate,
             "an ordinary file" if args.plain else "a pipe nobody reads"))
    print("  delivered while blocked: %d of %d" % (len(delays), args.messages))
    if delays:
        print("  delivery ms: median %.2f, p99 %.2f, max %.2f"
              % (statistics.median(delays), delays[int(0.99 * (len(delays) - 1))], delays[-1]))
    print("  message lines in the log once the pipe was read: %d; stop took %s"
          % (logged.count(b'"type":"message"'),
             "%.2f s" % stop_seconds if stop_seconds is not None else "too long (killed)"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", default=HERE, help="the checkout whose server runs")
    commands = parser.add_subparsers(dest="attack", required=True)
    one = commands.add_parser("flood")
    one.add_argument("--seconds", type=float, default=20.0)
    one.add_argument("--clients", type=int, default=20)
    one.add_argument("--log-max-size", default=None)
    one.set_defaults(run=flood)
    two = commands.add_parser("full-disk")
    two.add_argument("--messages", type=int, default=30)
    two.set_defaults(run=full_disk)
    three = commands.add_parser("blocked")
    three.add_argument("--messages", type=int, default=200)
    three.add_argument("--rate", type=float, default=20.0)
    three.add_argument("--plain", action="store_true", help="an ordinary file, not a pipe")
    three.set_defaults(run=blocked)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
