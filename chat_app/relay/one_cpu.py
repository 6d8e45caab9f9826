"""Keep the server's threads on one CPU while its room floods (Linux).

Only one thread runs Python at a time: it holds the interpreter lock and
hands it over when it waits on a socket.  Under a flood (thousands of
messages a second: scripts, or a big room pasting for seconds on end) the
connections' threads and the fanout hand it to each other thousands of
times a second.  Spread over two CPUs, each hand-over wakes a
thread on the other CPU, which then waits for the lock in turn: at W2 the
server then fell behind the room by seconds in most runs.  Held on one
CPU, the threads hand over in turn without waking each other across CPUs,
and it kept up in every run (docs/benchmarks.md, "What made W2 keep up").

So while the room's frames come at a flood's rate (FLOOD_RATE a second or
more, over FLOOD_WINDOW), every thread of the process is kept on one CPU;
once there has been no flood for CALM_SECONDS, they may run on any CPU
again, as the person who started the server allowed (`taskset`).  Below
that rate the threads stay spread: at W3 (a big hall, well below it)
keeping them on one CPU cost more CPU per delivery (docs/benchmarks.md,
"Figures behind the code").
Where Python offers no way to do this (os.sched_setaffinity is Linux's:
on Windows and macOS), or only one CPU is allowed, nothing changes.
"""

import os

# A flood: this many room frames a second, over at least FLOOD_WINDOW
# seconds (100 frames), so that a flood is seen within a twentieth of a
# second: a server that stays spread meanwhile falls behind, and a room
# running at the machine's limit never catches up.  A classroom sends a few
# a second; everyone pasting at once, a few dozen in a moment; only W2 of
# the bench's workloads (docs/benchmarks.md) comes near this rate.
FLOOD_RATE = 2000
FLOOD_WINDOW = 0.05

# How long after the last flood the threads may spread again.
CALM_SECONDS = 2.0

TASKS = "/proc/self/task"


class OneCpu:
    """Narrow every thread of this process to one CPU, and widen them back.

    `allowed` is the CPUs to widen back to: by default, those this thread
    may run on now.
    """

    def __init__(self, allowed=None):
        if allowed is None:
            try:
                allowed = os.sched_getaffinity(0)
            except (AttributeError, OSError):  # not Linux
                allowed = ()
        self._allowed = frozenset(allowed)
        self.possible = len(self._allowed) > 1 and os.path.isdir(TASKS)
        self.narrowed = False
        self._window_start = 0.0  # when the frames being counted began
        self._window_frames = 0
        self._flood_at = 0.0  # when the last flood was seen

    def count(self, frames, now):
        """Count room frames just sent; keep to one CPU while they come at a flood's rate."""
        if not self.possible:
            return
        self._window_frames += frames
        elapsed = now - self._window_start
        if elapsed < FLOOD_WINDOW:
            return
        if self._window_frames >= FLOOD_RATE * elapsed:
            self._flood_at = now
            self.narrow()
        self._window_start, self._window_frames = now, 0

    def calm(self, now):
        """Let the threads spread once no flood was seen for CALM_SECONDS."""
        if self.narrowed and now - self._flood_at > CALM_SECONDS:
            self.widen()

    def narrow(self):
        """Keep every thread on the CPU this one runs on (or the first allowed)."""
        if self.narrowed or not self.possible:
            return
        cpu = current_cpu()
        self._set_all({cpu if cpu in self._allowed else min(self._allowed)})
        self.narrowed = True

    def widen(self):
        """Let every thread run on any CPU it was allowed at start."""
        if not self.narrowed:
            return
        self.narrowed = False
        self._set_all(self._allowed)

    def _set_all(self, cpus):
        # A thread started during the pass takes its starter's setting:
        # after narrow(), one CPU, as wanted; during widen(), possibly the
        # narrow one, until the next pass.
        try:
            tasks = os.listdir(TASKS)
        except OSError:
            return
        for task in tasks:
            try:
                os.sched_setaffinity(int(task), cpus)
            except (OSError, ValueError):
                pass  # the thread ended meanwhile


# What a Fanout uses unless the server gives it one: never narrows.
NEVER = OneCpu(allowed=())


def current_cpu():
    """Return the CPU this thread last ran on (field 39 of /proc/thread-self/stat), or None."""
    try:
        with open("/proc/thread-self/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return None
