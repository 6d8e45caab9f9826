"""The terminal client: chat from a terminal, speaking the JSON protocol.

The main thread reads the server and prints what arrives; a daemon thread
reads what the person types and sends it.  End of input (Ctrl+D, or the end
of a piped file) and /quit leave the room politely.
"""

import getpass
import sys
import threading

from . import settings, text_format
from .commands import HELP_TEXT, CommandError, parse_line
from .connection import ConnectError, JoinRefused, ServerConnection

# Where to connect when neither --host nor a remembered server says.
DEFAULT_HOST = "127.0.0.1"

# Refusals a person can fix by typing something else.
RETRY_NAME = ("name_taken", "bad_name")


class Roster:
    """The names in the room, as the server last described them."""

    def __init__(self, names):
        self._lock = threading.Lock()
        self._names = list(names)

    def apply(self, frame):
        with self._lock:
            if frame.get("type") == "joined":
                self._names.append(frame.get("name"))
            elif frame.get("type") == "left" and frame.get("name") in self._names:
                self._names.remove(frame.get("name"))

    def names(self):
        with self._lock:
            return list(self._names)


class TerminalClient:
    def __init__(self, options, stdin=None, stdout=None):
        values = settings.fill(options)
        self.host = values["host"] or DEFAULT_HOST
        self.port = values["port"]
        self.name = options.name
        self.remembered_name = values["name"]
        self.password = options.password
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()
        self.connection = None
        self.roster = Roster([])
        self.leaving = threading.Event()

    def show(self, text):
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def ask(self, prompt, secret=False):
        """Ask the person at the terminal; return None if no one can answer."""
        if not self.interactive:
            return None
        try:
            return getpass.getpass(prompt) if secret else input(prompt)
        except EOFError:
            return None

    def ask_name(self):
        """Ask for a name, offering the one used last time."""
        last = self.remembered_name
        if not self.interactive:
            return last
        answer = self.ask("Your name [%s]: " % last if last else "Your name: ")
        return (answer or "").strip() or last

    def join(self):
        """Connect and join, asking again for a refused name or password."""
        name = self.name or self.ask_name()
        password = self.password
        if not name:
            raise ConnectError("No name given. Start the client with --name NAME.")
        while True:
            connection = ServerConnection.open(self.host, self.port)
            try:
                welcome = connection.join(name, password)
                settings.save({"host": self.host, "port": self.port,
                               "name": welcome.get("name", name)})
                return connection, welcome
            except JoinRefused as refusal:
                connection.close()
                self.show("! " + text_format.safe(refusal.message))
                if refusal.code in RETRY_NAME:
                    name = self.ask("Choose another name: ")
                elif refusal.code == "bad_password":
                    password = self.ask("Password: ", secret=True)
                else:
                    raise ConnectError(refusal.message)
                if not name or (refusal.code == "bad_password" and password is None):
                    raise ConnectError(refusal.message)

    def run(self):
        try:
            self.connection, welcome = self.join()
        except ConnectError as error:
            sys.stderr.write("chat_app: %s\n" % error)
            return 1
        self.roster = Roster(welcome.get("users") or [])
        self.show(text_format.render(welcome))
        self.show("* Connected to %s port %d. Type a message and press Enter."
                  % (self.host, self.port))
        typing = threading.Thread(target=self.read_keyboard, name="keyboard", daemon=True)
        typing.start()
        try:
            return self.read_server()
        except KeyboardInterrupt:
            self.leave()
            return 0
        finally:
            self.connection.close()

    def read_server(self):
        """Print what the server sends until the connection ends."""
        while True:
            try:
                frame = self.connection.receive()
            except ConnectError as error:
                frame, lost = None, str(error)
            else:
                lost = "the server closed the connection"
            if frame is None:
                if self.leaving.is_set():
                    return 0
                self.show("* Connection lost: %s. Run the client again to reconnect." % lost)
                return 1
            kind = frame.get("type")
            if kind == "ping":
                self.connection.send({"type": "pong"})
                continue
            self.roster.apply(frame)
            text = text_format.render(frame)
            if text is not None:
                self.show(text)
            if kind == "bye":
                self.leaving.set()

    def read_keyboard(self):
        """Send each typed line; leave at /quit or the end of input."""
        for line in self.stdin:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            try:
                command = parse_line(line)
            except CommandError as error:
                self.show("! %s" % error)
                continue
            if command.kind == "quit":
                break
            if command.kind == "help":
                self.show(HELP_TEXT)
            elif command.kind == "who":
                self.show(text_format.render_users(self.roster.names()))
            else:
                frame = {"type": "say", "text": command.text}
                if command.kind == "msg":
                    frame["to"] = command.target
                if not self.connection.send(frame):
                    self.show("! Not sent: the connection to the server is lost.")
                    return
        self.leave()

    def leave(self):
        self.leaving.set()
        self.connection.send({"type": "leave"})


def run(options):
    """Run the terminal client; return the exit status."""
    return TerminalClient(options).run()
