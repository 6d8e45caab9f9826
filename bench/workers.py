"""The load split across several generator processes.

One Python process counting every delivery tops out at about 700–750k
deliveries a second on a 2-core machine, below W2's offer.  Here the
clients are dealt round-robin by index to N processes (each a
`Load` of its share, so senders and receivers spread evenly and every
sender keeps its number and its schedule; see start_method() for how
they are started), and the bench moves them
through the phases together over a pipe each:

    worker                          bench
    joined  (MAX_JOINING split) ->  all joined?   -> settle
    settled                     ->  all settled?  -> go at T (time.monotonic(), shared)
    drained (sent from T)       ->  all drained?  -> report
    tally                       ->  merge.merge() -> close

While it waits for the next word a worker keeps reading its sockets, so
that pings are answered; from the wait for "go" on it also counts what
it reads: another worker may already be sending (a delivery read but not
counted would look like a loss).  Every wait
has a bound; a worker that fails says why, one that dies or hangs is
named, and at the end every worker is ended by its PID.
"""

import multiprocessing
import multiprocessing.connection
import threading
import time

from loadgen import DRAIN_MAX_SECONDS, MAX_JOINING, SETTLE_MAX_SECONDS, WIRES, Load
from merge import merge

# At most one join in flight per process: MAX_JOINING is split among them.
MAX_PROCESSES = MAX_JOINING
# Slack on each phase's own bound: forking, imports, a busy machine.
PHASE_MARGIN_SECONDS = 15.0
# The common start is this far after "go": every worker has the word by then.
GO_LEAD_SECONDS = 0.2
# Sending the tally: a W2 share holds some 2 million latencies, 16 MB.
REPORT_SECONDS = 60.0
# A worker told to close has this long to exit before it is terminated.
END_SECONDS = 5.0
# A waiting worker reads its sockets in turns of this long between looks at its pipe.
WAIT_TURN_SECONDS = 0.02


def joins_in_flight(processes):
    """Return each process's share of MAX_JOINING: together exactly MAX_JOINING, each ≥ 1."""
    return [MAX_JOINING // processes + (1 if part < MAX_JOINING % processes else 0)
            for part in range(processes)]


def await_word(load, conn, word, timeout, count):
    """Read sockets (counting deliveries if `count`) until the bench says `word`; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.poll(0):
            try:
                message = conn.recv()
            except EOFError:
                raise RuntimeError("the bench closed the pipe before saying %r" % word)
            if message[0] != word:
                raise RuntimeError("the bench said %r, expected %r" % (message[0], word))
            return message
        load.poll(WAIT_TURN_SECONDS, count=count)
    raise RuntimeError("the bench said no %r within %.0f s" % (word, timeout))


def work(conn, wire_name, address, settings, part, parts, max_joining):
    """Run one share of the load through the phases the bench calls (in a worker process)."""
    load = None
    try:
        load = Load(WIRES[wire_name](), address, part=part, parts=parts,
                    max_joining=max_joining, **settings)
        started = time.monotonic()
        load.join_all()
        join_seconds = time.monotonic() - started
        conn.send(("joined",))
        await_word(load, conn, "settle", load.join_timeout + PHASE_MARGIN_SECONDS, False)
        load.settle()
        conn.send(("settled",))
        # Counting from here on: another worker may be sending before this one has read "go".
        _, start = await_word(load, conn, "go", SETTLE_MAX_SECONDS + PHASE_MARGIN_SECONDS,
                              True)
        await_start(load, start)
        shares = load.send_and_drain(start)
        conn.send(("drained",))
        await_word(load, conn, "report", load.duration + DRAIN_MAX_SECONDS
                   + PHASE_MARGIN_SECONDS, True)
        conn.send(("tally", load.tally(join_seconds, shares)))
        await_word(load, conn, "close", REPORT_SECONDS + PHASE_MARGIN_SECONDS, False)
    except (OSError, RuntimeError) as error:
        try:
            conn.send(("failed", str(error)))
        except OSError:
            pass  # the bench is gone: it will not read why
    finally:
        if load is not None:
            load.close_all()
        conn.close()


def await_start(load, start):
    """Read sockets, counting deliveries (another worker's clock may be ahead), until `start`."""
    left = start - time.monotonic()
    while left > 0:
        load.poll(min(left, WAIT_TURN_SECONDS), count=True)
        left = start - time.monotonic()


def start_method():
    """Return "fork" in a process of one thread (bench/run.py), else "spawn".

    A fork is quick and inherits everything, but a forked copy of a
    process with other threads (a test running a server in threads) may
    find a lock held forever; spawn starts a fresh interpreter instead.
    """
    return "fork" if threading.active_count() == 1 else "spawn"


class Workers:
    """The generator's processes, seen from the bench: start, step through phases, end."""

    def __init__(self, processes, wire_name, address, settings):
        context = multiprocessing.get_context(start_method())
        self.members = []  # (process, the bench's end of its pipe)
        for part, joins in enumerate(joins_in_flight(processes)):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=work, args=(theirs, wire_name, address, settings, part, processes, joins),
                name="loadgen-%d" % part, daemon=True)
            process.start()
            theirs.close()
            self.members.append((process, mine))

    def tell(self, *message):
        for _, conn in self.members:
            conn.send(message)

    def gather(self, word, timeout):
        """Return every worker's message `word`, in order; raise if one fails, dies or is late."""
        deadline = time.monotonic() + timeout
        waiting = {conn: part for part, (_, conn) in enumerate(self.members)}
        replies = {}
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("generator process %s sent no %r within %.0f s" % (
                    ", ".join(self.describe(part) for part in sorted(waiting.values())),
                    word, timeout))
            for conn in multiprocessing.connection.wait(list(waiting), left):
                part = waiting.pop(conn)
                try:
                    message = conn.recv()
                except EOFError:
                    process = self.members[part][0]
                    process.join(END_SECONDS)  # its exit code, once it has exited
                    raise RuntimeError("generator process %s ended before %r (exit code %s)"
                                       % (self.describe(part), word, process.exitcode)) from None
                if message[0] == "failed":
                    raise RuntimeError("generator process %s: %s"
                                       % (self.describe(part), message[1]))
                replies[part] = message
        return [replies[part] for part in range(len(self.members))]

    def describe(self, part):
        return "%d (PID %s)" % (part, self.members[part][0].pid)

    def end(self, patience=END_SECONDS):
        """Close every pipe, give the workers `patience` seconds, then end them by their PIDs."""
        for _, conn in self.members:
            conn.close()
        for process, _ in self.members:
            process.join(patience)
            if process.is_alive():
                process.terminate()
                process.join(END_SECONDS)
            if process.is_alive():
                process.kill()
                process.join(END_SECONDS)


def run_split(processes, wire_name, address, settings, on_phase=lambda phase: None):
    """Run a workload's clients in `processes` worker processes; return the merged figures.

    `settings` are Load's keyword arguments (clients, senders, rate,
    duration, size, stalled); `on_phase` is called with "send" just before
    the common start and "done" once every worker has drained.
    """
    workers = Workers(processes, wire_name, address, settings)
    patience = 0.0  # a run that failed ends its workers at once: they may be hung
    try:
        workers.gather("joined", settings.get("join_timeout", 120.0) + PHASE_MARGIN_SECONDS)
        workers.tell("settle")
        workers.gather("settled", SETTLE_MAX_SECONDS + PHASE_MARGIN_SECONDS)
        on_phase("send")
        workers.tell("go", time.monotonic() + GO_LEAD_SECONDS)
        workers.gather("drained", GO_LEAD_SECONDS + settings["duration"] + DRAIN_MAX_SECONDS
                       + PHASE_MARGIN_SECONDS)
        on_phase("done")
        workers.tell("report")
        tallies = [message[1] for message in workers.gather("tally", REPORT_SECONDS)]
        workers.tell("close")
        patience = END_SECONDS
        return merge(tallies)
    finally:
        workers.end(patience)
