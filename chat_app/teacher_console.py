"""The teacher's commands, typed into the terminal the server runs in.

A daemon thread reads the server's standard input and runs /who, /kick,
/say and /quit against the room; answers go to the server's console.  It
starts only when standard input is a terminal, so a server started by a
script or a service never waits on a keyboard.

When both standard input and output are an interactive terminal, keys are
read one at a time (POSIX: cbreak mode, Ctrl+C still stops the server;
Windows: msvcrt.getwch) into a line_editor.LineEditor, and the console
redraws the typed line below every line it prints.  Otherwise whole lines
are read, as from any stream.
"""

import codecs
import errno
import os
import shutil
import signal
import threading
import time

from .line_editor import DEFAULT_WIDTH, LineEditor
from .protocol import ProtocolError, clean_text

try:
    import termios
except ImportError:  # Windows
    termios = None
try:
    import msvcrt
except ImportError:  # everywhere else
    msvcrt = None

# The teacher's commands: what /help shows, in this order.  The handlers
# of the same names are TeacherConsole's dispatch table.
COMMANDS = (
    ("who", "/who", "who is connected, from where, since when"),
    ("kick", "/kick NAME [reason]", "remove someone from the room (they may join again)"),
    ("say", "/say TEXT", "an announcement, shown prominently to everyone and kept in history"),
    ("quit", "/quit", "stop the server (the same as Ctrl+C)"),
    ("help", "/help", "this list"),
)


def help_text(title, rows):
    """Return a title and (usage, meaning) rows as aligned columns."""
    width = max(len(usage) for usage, _ in rows) + 3
    return "\n".join([title] + ["  %-*s%s" % (width, usage, meaning) for usage, meaning in rows])


HELP = help_text("Teacher commands:", [(usage, meaning) for _, usage, meaning in COMMANDS])

DEFAULT_KICK_REASON = "no reason given"

# A server started in the background ('&') cannot read its terminal; it
# tries again this often, so the commands work once it is brought back.
BACKGROUND_RETRY_SECONDS = 1.0

# Most bytes taken from the terminal at once: a paste arrives in few reads.
READ_BYTES = 1024


class PosixKeys:
    """Keys from a POSIX terminal in cbreak mode: unbuffered, not echoed, Ctrl+C still a signal."""

    def __init__(self, fd):
        self.fd = fd
        self._saved = termios.tcgetattr(fd)
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode

    def take(self):
        """Switch the terminal to cbreak mode if this process is in its foreground.

        Return whether it did.  From the background, changing the mode would
        stop the process (SIGTTOU) and unsettle the shell that owns it.
        """
        try:
            if os.tcgetpgrp(self.fd) != os.getpgrp():
                return False
            mode = termios.tcgetattr(self.fd)
            mode[3] &= ~(termios.ICANON | termios.ECHO)  # local flags; ISIG stays on
            mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
            return True
        except (OSError, termios.error):
            return False

    def read(self):
        """Return the next typed characters, or None when the terminal is gone."""
        data = os.read(self.fd, READ_BYTES)
        return self._decode(data) if data else None

    def restore(self):
        """Give the terminal back as it was found (from the background the shell already has)."""
        try:
            if os.tcgetpgrp(self.fd) == os.getpgrp():
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        except (OSError, termios.error):
            pass  # the terminal is gone: nothing to give back


class WindowsKeys:
    """Keys from the Windows console (Ctrl+C stays a signal there too)."""

    # getwch() gives "\x00" or "\xe0" and then a code for a special key;
    # these become the VT100 sequences LineEditor knows.
    SPECIAL = {"K": "\x1b[D", "M": "\x1b[C", "G": "\x1b[H", "O": "\x1b[F", "S": "\x1b[3~",
               "H": "\x1b[A", "P": "\x1b[B"}

    def read(self):
        """Return the next typed characters ("" for a key the editor does not use)."""
        char = msvcrt.getwch()
        if char in ("\x00", "\xe0"):
            return self.SPECIAL.get(msvcrt.getwch(), "")
        return char

    def restore(self):
        """Nothing to give back: getwch() does not change the console's mode."""


def open_keys(stream, screen):
    """Return a key reader when `stream` and `screen` are one interactive terminal, else None."""
    try:
        fd = stream.fileno()
        interactive = stream.isatty() and screen is not None and screen.isatty()
    except (AttributeError, ValueError, OSError):
        return None
    if not interactive:
        return None
    if msvcrt is not None:
        return WindowsKeys()
    if termios is None:
        return None
    try:
        keys = PosixKeys(fd)
    except (OSError, termios.error):
        return None
    return keys if keys.take() else None  # started with '&': read lines instead


def _terminal_width():
    """Return the terminal's columns (a terminal that does not say counts as the default)."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns or DEFAULT_WIDTH


class TeacherConsole:
    """Run teacher commands against one server's room."""

    def __init__(self, server, console, stop):
        self.server = server
        self.room = server.room
        self.console = console
        self.stop = stop  # called for /quit (from the console thread)
        handlers = {"who": self.who, "kick": self.kick, "say": self.say,
                    "quit": self.quit, "help": self.help}
        self.commands = {name: handlers[name] for name, _, _ in COMMANDS}
        self._keys = None

    def start(self, stream, screen=None):
        """Read commands from `stream` in a daemon thread until it ends; return the thread.

        With `screen` (where the console prints) and `stream` one
        interactive terminal, the teacher types at a prompt line that
        printed lines never break; close() gives the terminal back.
        """
        self._keys = open_keys(stream, screen)
        if self._keys is not None:
            self.console.attach_prompt(LineEditor(width=_terminal_width()))
            target, source = self._read_keys, self._keys
            if isinstance(self._keys, PosixKeys) and hasattr(signal, "SIGCONT"):
                # After Ctrl+Z and 'fg' the shell has reset the terminal's mode.
                signal.signal(signal.SIGCONT, self._continued)
        else:
            target, source = self._read_lines, stream
        thread = threading.Thread(target=target, args=(source,),
                                  name="teacher-console", daemon=True)
        thread.start()
        return thread

    def _continued(self, signum, frame):
        if self._keys is not None and self._keys.take():
            self.console.redraw_prompt()

    def close(self):
        """Take the prompt line away and restore the terminal (safe to call twice)."""
        keys, self._keys = self._keys, None
        if keys is not None:
            self.console.detach_prompt()
            keys.restore()

    def _read_lines(self, stream):
        while True:
            line = _retry_in_background(stream.readline)
            if not line:
                return
            self.handle(line)

    def _read_keys(self, keys):
        try:
            while True:
                chars = _retry_in_background(keys.read)
                if chars is None:
                    return
                self.console.resize_prompt(_terminal_width())
                for line in self.console.typed(chars):
                    self.handle(line)
        finally:
            self.close()

    def handle(self, line):
        """Run one typed line."""
        line = line.strip()
        if not line:
            return
        if not line.startswith("/"):
            self.console.info("Commands start with /. To tell everyone something, "
                              "type /say %s" % line[:60])
            return
        name, _, rest = line[1:].partition(" ")
        command = self.commands.get(name.lower())
        if command is None:
            self.console.info("Unknown command /%s.\n%s" % (name[:20], HELP))
            return
        command(rest.strip())

    def who(self, rest):
        members = self.room.members()
        if not members:
            self.console.info("Nobody has joined yet (%d connection(s) open)."
                              % self.room.connection_count())
            return
        now = time.time()
        lines = ["%d in the room:" % len(members)]
        for name, address, since in members:
            lines.append("  %-20s %-40s since %s (%s)" % (
                name, address, time.strftime("%H:%M:%S", time.localtime(since)),
                _duration(now - since)))
        self.console.info("\n".join(lines))

    def kick(self, rest):
        name, _, reason = rest.partition(" ")
        if not name:
            self.console.info("Usage: /kick NAME [reason]")
            return
        reason = reason.strip() or DEFAULT_KICK_REASON
        kicked = self.room.kick(name, reason)
        if kicked is None:
            self.console.info("Nobody called %s is in the room; /who lists who is." % name[:40])
        else:
            self.console.info("removed %s (%s)" % (kicked, reason))

    def say(self, rest):
        try:
            text = clean_text(rest, self.server.options.max_text)
        except ProtocolError as error:
            self.console.info("Not sent: %s Usage: /say TEXT" % error.message)
            return
        count = self.room.announce(text)
        self.console.info("announced to %d member(s): %s" % (count, text))

    def quit(self, rest):
        self.console.info("stopping the server (/quit)")
        self.stop()

    def help(self, rest):
        self.console.info(HELP)


def _retry_in_background(read):
    """Return read()'s answer; None (or "") once the terminal is gone for good."""
    while True:
        try:
            return read()
        except OSError as exc:
            if exc.errno == errno.EIO:  # started with '&': wait to be brought back
                time.sleep(BACKGROUND_RETRY_SECONDS)
                continue
            return None  # the terminal is gone: stop listening
        except (ValueError, UnicodeDecodeError):
            return None  # closed, or undecodable bytes: stop listening


def _duration(seconds):
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return "%d min" % minutes
    return "%d h %02d min" % (minutes // 60, minutes % 60)
