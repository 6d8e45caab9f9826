"""The load generator: N clients in one room, S of them sending.

Every client is a non-blocking socket in one `selectors` loop, so the
generator needs no threads and can hold thousands of connections.  One
`Load` may run a share of the clients only (`part` of `parts`, by index):
bench/workers.py runs the shares in several processes, and
bench/merge.py adds their figures up into one run's.  A wire
(`ChatAppWire` or `IrcWire`) knows how to join and say things in one
protocol; everything else is the same for every server measured.

Each message's text is "bench SENDER SEQ MICROS pad...", where MICROS is
the sender's time.perf_counter_ns() // 1000 when the message was queued.
Receivers find these with one regular expression over every chunk read, so
the per-delivery cost here stays a few Python operations.  Per receiver and
sender the next expected SEQ is kept: a delivery that matches it is in
order; one past it leaves a gap (lost, unless it arrives later, then it is
counted as out of order); one below it is a duplicate or a late arrival.

The generator also says how well it kept its own schedule: `sent_late`
counts the messages it queued LATE_SECONDS or more after their time, or
never, because its loop was busy or it had no core; `sent_held` those the
server's fault (it stopped reading, so the sender was paused); and
while sending, `loadgen_cpu` is its share of one core and `loadgen_wait`
the share of the time it waited for a CPU while ready to run.  Its CPU
share over the drain as well (`loadgen_cpu_with_drain`, what this column
used to be) is lower by the drain's quiet second, not by any headroom.

The clock of the message stamps, time.perf_counter_ns(), is
CLOCK_MONOTONIC on Linux as time.monotonic() is: one clock for every
process of the machine, so a stamp taken in one generator process and a
reading taken in another give a true latency.
"""

import array
import errno
import itertools
import math
import operator
import re
import selectors
import socket
import time

from merge import merge

# Every message carries this marker, so receivers can find the figures.
MESSAGE_RE = re.compile(rb"bench (\d+) (\d+) (\d+) ")

# Joins in flight at once.  ngircd listens with a backlog of 10: past it
# the kernel drops SYNs and a client waits 1, 3, 7, 15 s for TCP to retry,
# which would measure the kernel's queue rather than the server.
MAX_JOINING = 8

# Bytes a sender may have queued in this process before it pauses: past
# this the server is not reading, and the backlog is reported as unsent.
MAX_SENDER_BACKLOG = 1024 * 1024

# After the senders stop, the run ends once no delivery came for this long.
DRAIN_QUIET_SECONDS = 1.0

# Joining gives up once no client has joined for this long (a server that
# stopped accepting, like miniircd past select()'s 1024 descriptors).
JOIN_STALL_SECONDS = 20.0
DRAIN_MAX_SECONDS = 30.0
# Settling (the notices of everyone joining) gives up waiting for quiet after this.
SETTLE_MAX_SECONDS = 30.0

# Reads go into one reused buffer: a fresh 256 KiB bytes object per recv()
# costs an mmap and page faults each time, and slowed this process 2.5 times.
READ_SIZE = 256 * 1024

# A message queued this long after its time counts as late (`sent_late`):
# the generator's own loop was busy, or the machine gave it no core.  Far
# above one loop turn at W2 (a few ms), far below the knee's p99 bound.
LATE_SECONDS = 0.010


def now_micros():
    return time.perf_counter_ns() // 1000


def due_by(seconds, per_sender, offset):
    """Return how many messages a sender is due to have queued `seconds` after the start.

    Its message n (from 1) is due at (n - 1 + offset) / per_sender seconds.
    """
    if seconds * per_sender < offset:
        return 0
    return int(seconds * per_sender - offset) + 1


def run_queue_seconds(path="/proc/self/schedstat"):
    """Return the seconds this process has waited for a CPU while ready to run, or None.

    The second field of /proc/self/schedstat (Linux, nanoseconds): a
    generator that waits here is short of a core, however low its CPU.
    """
    try:
        with open(path) as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def usage():
    """Return this process's CPU seconds, seconds waited for a CPU, and the clock, now."""
    return {"cpu": time.process_time(), "wait": run_queue_seconds(), "wall": time.monotonic()}


def share(before, after, what):
    """Return the share of the wall time between two usage() readings spent on `what`."""
    wall = after["wall"] - before["wall"]
    if before[what] is None or after[what] is None or wall <= 0:
        return None
    return (after[what] - before[what]) / wall


class ChatAppWire:
    """chat_app's JSON lines (docs/protocol.md)."""

    name = "chat_app"

    def login(self, name):
        return b'{"type":"join","name":"%s"}\n' % name.encode()

    def on_login_line(self, line):
        """Return (bytes to send, joined?) for a line received while joining."""
        if line.startswith(b'{"type":"welcome"'):
            return b"", True
        if line.startswith(b'{"type":"error"'):
            raise RuntimeError("join refused: %s" % line.decode("utf-8", "replace"))
        return self.answer(line), False

    def say(self, text):
        return b'{"type":"say","text":"%s"}\n' % text

    # A chunk holding any of these is read line by line (see slow_lines).
    markers = (b'"type":"ping"', b'"type":"left"', b'"type":"error"')

    def answer(self, line):
        if line.startswith(b'{"type":"ping"'):
            return b'{"type":"pong"}\n'
        return b""

    def departure(self, line):
        """Return (name, reason) if the line says someone left, else None."""
        if line.startswith(b'{"type":"left"'):
            name = re.search(rb'"name":"([^"]*)"', line)
            reason = re.search(rb'"reason":"([^"]*)"', line)
            return (name.group(1).decode() if name else "?",
                    reason.group(1).decode() if reason else "?")
        return None

    def problem(self, line):
        """Return the server's complaint if the line is an error, else None."""
        if line.startswith(b'{"type":"error"'):
            return line.decode("utf-8", "replace")
        return None


# Numeric replies that refuse a nick, a registration or a channel join.
IRC_REFUSALS = {b"431", b"432", b"433", b"436", b"437", b"451", b"461", b"462", b"465",
                b"471", b"473", b"474", b"475", b"477"}


class IrcWire:
    """RFC 1459/2812 clients in one channel."""

    name = "irc"

    def __init__(self, channel=b"#bench"):
        self.channel = channel

    def login(self, name):
        return b"NICK %s\r\nUSER %s 0 * :bench\r\n" % (name.encode(), name.encode())

    def on_login_line(self, line):
        parts = line.split(b" ", 3)
        if len(parts) > 1 and parts[1] == b"001":
            return b"JOIN %s\r\n" % self.channel, False
        if len(parts) > 1 and parts[1] == b"366":
            return b"", True
        if (len(parts) > 1 and parts[1] in IRC_REFUSALS) or line.startswith(b"ERROR"):
            raise RuntimeError("join refused: %s" % line.decode("utf-8", "replace"))
        return self.answer(line), False

    def say(self, text):
        return b"PRIVMSG %s :%s\r\n" % (self.channel, text)

    markers = (b"PING", b" QUIT ", b"ERROR")

    def answer(self, line):
        if line.startswith(b"PING"):
            return b"PONG" + line[4:].rstrip(b"\r") + b"\r\n"
        return b""

    def departure(self, line):
        parts = line.split(b" ", 2)
        if len(parts) == 3 and parts[1] == b"QUIT":
            name = parts[0].lstrip(b":").split(b"!")[0].decode("utf-8", "replace")
            return name, parts[2].lstrip(b":").strip().decode("utf-8", "replace")
        return None

    def problem(self, line):
        if line.startswith(b"ERROR"):
            return line.decode("utf-8", "replace")
        return None


WIRES = {"chat_app": ChatAppWire, "irc": IrcWire}


class Client:
    """One connection of the load: its socket, buffers and counters."""

    __slots__ = ("index", "name", "sock", "wire", "state", "inbuf", "outbuf",
                 "next_seq", "missing", "sent", "stalled", "held")

    def __init__(self, index, wire, senders):
        self.index = index
        self.name = "u%d" % index
        self.wire = wire
        self.sock = None
        self.state = "new"  # new, joining, joined, closed
        self.inbuf = b""
        self.outbuf = bytearray()
        self.next_seq = [1] * senders  # per sender: the next SEQ expected
        self.missing = None  # per sender: set of SEQs skipped over, once any are
        self.sent = 0
        self.stalled = False
        self.held = False  # paused: the server stopped reading its messages


class Load:
    """Run one workload (or one share of its clients) against one server; return its figures.

    With `parts` above 1 this Load holds the clients whose index modulo
    `parts` is `part`: senders keep their index as their number, and so
    their schedule, whichever share they are in.
    """

    def __init__(self, wire, address, clients, senders, rate, duration,
                 size=64, stalled=0, join_timeout=120.0, log=print,
                 part=0, parts=1, max_joining=MAX_JOINING):
        if senders > clients - stalled:
            raise RuntimeError("not enough healthy clients to send")
        self.wire = wire
        self.address = address
        self.senders = senders
        self.rate = rate
        self.duration = duration
        self.size = size
        self.join_timeout = join_timeout
        self.log = log
        self.max_joining = max_joining
        self.clients = [Client(i, wire, senders) for i in range(part, clients, parts)]
        for client in self.clients:
            client.stalled = client.index >= clients - stalled
        self.sender_clients = [c for c in self.clients if c.index < senders]
        self.selector = selectors.DefaultSelector()
        self.buffer = bytearray(READ_SIZE)
        self.view = memoryview(self.buffer)
        self.latencies = array.array("q")
        self.deliveries = 0
        self.duplicates = 0
        self.reordered = 0
        self.departures = []
        self.first_send = None
        self.last_delivery = None
        self.errors = []
        self.late = 0  # messages queued late (or never) because this process was busy
        self.held = 0  # messages queued late (or never) because the server was not reading
        self.scheduled = 0  # messages the schedule called for
        self.sent = 0

    # --- the phases ---------------------------------------------------

    def run(self, on_phase=lambda phase: None):
        """Join everyone, send for the duration, drain; return the figures."""
        started = time.monotonic()
        self.join_all()
        join_seconds = time.monotonic() - started
        self.settle()
        on_phase("send")
        shares = self.send_and_drain()
        on_phase("done")
        return merge([self.tally(join_seconds, shares)])

    def send_and_drain(self, start=None):
        """Send from `start` (time.monotonic(); now if None), drain; return this process's shares.

        The shares (see usage()) are of the wall time: "cpu" and "wait"
        while sending, "cpu_with_drain" over the drain as well.
        """
        before = usage()
        self.send_phase(start)
        sent = usage()
        self.drain()
        done = usage()
        return {"cpu": share(before, sent, "cpu"), "cpu_with_drain": share(before, done, "cpu"),
                "wait": share(before, sent, "wait")}

    def join_all(self):
        pending = list(reversed(self.clients))
        joining = 0
        deadline = time.monotonic() + self.join_timeout
        joined = 0
        progress = time.monotonic()
        while joined < len(self.clients):
            while pending and joining < self.max_joining:
                self.connect(pending.pop())
                joining += 1
            now = time.monotonic()
            if now > deadline or now - progress > JOIN_STALL_SECONDS:
                raise RuntimeError("only %d of %d clients joined (in %.0f s; none in the last %.0f s)"
                                   % (joined, len(self.clients), now - deadline + self.join_timeout,
                                      now - progress))
            for client, became_joined in self.poll(0.05):
                if became_joined:
                    joined += 1
                    joining -= 1
                    progress = time.monotonic()

    def settle(self):
        """Let the notices of everyone joining pass before measuring."""
        quiet_since = time.monotonic()
        deadline = quiet_since + SETTLE_MAX_SECONDS
        while time.monotonic() < deadline:
            if self.poll(0.05, count=False):
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.3:
                return

    def send_phase(self, start=None):
        """Send on the schedule from `start` (time.monotonic(); now if None) for the duration."""
        senders = [(client.index, client) for client in self.sender_clients]
        per_sender = self.rate / float(self.senders)
        # Sender k sends at times (n + k/S) / per_sender: spread evenly, not in bursts.
        offsets = [number / float(self.senders) for number in range(self.senders)]
        pad = b"x" * max(0, self.size - 30)
        say = self.wire.say
        if start is None:
            start = time.monotonic()
        self.first_send = now_micros()
        end = start + self.duration
        while True:
            now = time.monotonic()
            if now >= end:
                break
            for number, client in senders:
                due = due_by(now - start, per_sender, offsets[number])
                if client.sent >= due:
                    continue
                if len(client.outbuf) > MAX_SENDER_BACKLOG:
                    client.held = True
                    continue
                self.count_late(client, due_by(now - start - LATE_SECONDS, per_sender,
                                               offsets[number]))
                stamp = now_micros()
                client.outbuf += b"".join([
                    say(b"bench %d %d %d %s" % (number, seq, stamp, pad))
                    for seq in range(client.sent + 1, due + 1)])
                client.sent = due
                self.write(client)
            next_tick = start + (int((now - start) * self.rate) + 1) / float(self.rate)
            self.poll(max(0.0, min(next_tick, end) - time.monotonic()))
        for number, client in senders:  # what the schedule wanted but never got
            # due strictly before the end: the loop stops at the end itself
            scheduled = max(0, math.ceil(self.duration * per_sender - offsets[number]))
            self.scheduled += scheduled
            client.held = client.held or len(client.outbuf) > MAX_SENDER_BACKLOG
            self.count_late(client, scheduled)
        self.sent = sum(client.sent for _, client in senders)

    def count_late(self, client, overdue):
        """Count the messages due before `overdue` that this sender has not sent yet.

        They are the server's doing if the sender was paused because the
        server stopped reading (`held`), else this process's (`late`).
        """
        behind = max(0, overdue - client.sent)
        if client.held:
            self.held += behind
            client.held = False
        else:
            self.late += behind

    def drain(self):
        deadline = time.monotonic() + DRAIN_MAX_SECONDS
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            before = self.deliveries
            self.poll(0.05)
            if self.deliveries != before or any(c.outbuf for c in self.sender_clients):
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= DRAIN_QUIET_SECONDS:
                return

    # --- sockets ------------------------------------------------------

    def connect(self, client):
        sock = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET,
                             socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex(self.address)
        if err not in (0, errno.EINPROGRESS):
            raise OSError(err, "cannot connect to %s:%d" % self.address[:2])
        client.sock = sock
        client.state = "joining"
        client.outbuf += self.wire.login(client.name)
        self.selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def write(self, client):
        if not client.outbuf or client.state == "closed":
            return
        try:
            sent = client.sock.send(client.outbuf)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as error:
            self.close(client, "send failed: %s" % error)
            return
        del client.outbuf[:sent]
        events = selectors.EVENT_READ
        if client.stalled and client.state == "joined":
            events = 0
        if client.outbuf:
            events |= selectors.EVENT_WRITE
        self.set_events(client, events)

    def set_events(self, client, events):
        key = self.selector.get_key(client.sock)
        if key.events == events:
            return
        if events:
            self.selector.modify(client.sock, events, client)
        else:
            self.selector.unregister(client.sock)

    def close(self, client, why):
        if client.state == "closed":
            return
        if client.state != "joined" or not client.stalled:
            self.errors.append("%s: %s" % (client.name, why))
        self._drop(client)

    def _drop(self, client):
        try:
            self.selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass  # a stalled client is not registered for reading
        client.sock.close()
        client.state = "closed"

    def poll(self, timeout, count=True):
        """Handle ready sockets; return [(client, joined_now)] for joins."""
        result = []
        for key, events in self.selector.select(timeout):
            client = key.data
            if events & selectors.EVENT_WRITE:
                self.write(client)
            if events & selectors.EVENT_READ and client.state != "closed":
                joined = self.read(client, count)
                result.append((client, joined))
        return result

    def read(self, client, count):
        try:
            size = client.sock.recv_into(self.buffer)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as error:
            self.close(client, "receive failed: %s" % error)
            return False
        data = self.view[:size].tobytes()
        if not data:
            self.close(client, "closed by the server")
            return False
        received = now_micros()
        data = client.inbuf + data
        end = data.rfind(b"\n") + 1
        client.inbuf = data[end:]
        chunk = data[:end]
        if not chunk:
            return False
        if client.state == "joining":
            return self.read_login(client, chunk)
        for marker in self.wire.markers:
            if marker in chunk:
                self.slow_lines(client, chunk)
                break
        if count:
            self.count(client, chunk, received)
        return False

    def read_login(self, client, chunk):
        lines = chunk.split(b"\n")
        for number, line in enumerate(lines):
            reply, joined = self.wire.on_login_line(line.rstrip(b"\r"))
            if reply:
                client.outbuf += reply
                self.write(client)
            if joined:
                client.state = "joined"
                if client.stalled:
                    self.set_events(client, selectors.EVENT_WRITE if client.outbuf else 0)
                rest = b"\n".join(lines[number + 1:])
                if rest:
                    self.slow_lines(client, rest)
                return True
        return False

    def slow_lines(self, client, chunk):
        for line in chunk.split(b"\n"):
            line = line.rstrip(b"\r")
            reply = self.wire.answer(line)
            if reply:
                client.outbuf += reply
                self.write(client)
            gone = self.wire.departure(line)
            if gone:
                self.departures.append(gone)
            problem = self.wire.problem(line)
            if problem:
                self.errors.append("%s got %s" % (client.name, problem[:200]))

    def count(self, client, chunk, received):
        """Account for every message delivery in a chunk of complete lines.

        Numbers are parsed and latencies taken by map() and array.extend()
        in C; only the check of each sender's SEQ is a Python loop.  This
        is the generator's cost per delivery, and so its ceiling.
        """
        found = MESSAGE_RE.findall(chunk)
        if not found:
            return
        if client.index < self.senders:  # chat_app echoes a sender's own messages: not deliveries
            own = b"%d" % client.index
            found = [message for message in found if message[0] != own]
            if not found:
                return
        senders, seqs, stamps = zip(*found)
        self.latencies.extend(map(operator.sub, itertools.repeat(received), map(int, stamps)))
        expected = client.next_seq
        for sender, seq in zip(map(int, senders), map(int, seqs)):
            want = expected[sender]
            if seq == want:
                expected[sender] = seq + 1
            else:
                self.irregular(client, sender, seq, want)
        self.deliveries += len(found)
        self.last_delivery = received

    def irregular(self, client, sender, seq, want):
        if client.missing is None:
            client.missing = [set() for _ in range(self.senders)]
        missing = client.missing[sender]
        if seq > want:
            missing.update(range(want, seq))
            client.next_seq[sender] = seq + 1
        elif seq in missing:
            missing.discard(seq)
            self.reordered += 1
        else:
            self.duplicates += 1

    # --- results ------------------------------------------------------

    def tally(self, join_seconds, shares):
        """Return this share's raw counts, for merge.merge() to add up with the others'.

        Losses cannot be counted here: a receiver's gaps must be held
        against what each sender sent, and the sender may be in another
        process.  So each healthy receiver's next expected SEQ and count
        of gaps per sender travel as they are.
        """
        receivers = [(c.index, list(c.next_seq),
                      [len(gaps) for gaps in c.missing] if c.missing else None)
                     for c in self.clients if not c.stalled]
        return {
            "clients": len(self.clients),
            "join_seconds": join_seconds,
            "sent_by": {c.index: c.sent for c in self.sender_clients},
            "receivers": receivers,
            "stalled": [c.name for c in self.clients if c.stalled],
            "scheduled": self.scheduled,
            "sent_late": self.late,
            "sent_held": self.held,
            "deliveries": self.deliveries,
            "latencies": self.latencies,
            "duplicated": self.duplicates,
            "reordered": self.reordered,
            "departures": self.departures,
            "errors": self.errors,
            "first_send": self.first_send,
            "last_delivery": self.last_delivery,
            "cpu": shares["cpu"],
            "cpu_with_drain": shares["cpu_with_drain"],
            "wait": shares["wait"],
        }

    def close_all(self):
        for client in self.clients:
            if client.sock is not None and client.state != "closed":
                self._drop(client)
        self.selector.close()
