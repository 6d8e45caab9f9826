"""The line the teacher is typing, kept apart from the terminal.

A LineEditor holds the typed text and its cursor.  `feed(chars)` takes what
the terminal delivers (printable characters, Enter, Backspace, Ctrl+U, and
the arrow, Home, End and Delete keys as VT100 escape sequences) and returns
the lines completed by Enter; Up and Down recall earlier lines.  `erase()`
and `draw()` return the text that takes the prompt line off the screen and
puts it back, so a line printed meanwhile lands above the typed command
instead of through it.  They use only carriage return, spaces and
backspace, which every terminal (the Windows console included) understands.
Nothing here reads a key or writes to a terminal: the adapter in
teacher_console.py does.
"""

import unicodedata

PROMPT = "> "

# Escape sequences are at most this long ("\x1b[3~" is 4); a longer one is
# a key we do not know, and is dropped rather than typed.
MAX_ESCAPE_CHARS = 8

# Most earlier lines kept for Up and Down.
MAX_RECALL = 100

# Columns assumed until the adapter says how wide the terminal is.
DEFAULT_WIDTH = 80

ENTER = "enter"


def columns(text):
    """Return how many terminal columns text takes (wide East Asian characters: 2)."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


class LineEditor:
    """A one-line editor driven by typed characters, with no I/O of its own."""

    def __init__(self, prompt=PROMPT, width=DEFAULT_WIDTH):
        self.prompt = prompt
        self.width = width  # the terminal's columns; the adapter keeps it current
        self.text = ""
        self.cursor = 0  # index into text
        self._escape = ""  # an escape sequence begun but not yet complete
        self._after_cr = False  # "\r\n" is one Enter, not two
        self._shown = 0  # columns the last draw() used, for erase()
        self._earlier = []  # lines entered before, oldest first (Up recalls them)
        self._recalled = 0  # how far back Up has gone; 0: the line being typed
        self._draft = ""  # the line being typed, kept while Up shows earlier ones
        self._keys = {
            "\r": self._enter, "\n": self._enter,
            "\x7f": self._backspace, "\x08": self._backspace,
            "\x15": self._kill_line,  # Ctrl+U
            "\x01": self._home, "\x05": self._end,  # Ctrl+A, Ctrl+E
        }
        self._escapes = {
            "\x1b[D": self._left, "\x1b[C": self._right,
            "\x1b[H": self._home, "\x1bOH": self._home, "\x1b[1~": self._home,
            "\x1b[F": self._end, "\x1bOF": self._end, "\x1b[4~": self._end,
            "\x1b[3~": self._delete,
            "\x1b[A": self._up, "\x1bOA": self._up, "\x1b[B": self._down, "\x1bOB": self._down,
        }

    def feed(self, chars):
        """Apply typed characters; return the lines that Enter completed, in order."""
        done = []
        for char in chars:
            if self._escape:
                self._continue_escape(char)
                continue
            if char == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            if char == "\x1b":
                self._escape = char
                continue
            key = self._keys.get(char)
            if key is not None:
                if key() == ENTER:
                    done.append(self._take_line())
            elif unicodedata.category(char)[0] != "C":
                self._insert(char)
            # any other control character is ignored
        return done

    def erase(self):
        """Return the text that clears the drawn prompt line and returns to its start."""
        shown, self._shown = self._shown, 0
        return "\r" + " " * shown + "\r" if shown else "\r"

    def draw(self):
        """Return the text that shows the prompt and the typed text, cursor in place.

        A line too long for the terminal scrolls sideways around the cursor,
        so the drawing never wraps onto a second row.
        """
        room = max(1, self.width - 1 - columns(self.prompt))  # the last column would wrap
        start = 0
        while columns(self.text[start:self.cursor]) > room:
            start += 1
        visible = self.text[start:]
        while columns(visible) > room:
            visible = visible[:-1]
        shown = self.prompt + visible
        self._shown = columns(shown)
        back = columns(visible[self.cursor - start:])
        return shown + "\b" * back

    # --- keys ---------------------------------------------------------

    def _continue_escape(self, char):
        self._escape += char
        sequence = self._escape
        if sequence[1] not in "[O":
            self._escape = ""  # Alt+key and the like: not ours
        elif len(sequence) > 2 and "@" <= char <= "~" and not (sequence[1] == "[" and char == "["):
            self._escape = ""
            action = self._escapes.get(sequence)
            if action is not None:
                action()
        elif len(sequence) >= MAX_ESCAPE_CHARS:
            self._escape = ""

    def _insert(self, char):
        self.text = self.text[:self.cursor] + char + self.text[self.cursor:]
        self.cursor += 1

    def _enter(self):
        return ENTER

    def _take_line(self):
        line, self.text, self.cursor = self.text, "", 0
        if line.strip() and (not self._earlier or self._earlier[-1] != line):
            self._earlier = self._earlier[-(MAX_RECALL - 1):] + [line]
        self._recalled, self._draft = 0, ""
        return line

    def _up(self):
        if self._recalled < len(self._earlier):
            if not self._recalled:
                self._draft = self.text
            self._recalled += 1
            self._show_recalled()

    def _down(self):
        if self._recalled:
            self._recalled -= 1
            self._show_recalled()

    def _show_recalled(self):
        self.text = self._earlier[-self._recalled] if self._recalled else self._draft
        self.cursor = len(self.text)

    def _backspace(self):
        if self.cursor:
            self.text = self.text[:self.cursor - 1] + self.text[self.cursor:]
            self.cursor -= 1

    def _delete(self):
        self.text = self.text[:self.cursor] + self.text[self.cursor + 1:]

    def _kill_line(self):
        self.text, self.cursor = "", 0

    def _left(self):
        self.cursor = max(0, self.cursor - 1)

    def _right(self):
        self.cursor = min(len(self.text), self.cursor + 1)

    def _home(self):
        self.cursor = 0

    def _end(self):
        self.cursor = len(self.text)
