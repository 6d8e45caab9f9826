"""The line being typed (a teacher's command, a student's message), kept apart from the terminal.

A LineEditor holds the typed text and its cursor.  `feed(chars)` takes what
the terminal delivers (printable characters, Enter, Backspace, Ctrl+U,
Ctrl+D, and the arrow, Home, End and Delete keys as VT100 escape sequences)
and returns the lines completed by Enter, and END_OF_INPUT for Ctrl+D on an
empty line; Up and Down recall earlier lines.  `erase()` and `draw()` return
the text that takes the prompt line off the screen and puts it back, so a
line printed meanwhile lands above the typed line instead of through it;
`update()` shows what feed() changed.  They use only carriage return, spaces
and backspace, which every terminal (the Windows console included)
understands.  A line entered stays on the screen after the prompt, as in
any terminal, unless the editor is made with keep_entered=False (the chat
client, where the room relays the line back and that is the record).
`ask_secret(prompt)` takes the next line without showing it
(a password), then gives back the line that was being typed.  Nothing here
reads a key or writes to a terminal: prompt.py does.
"""

import unicodedata

from ..wire.text_format import columns

PROMPT = "> "

# Escape sequences are at most this long ("\x1b[3~" is 4); a longer one is
# a key we do not know, and is dropped rather than typed.
MAX_ESCAPE_CHARS = 8

# Most earlier lines kept for Up and Down.
MAX_RECALL = 100

# Columns assumed until the adapter says how wide the terminal is.
DEFAULT_WIDTH = 80

# What a key's handler returns when feed() has something to report.
ENTER = "enter"
END = "end"

# What feed() returns for Ctrl+D on an empty line: the person has finished
# typing, as at the end of a file.  Not a string, so no line is mistaken for it.
END_OF_INPUT = None


class LineEditor:
    """A one-line editor driven by typed characters, with no I/O of its own."""

    def __init__(self, prompt=PROMPT, width=DEFAULT_WIDTH, keep_entered=True):
        self.prompt = prompt
        self.keep_entered = keep_entered  # whether an entered line stays on the screen
        self.width = width  # the terminal's columns; the adapter keeps it current
        self.text = ""
        self.cursor = 0  # index into text
        self._escape = ""  # an escape sequence begun but not yet complete
        self._after_cr = False  # "\r\n" is one Enter, not two
        self._shown = 0  # columns the last draw() used, for erase()
        self._earlier = []  # lines entered before, oldest first (Up recalls them)
        self._recalled = 0  # how far back Up has gone; 0: the line being typed
        self._draft = ""  # the line being typed, kept while Up shows earlier ones
        self._drawn = None  # what the last draw() showed, until erase()
        self._finished = ""  # completed lines as they stay on the screen, for update()
        self._secret = None  # while a secret is typed: (prompt, text, cursor) to go back to
        self._keys = {
            "\r": self._enter, "\n": self._enter,
            "\x7f": self._backspace, "\x08": self._backspace,
            "\x15": self._kill_line,  # Ctrl+U
            "\x01": self._home, "\x05": self._end,  # Ctrl+A, Ctrl+E
            "\x04": self._end_of_input,  # Ctrl+D
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
                outcome = key()
                if outcome == ENTER:
                    done.append(self._take_line())
                elif outcome == END:
                    done.append(END_OF_INPUT)
            elif unicodedata.category(char)[0] != "C":
                self._insert(char)
            # any other control character is ignored
        return done

    @property
    def secret(self):
        """Whether the line being typed is a secret (not shown, not recalled)."""
        return self._secret is not None

    def ask_secret(self, prompt):
        """Take the next line without showing it, at `prompt`; the typed line waits meanwhile."""
        if self._secret is None:
            self._secret = (self.prompt, self.text, self.cursor)
        self.prompt, self.text, self.cursor = prompt, "", 0

    def erase(self):
        """Return the text that clears the drawn prompt line and returns to its start."""
        shown, self._shown, self._drawn = self._shown, 0, None
        return "\r" + " " * shown + "\r" if shown else "\r"

    def draw(self):
        """Return the text that shows the prompt and the typed text, cursor in place.

        A line too long for the terminal scrolls sideways around the cursor,
        so the drawing never wraps onto a second row.  A secret shows the
        prompt only.
        """
        self._drawn, self._shown = self._picture()
        return self._drawn

    def update(self):
        """Return the text that shows what feed() changed ("" when the screen is up to date).

        Lines completed since the last update stay on the screen after the
        prompt, as in any terminal (a secret leaves nothing, and nothing
        stays without keep_entered); the prompt line is drawn again below them.
        """
        finished, self._finished = self._finished, ""
        if not finished and self._drawn is not None and self._picture()[0] == self._drawn:
            return ""
        return self.erase() + finished + self.draw()

    def _picture(self):
        """Return the prompt line's drawing and the columns it takes."""
        if self._secret is not None:
            return self.prompt, columns(self.prompt)
        room = max(1, self.width - 1 - columns(self.prompt))  # the last column would wrap
        start = 0
        while columns(self.text[start:self.cursor]) > room:
            start += 1
        visible = self.text[start:]
        while columns(visible) > room:
            visible = visible[:-1]
        shown = self.prompt + visible
        back = columns(visible[self.cursor - start:])
        return shown + "\b" * back, columns(shown)

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

    def _end_of_input(self):
        if not self.text:
            return END
        self._delete()  # as in a shell: Ctrl+D within a line deletes
        return None

    def _take_line(self):
        line, self.text, self.cursor = self.text, "", 0
        if self._secret is not None:
            self.prompt, self.text, self.cursor = self._secret
            self._secret = None
            return line
        if self.keep_entered:
            self._finished += self.prompt + line + "\n"
        if line.strip() and (not self._earlier or self._earlier[-1] != line):
            self._earlier = self._earlier[-(MAX_RECALL - 1):] + [line]
        self._recalled, self._draft = 0, ""
        return line

    def _up(self):
        if self._secret is None and self._recalled < len(self._earlier):
            if not self._recalled:
                self._draft = self.text
            self._recalled += 1
            self._show_recalled()

    def _down(self):
        if self._secret is None and self._recalled:
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

    def clear(self):
        """Drop what is typed (Ctrl+C at a shell's prompt); return whether there was any."""
        if not self.text:
            return False
        self._kill_line()
        return True

    def _left(self):
        self.cursor = max(0, self.cursor - 1)

    def _right(self):
        self.cursor = min(len(self.text), self.cursor + 1)

    def _home(self):
        self.cursor = 0

    def _end(self):
        self.cursor = len(self.text)
