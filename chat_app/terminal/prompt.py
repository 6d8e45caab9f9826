"""Typing at a prompt line that printed lines never break.

Used by the teacher's console (server) and the terminal client alike.  A
Printer prints lines above the prompt line: each line first takes the
prompt off the screen, then puts it back below, with what was typed so far.
A Keyboard reads keys one at a time from an interactive terminal into a
line_editor.LineEditor and yields the lines typed.  POSIX terminals are put
in cbreak mode (unbuffered and not echoed, while Ctrl+C and Ctrl+Z still
send their signals) and given back as they were on close(), and again after
Ctrl+Z and 'fg'; on Windows msvcrt.getwch() reads keys without changing the
console.  When input or output is not an interactive terminal (a pipe, a
file, a job started with '&'), there is no Keyboard: callers read whole
lines as from any stream.
"""

import codecs
import errno
import os
import shutil
import signal
import sys
import threading
import time

from .line_editor import DEFAULT_WIDTH, PROMPT, LineEditor
from ..wire.text_format import wrap

try:
    import termios
except ImportError:  # Windows
    termios = None
try:
    import msvcrt
except ImportError:  # everywhere else
    msvcrt = None

# A program started in the background ('&') that ignores SIGTTIN cannot read
# its terminal; it tries again this often, so typing works once it is brought back.
BACKGROUND_RETRY_SECONDS = 1.0

# Most bytes taken from the terminal at once: a paste arrives in few reads.
READ_BYTES = 1024


class Printer:
    """Lines printed above a prompt line, which stays whole below them."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self._prompt = None  # the line_editor.LineEditor being typed into, if any

    def write(self, text, stream=None):
        """Print a line (on `stream`, the output by default) above the prompt line."""
        with self._lock:
            if self._prompt is not None:
                self._emit(self._prompt.erase())
            self._put(stream or self.out, text + "\n")
            if self._prompt is not None:
                self._emit(self._prompt.draw())

    def show(self, text, stream=None):
        """Print lines that carry what people wrote, wrapped to the output's width now.

        See text_format.wrap: no one's text can start a row the way the
        program's own lines start.
        """
        stream = stream or self.out
        self.write(wrap(text, output_width(stream)), stream)

    def end_line(self):
        """End the line the cursor is on (where the terminal echoed ^C)."""
        with self._lock:
            self._put(self.out, "\n")

    def attach_prompt(self, editor):
        """Keep this LineEditor's prompt line drawn below everything printed."""
        with self._lock:
            self._prompt = editor
            self._emit(editor.draw())

    def detach_prompt(self):
        """Take the prompt line off the screen for good."""
        with self._lock:
            editor, self._prompt = self._prompt, None
            if editor is not None:
                self._emit(editor.erase())

    def redraw_prompt(self, wait=True):
        """Draw the prompt line again where the cursor is (the screen was someone else's).

        With wait=False (from a signal handler, which may have interrupted
        a print) it gives up when a print is under way: that print ends
        by drawing the prompt line anyway.
        """
        if not self._lock.acquire(wait):
            return
        try:
            if self._prompt is not None:
                self._emit(self._prompt.draw())
        finally:
            self._lock.release()

    def clear_typed(self):
        """Drop a half-typed line and redraw; return False when nothing was typed.

        Called from the SIGINT handler, so Ctrl+C clears a typed line as at
        a shell's prompt.  When a print is under way it does not wait: that
        print ends by drawing the prompt line, already cleared.
        """
        editor = self._prompt
        if editor is None or not editor.clear():
            return False
        if self._lock.acquire(False):
            try:
                self._emit(editor.update())
            finally:
                self._lock.release()
        return True

    def resize_prompt(self, width):
        """Tell the prompt line how many columns the terminal has now."""
        with self._lock:
            if self._prompt is not None:
                self._prompt.width = width

    def ask_secret(self, prompt):
        """Take the next line typed without showing it (a password), at `prompt`."""
        with self._lock:
            if self._prompt is not None:
                self._prompt.ask_secret(prompt)
                self._emit(self._prompt.update())

    def typed(self, chars):
        """Feed typed characters to the prompt line and show them; return what feed() returns."""
        with self._lock:
            editor = self._prompt
            if editor is None:
                return []  # the prompt was taken away: the program is ending
            lines = editor.feed(chars)
            self._emit(editor.update())
        return lines

    def _emit(self, text):
        if text:
            self._put(self.out, text)

    def _put(self, stream, text):
        try:
            stream.write(text)
            stream.flush()
        except OSError:
            pass  # the terminal is gone; the program goes on without it


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

    def hung_up(self):
        """Tell whether the terminal has been hung up (its window closed) since it was opened."""
        return hung_up(self.fd)

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

    def hung_up(self):
        """Never seen here: closing the console window raises SIGBREAK instead (relay/listener.py)."""
        return False

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


def terminal_width():
    """Return the terminal's columns (a terminal that does not say counts as the default)."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns or DEFAULT_WIDTH


def output_width(stream):
    """Return the columns to wrap `stream`'s lines at: its terminal's now, else DEFAULT_WIDTH.

    Output that is no terminal (a file, a pipe) is read later in some
    terminal of unknown width: it gets the default, as text sessions do.
    """
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed, or no file at all
        interactive = False
    return terminal_width() if interactive else DEFAULT_WIDTH


class Keyboard:
    """Lines typed at a prompt line on an interactive terminal, printed lines kept above it."""

    def __init__(self, keys, printer, prompt=PROMPT, keep_entered=True):
        self._keys = keys
        self.terminal_closed = False  # whether typing ended because the terminal was hung up
        self._lock = threading.Lock()  # close() may come from two threads at once
        self.printer = printer
        printer.attach_prompt(LineEditor(prompt, width=terminal_width(),
                                         keep_entered=keep_entered))
        if isinstance(keys, PosixKeys) and hasattr(signal, "SIGCONT"):
            # After Ctrl+Z and 'fg' the shell has reset the terminal's mode.
            signal.signal(signal.SIGCONT, self._continued)

    @classmethod
    def open(cls, stream, printer, prompt=PROMPT, keep_entered=True):
        """Return a Keyboard when `stream` and the printer's output are one terminal, else None.

        keep_entered=False takes each entered line off the screen (see
        line_editor.LineEditor).  Call it from the main thread (it sets the
        SIGCONT handler).
        """
        keys = open_keys(stream, printer.out)
        return None if keys is None else cls(keys, printer, prompt, keep_entered)

    def lines(self):
        """Yield each line typed, and END_OF_INPUT for Ctrl+D on an empty line, until
        the terminal is gone or close() is called.

        Then `terminal_closed` says whether the terminal was hung up.
        """
        while True:
            keys = self._keys
            chars = None if keys is None else retry_in_background(keys.read, keys.hung_up)
            if chars is None:
                self.terminal_closed = keys is not None and keys.hung_up()
                return
            self.printer.resize_prompt(terminal_width())
            for line in self.printer.typed(chars):
                yield line

    def ask_secret(self, prompt):
        """Take the next line typed without showing it (a password), at `prompt`."""
        self.printer.ask_secret(prompt)

    def close(self):
        """Take the prompt line away and give the terminal back (safe to call twice)."""
        with self._lock:
            keys, self._keys = self._keys, None
        if keys is not None:
            self.printer.detach_prompt()
            keys.restore()

    def _continued(self, signum, frame):
        keys = self._keys
        if keys is not None and keys.take():
            self.printer.redraw_prompt(wait=False)


def hung_up(fd):
    """Tell whether the terminal open on `fd` has been hung up (its window closed).

    A hung-up terminal stops answering as one (isatty() turns false, reads
    give end of file or EIO).  One merely out of reach, a job in the
    background, still answers as a terminal, and so does one at the end of
    what was typed (Ctrl+D).  Only for a descriptor that was a terminal.
    """
    return not os.isatty(fd)


def hang_up_watch(stream):
    """Return a function telling whether `stream` has been hung up since now.

    A stream that is no terminal now (a file, a pipe, /dev/null) never
    counts as hung up: its end is just the end of its input.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        fd = None  # not a file at all
    if fd is None or not os.isatty(fd):
        return lambda: False
    return lambda: hung_up(fd)


def retry_in_background(read, is_hung_up=lambda: False):
    """Return read()'s answer; None (or "") once the terminal is gone for good.

    EIO means a job in the background reading its terminal (tried again
    each BACKGROUND_RETRY_SECONDS), unless is_hung_up() says the terminal
    was closed.
    """
    while True:
        try:
            return read()
        except OSError as exc:
            if exc.errno == errno.EIO and not is_hung_up():
                time.sleep(BACKGROUND_RETRY_SECONDS)  # wait to be brought back
                continue
            return None  # the terminal is gone: stop listening
        except (ValueError, UnicodeDecodeError):
            return None  # closed, or undecodable bytes: stop listening
