"""A console for tests: keeps what the room tells it, in order, and prints nothing.

It has the methods of terminal.console.Console that the room calls
(info, error, show, write, close); `lines` holds what info() and error()
were told, in order, `infos` and `errors` each kind alone.
"""


class FakeConsole:
    printer = None

    def __init__(self):
        self.lines = []
        self.infos = []
        self.errors = []
        self.shown = []  # (frame, label) of each show()

    def info(self, text):
        self.infos.append(text)
        self.lines.append(text)

    def error(self, text):
        self.errors.append(text)
        self.lines.append(text)

    def show(self, frame, label=""):
        self.shown.append((frame, label))

    def write(self, text):
        self.lines.append(text)

    def close(self):
        pass
