"""What the server's console prints, held in a bounded buffer and printed by a thread of its own.

A console can stop taking output: Ctrl+S in a terminal, a selection
started with a click in a Windows console window, output piped into a
program that stalled.  A write to it then blocks, and a room thread that
wrote would stop delivering to everyone.  So the room's threads only put
lines here and go on; one thread prints them.  When the buffer is full,
lines are skipped and counted; once the console takes output again and
what was held before the gap is printed, the printing thread says how
many were skipped, where they were missing.  Nothing here knows what a
line is: the Console (console.py) gives the items and the two ways to print.
"""

import collections
import threading
import time

# Most lines held for a console that stopped taking output: minutes of a
# lively class's conversation, so a short pause (a selection held while
# reading) loses nothing ...
MAX_LINES = 2000

# ... and most characters: a flood of long messages (4000 characters
# each by default) is held up to this much, so a stuck console never
# costs the server more than about a megabyte.
MAX_CHARS = 256 * 1024


class ConsoleBuffer:
    """Items printed in order by a daemon thread; beyond the limits, skipped and counted.

    `print_item(item)` prints one item and may block as long as the
    console does; `print_skipped(count)` says that `count` were skipped.
    Both run on the buffer's thread only.
    """

    def __init__(self, print_item, print_skipped, max_lines=MAX_LINES, max_chars=MAX_CHARS):
        self._print_item = print_item
        self._print_skipped = print_skipped
        self._max_lines = max_lines
        self._max_chars = max_chars
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._items = collections.deque()  # (item, chars), oldest first
        self._chars = 0
        self._gap = 0  # items skipped after those held; while any are, every new one is
        self._printing = False  # whether the thread is printing something it took
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)
        self._thread.start()

    def put(self, item, chars):
        """Hold an item `chars` characters long for printing; return False if it was skipped.

        Once one is skipped, all are until the console has printed what
        was held before them, so the skipped ones make one gap, said once.
        """
        with self._lock:
            full = len(self._items) >= self._max_lines or self._chars + chars > self._max_chars
            if self._gap or (full and self._items):
                self._gap += 1
                return False
            self._items.append((item, chars))
            self._chars += chars
            self._changed.notify_all()
            return True

    def close(self, timeout):
        """Print what is held within `timeout` seconds; return whether all of it was printed.

        The thread then ends (left behind, it is a daemon, if the console
        still takes nothing).
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            self._changed.notify_all()
            while self._items or self._gap or self._printing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def _take(self):
        """Wait for the next thing to print; return (item, skipped count), or None at the end."""
        with self._lock:
            while not (self._items or self._gap or self._closed):
                self._changed.wait()
            if self._items:
                item, chars = self._items.popleft()
                self._chars -= chars
                taken = (item, 0)
            elif self._gap:
                taken, self._gap = (None, self._gap), 0
            else:
                return None  # closed, and all printed
            self._printing = True
            return taken

    def _run(self):
        while True:
            taken = self._take()
            if taken is None:
                return
            item, skipped = taken
            try:
                if skipped:
                    self._print_skipped(skipped)
                else:
                    self._print_item(item)
            except (OSError, ValueError):
                pass  # the console is gone or cannot show this line: the rest still go
            finally:
                with self._lock:
                    self._printing = False
                    self._changed.notify_all()
