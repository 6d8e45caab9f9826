"""The server's console: one object, `console`, that every part of the room prints through.

The room, its connections, the sender thread, the log, discovery and the
teacher's commands each get the Console as `console` and call its
methods: `info` (news: joins, leaves, what the teacher did), `error`
(warnings and faults), `show` (a message of the conversation), `write`
(text as it is: the banner), and `close` at shutdown.  `Quiet` stands in
where no one watches (tests, tools): it prints only errors, to standard
error.
"""

import sys
import time

from ..wire import text_format
from ..wire.protocol import counted
from .console_buffer import ConsoleBuffer
from .prompt import Printer

# At shutdown, how long the console gets to print what is waiting.  A
# console that takes nothing (paused with Ctrl+S) loses the rest.
CONSOLE_FLUSH_SECONDS = 0.3

# What the console says where it skipped lines because it stopped taking them.
SKIPPED_WORDS = ("%s skipped here: this console stopped taking output (paused with Ctrl+S, "
                 "a selection in its window, or a stalled pipe) and the room went on "
                 "without waiting for it. Ctrl+Q undoes Ctrl+S; /who and /hands show the "
                 "room now, and the log (--log) keeps every message.")


class Console:
    """Timestamped lines for the person running the server, and the room's conversation.

    They go through a terminal.Printer, so while the teacher types at a
    prompt line (see relay/teacher_console.py) a join or a message never breaks
    the typed command.  Messages are wrapped to the console's width as they
    are printed, with the hanging indent (text_format.wrap).  Output to an
    OS file (a terminal, a pipe, a file) can stall, so it goes through a
    ConsoleBuffer and its own thread: the room never waits for the console,
    which says how many lines it skipped if it stopped taking them.  Output
    to memory (a test's sink) is written at once.
    """

    def __init__(self, out=None, err=None):
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self.printer = Printer(self._out)
        self._buffer = None
        if can_stall(self._out):
            self._buffer = ConsoleBuffer(self._print, self._skipped)

    def info(self, text):
        self._put(self._out, "%s  %s" % (time.strftime("%H:%M:%S"), text))

    def error(self, text):
        self._put(self._err, "%s  %s" % (time.strftime("%H:%M:%S"), text))

    def write(self, text):
        """Print text as it is, after what is waiting (the banner)."""
        self._put(self._out, text)

    def show(self, frame, label=""):
        """Print a room frame as people at a terminal see it (it carries its own time).

        `label` goes before it: the teacher's console puts the message's id there.
        """
        text = text_format.render(frame)
        if text is not None:
            self._put(None, label + text)

    def close(self):
        """Print what is waiting, for at most CONSOLE_FLUSH_SECONDS (see ConsoleBuffer.close)."""
        if self._buffer is not None:
            self._buffer.close(CONSOLE_FLUSH_SECONDS)

    def _put(self, stream, text):
        """Print, or hold for the console's thread; stream None: a message, wrapped."""
        if self._buffer is None:
            self._print((stream, text))
        else:
            self._buffer.put((stream, text), len(text))

    def _print(self, item):
        stream, text = item
        if stream is None:
            self.printer.show(text)
        else:
            self.printer.write(text, stream)

    def _skipped(self, count):
        self.printer.write("%s  %s" % (time.strftime("%H:%M:%S"), SKIPPED_WORDS % counted(
            count, "line")))


def can_stall(stream):
    """Tell whether writing to `stream` may block: an OS file (a terminal, a pipe), not memory."""
    try:
        stream.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is both
        return False
    return True


class Quiet:
    """A console no one watches: errors go to standard error, news nowhere.

    Built where no Console is given (tests, tools, embedded use); the
    server always gives its Console.
    """

    printer = None

    def info(self, text):
        pass

    def error(self, text):
        print(text, file=sys.stderr)

    def write(self, text):
        pass

    def show(self, frame, label=""):
        pass

    def close(self):
        pass


# The console of whatever is given none (see Quiet).
QUIET = Quiet()
