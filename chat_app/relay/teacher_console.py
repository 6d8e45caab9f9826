"""The teacher's commands, typed into the terminal the server runs in.

A daemon thread reads the server's standard input and runs the teacher's
commands (COMMANDS: /who, /kick, /say, the room's rules, hands, /quit)
against the room; answers go to the server's console.  The rules change
through the same controls a teacher's window sends (Room.apply_control),
and the room prints each change on the console, whoever made it.  The
conversation the console shows carries each message's id ("#42"), so
/delete 42 can name it.  It
starts only when standard input is a terminal, so a server started by a
script or a service never waits on a keyboard.  When that terminal is
closed (hung up: its window closed), the server stops as for SIGHUP;
the end of input from a terminal still there (Ctrl+D, a job in the
background) stops nothing.

When both standard input and output are an interactive terminal, the
teacher types at a prompt line that the console's printed lines never break
(terminal.Keyboard; Ctrl+C still stops the server).  Otherwise whole lines
are read, as from any stream.
"""

import functools
import threading
import time

from ..wire import text_format
from ..wire.commands import (
    CONTROL_FIELDS,
    TEACHER_COMMANDS,
    USAGES,
    Command,
    CommandError,
    control_frame,
    hands_text,
    help_text,
)
from ..terminal.line_editor import END_OF_INPUT
from ..wire.text_format import columns
from .moderation import DEFAULT_KICK_REASON
from ..wire.names import name_key
from ..wire.protocol import ProtocolError, clean_text
from ..terminal.prompt import Keyboard, hang_up_watch, retry_in_background

# The teacher's commands: what /help shows, in this order (the rules, hands
# and announcements as a teacher's client takes them too: commands.py).  The
# handlers of the same names are TeacherConsole's dispatch table.
COMMANDS = (("who", "/who", "who is connected, from where, since when"),) + TEACHER_COMMANDS + (
    ("quit", "/quit", "stop the server (the same as Ctrl+C)"),
    ("help", "/help", "this list"),
)

HELP = help_text("Teacher commands:", [(usage, meaning) for _, usage, meaning in COMMANDS])

# After a raised hand whose student is not in the room: a hand goes down when
# its student leaves, but a restart keeps the hands of those in the room at
# the stop, for them to find when they come back.
AWAY = "  (not back since the server restarted)"

# Said when a rule command changes nothing (locking a locked room).
UNCHANGED = "Nothing to change: the room is already so (the room's rules now: %s)."

# Ctrl+D at the prompt would end a shell; here it must not end the commands.
END_OF_INPUT_HINT = "Ctrl+D does not stop the server: type /quit or press Ctrl+C."

# Said (to a log file, if the output goes to one) when the terminal the
# commands came from was closed: the server stops as for Ctrl+C.
TERMINAL_CLOSED = ("the terminal this server was started in was closed: stopping the server. "
                   "To keep a server running without its window, start it with 'nohup'.")

class TeacherConsole:
    """Run teacher commands against one server's room."""

    def __init__(self, server, console, stop):
        self.server = server
        self.room = server.room
        self.console = console
        self.stop = stop  # called for /quit (from the console thread)
        handlers = {"who": self.who, "kick": self.kick, "say": self.say,
                    "quit": self.quit, "help": self.help, "hands": self.hands}
        for name in CONTROL_FIELDS:
            handlers[name] = functools.partial(self.control, name)
        self.commands = {name: handlers[name] for name, _, _ in COMMANDS}
        self._keyboard = None
        if self.room.watch is not None:  # the conversation, each message with its id
            self.room.watch = self.show

    def start(self, stream):
        """Read commands from `stream` in a daemon thread until it ends; return the thread.

        When `stream` and the console's output are one interactive terminal,
        the teacher types at a prompt line that printed lines never break;
        close() gives the terminal back.
        """
        self._keyboard = Keyboard.open(stream, self.console.printer)
        if self._keyboard is not None:
            target, args = self._read_keys, (self._keyboard,)
        else:  # whether it is a terminal is asked now, before it can be closed
            target, args = self._read_lines, (stream, hang_up_watch(stream))
        thread = threading.Thread(target=target, args=args,
                                  name="teacher-console", daemon=True)
        thread.start()
        return thread

    def close(self):
        """Take the prompt line away and restore the terminal (safe to call twice)."""
        if self._keyboard is not None:
            self._keyboard.close()

    def _read_lines(self, stream, closed):
        while True:
            line = retry_in_background(stream.readline, closed)
            if not line:
                if closed():
                    self._terminal_closed()
                return  # the end of the input (a file, Ctrl+D): the server goes on
            self.handle(line)

    def _read_keys(self, keyboard):
        try:
            for line in keyboard.lines():
                if line is END_OF_INPUT:
                    self.console.info(END_OF_INPUT_HINT)
                else:
                    self.handle(line)
        finally:
            keyboard.close()
        if keyboard.terminal_closed:
            self._terminal_closed()

    def _terminal_closed(self):
        """The teacher's terminal is gone (window closed): stop as for SIGHUP."""
        self.console.info(TERMINAL_CLOSED)
        self.stop()

    def handle(self, line):
        """Run one typed line."""
        line = line.strip()
        if not line:
            return
        if not line.startswith("/"):
            self.console.info("Commands start with /. To tell everyone something, "
                              "type '/say %s'" % line[:60])
            return
        name, _, rest = line[1:].partition(" ")
        command = self.commands.get(name.lower())
        if command is None:
            self.console.info("Unknown command /%s.\n%s" % (name[:20], HELP))
            return
        command(rest.strip())

    def show(self, frame):
        """Print a room message as a terminal shows it, its id first: #42 [10:02] <amy> hi."""
        self.console.show(frame, "#%s " % frame.get("id"))

    def control(self, name, rest):
        """Run a rule command (/mute, /lock, /slow ...) as the room's `control` frames do."""
        usage = USAGES[name]
        try:
            frame = dict(CONTROL_FIELDS[name](rest), action=name)
        except ValueError:
            self.console.info("Usage: %s" % usage)
            return
        self.apply(frame, usage)

    def apply(self, frame, usage):
        """Carry out a control frame, saying why not if it is refused, or if it changes nothing."""
        try:
            words = self.room.apply_control(frame)
        except ProtocolError as error:
            self.console.info("Not done: %s (usage: %s)" % (error.message, usage))
            return
        if words is None:
            self.console.info(UNCHANGED % describe_rules(self.room.rules()))

    def hands(self, rest):
        """/hands lists the raised hands; /hands down lowers them all."""
        if rest:
            try:
                frame = control_frame(Command("control", "hands", rest))
            except CommandError as error:
                self.console.info(str(error))
                return
            self.apply(frame, USAGES["hands"])
            return
        now = time.time()
        here = {name_key(name) for name in self.room.users()}
        self.console.info(hands_text([
            (hand["name"], "%s (%s)%s" % (time.strftime("%H:%M:%S", time.localtime(hand["time"])),
                                          _duration(now - hand["time"]),
                                          "" if name_key(hand["name"]) in here else AWAY))
            for hand in self.room.hands()]))

    def who(self, rest):
        members = self.room.members()
        if not members:
            self.console.info("Nobody has joined yet (%d connection(s) open)."
                              % self.room.connection_count())
            return
        now = time.time()
        lines = ["%d in the room:" % len(members)]
        # Columns as wide as their longest entry, so a class fits in 80 columns.
        name_width = max(columns(name) for name, _, _ in members)
        address_width = max(len(address) for _, address, _ in members)
        for name, address, since in members:
            lines.append("  %s  %-*s  since %s (%s)" % (
                name + " " * (name_width - columns(name)), address_width, address,
                time.strftime("%H:%M:%S", time.localtime(since)), _duration(now - since)))
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
        id_, count = self.room.announce(text)
        self.console.info("announced to %s as #%d (kept in history for late joiners): %s"
                          % (text_format.people(count), id_, text))

    def quit(self, rest):
        self.console.info("stopping the server (/quit)")
        self.stop()

    def help(self, rest):
        self.console.info(HELP)


def _duration(seconds):
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return "%d min" % minutes
    return "%d h %02d min" % (minutes // 60, minutes % 60)


def describe_rules(state):
    """Return the room's rules in words, for the console."""
    words = ["locked" if state["locked"] else "open",
             "slow mode %d s" % state["slow"] if state["slow"] else "no slow mode",
             "private messages between students %s" % ("on" if state["private"] else "off")]
    if state["muted"]:
        words.append("muted: " + ", ".join(state["muted"]))
    return "; ".join(words)
