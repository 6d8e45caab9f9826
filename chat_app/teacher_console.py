"""The teacher's commands, typed into the terminal the server runs in.

A daemon thread reads lines from the server's standard input and runs
/who, /kick, /say and /quit against the room; answers go to the server's
console.  It starts only when standard input is a terminal, so a server
started by a script or a service never waits on a keyboard.
"""

import errno
import threading
import time

from .protocol import ProtocolError, clean_text

HELP = """\
Teacher commands:
  /who                    who is connected, from where, since when
  /kick NAME [reason]     remove someone from the room (they may join again)
  /say TEXT               an announcement, shown prominently to everyone
  /quit                   stop the server (the same as Ctrl+C)"""

DEFAULT_KICK_REASON = "no reason given"

# A server started in the background ('&') cannot read its terminal; it
# tries again this often, so the commands work once it is brought back.
BACKGROUND_RETRY_SECONDS = 1.0


class TeacherConsole:
    """Run teacher commands against one server's room."""

    def __init__(self, server, console, stop):
        self.server = server
        self.room = server.room
        self.console = console
        self.stop = stop  # called for /quit (from the console thread)
        self.commands = {
            "who": self.who, "kick": self.kick, "say": self.say,
            "quit": self.quit, "help": self.help,
        }

    def start(self, stream):
        """Read commands from `stream` in a daemon thread until it ends."""
        thread = threading.Thread(target=self._read, args=(stream,),
                                  name="teacher-console", daemon=True)
        thread.start()
        return thread

    def _read(self, stream):
        while True:
            try:
                line = stream.readline()
            except OSError as exc:
                if exc.errno == errno.EIO:  # started with '&': wait to be brought back
                    time.sleep(BACKGROUND_RETRY_SECONDS)
                    continue
                return  # the terminal is gone: stop listening
            except (ValueError, UnicodeDecodeError):
                return  # closed, or undecodable bytes: stop listening
            if not line:
                return
            self.handle(line)

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


def _duration(seconds):
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return "%d min" % minutes
    return "%d h %02d min" % (minutes // 60, minutes % 60)
