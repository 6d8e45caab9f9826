"""The terminal client: chat from a terminal, speaking the JSON protocol.

It shares the window client's network side (a Link, which reconnects
with backoff after a loss) and its ChatState (no history shown twice, no
message lost across a reconnect).  One thread reads the keyboard and puts
each line on the Link's event queue, so the main thread handles network
events and typing one at a time.  End of input (Ctrl+D, or the end of a piped
file) and /quit leave the room politely, once every typed line has gone
out: long pastes are paced to the room's rate limit, and say so.

When standard input and output are an interactive terminal, the student
types at a prompt line below the conversation (terminal.Keyboard, shared
with the teacher's console): a message that arrives is printed above the
half-typed line, which is drawn again whole below it.  A line sent leaves
the prompt: the room relays it back, and that copy is the record, so it
is not shown twice.  Ctrl+D on an empty
line ends input; Ctrl+C leaves at once.  Otherwise (piped input) whole lines
are read, as from any file.

At the start-up questions (name, password, another name after a refusal)
an empty answer asks again; only end of input or Ctrl+C gives up.  A refusal
is said once, with what to do next.  A room that wants a password is asked
for one with getpass before the first join.  Once the keyboard thread is
reading, a password for a rejoin (the server restarted with --password) is
the next line typed, not shown: at the prompt line it is a secret line,
otherwise the terminal's echo is turned off while it is typed, as getpass
does.  A rejoin that finds the room changed (encrypted now, no longer
encrypted, another certificate: tls.CHANGES) stops trying, says so, and
takes the next line typed as the answer: the fingerprint from the board, or
yes to joining unencrypted.
"""

import getpass
import queue
import sys
import threading
import time

from ..wire import interpreter, teacher_id, text_format
from . import settings
from .chat_state import (
    CLIENT_WORDS,
    CONSENT,
    FINGERPRINT,
    HAND_FRAMES,
    KICKED,
    NAME_REFUSALS,
    ROOM_WORDS,
    STUDENT,
    TEACHER,
    ChatState,
    changed_room,
    hand_words,
    password_problem,
    read_fingerprint,
    split_text,
)
from .link import Link
from ..wire.commands import (
    HELP_TEXT,
    CommandError,
    control_frame,
    hand_command_frame,
    hands_text,
    run_line,
    say_frame,
    teacher_help,
)
from ..terminal.line_editor import END_OF_INPUT
from ..wire.local_addresses import host_port
from ..wire.protocol import is_blank
from ..discovery.room_search import (
    CHECK_PROMPT,
    NOT_YOUR_ROOM,
    by_hand,
    check_piped,
    check_words,
    confirmed,
    digits_shown,
    in_order,
    needs_check,
    nothing_found,
    numbered,
    same_name_hint,
    same_name_warnings,
)
from ..discovery.room_search import choice as room_choice
from ..terminal.prompt import Keyboard, Printer
from ..wire.tls import ClientTls, TlsError

try:
    import termios
except ImportError:  # Windows: the password for a rejoin is shown as it is typed
    termios = None

# Where to connect when neither --host nor a remembered server says.
DEFAULT_HOST = "127.0.0.1"

PASSWORD_PROMPT = "Password: "

# What the next typed line answers when a rejoin found the room changed.
CHANGE_PROMPTS = {
    FINGERPRINT: "* Type the fingerprint from the board and press Enter (Ctrl+D to stop):",
    CONSENT: "* Type yes to join it unencrypted, or no to stop, and press Enter:",
}

# ... and what to do instead when no one at this terminal can answer (piped input).
CHANGE_OPTIONS = {
    FINGERPRINT: "Start the client again with --tls --tls-fingerprint \"DIGITS\", the digits "
                 "on the board.",
    CONSENT: "Start the client again without --tls once the teacher says the room is "
             "unencrypted.",
}

# The answers to CONSENT's question.
YES, NO = ("yes", "y"), ("no", "n")

# Several rooms answered but no one can choose at this terminal (piped input).
SEVERAL_ROOMS_PIPED = ("several rooms answered, and no one at this terminal can choose: "
                        "give the address of yours, for example %s (the list above shows "
                        "each room's).")

# What a student whose digits differed reads when the list has other rooms.
ANOTHER_ROOM = ("Choose another room from the list (yours may be there too), or press "
                "Ctrl+D and type the address and fingerprint from the board.")

# How often the main thread wakes while waiting, so Ctrl+C is noticed on
# every system (a wait with no timeout cannot be interrupted on Windows).
WAKE_SECONDS = 0.5


class Done(Exception):
    """The client is finished; `status` is the exit status."""

    def __init__(self, status):
        Exception.__init__(self, status)
        self.status = status


class TerminalClient:
    """The terminal client; `search` (no address given) returns the rooms found, once."""

    def __init__(self, options, stdin=None, stdout=None, search=None):
        values = settings.fill(options)
        self.host = values["host"] or DEFAULT_HOST
        self.port = values["port"]
        self.name = options.name
        self.remembered_name = values["name"]
        self.password = options.password
        # What a join adds: the teacher password given, else this user's token (teacher_id).
        self.join_fields = teacher_id.proof(getattr(options, "teacher_password", None))
        self.tls = getattr(options, "tls_settings", None)  # a tls.ClientTls, or None
        self.search = search
        self.found, self.rooms = None, []  # the room chosen from the list, and the list
        self.asked_port = getattr(options, "port", None)  # searched besides 1234 to 1243
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()
        self.printer = Printer(self.stdout)  # keeps the prompt line whole, when there is one
        self.keyboard = None  # a terminal.Keyboard while typing at a prompt line
        self.events = queue.Queue()
        self.session = None
        self.state = None
        self.unsent = []  # says typed while disconnected, sent after the rejoin
        self.leaving = False
        self.retries = 0  # reconnect attempts since the connection was lost
        self.reading = False  # whether the keyboard thread has started
        self.asking = None  # what the next typed line answers: "password", FINGERPRINT, CONSENT
        self.answers = {"password": self.take_password, FINGERPRINT: self.take_fingerprint,
                        CONSENT: self.take_consent}
        self.change = None  # how the room changed, while the person is asked (tls.CHANGES)
        self.pin_typed = False  # the pin was typed after a change, and has not joined yet
        self.echo = None  # the terminal's settings while its echo is off
        self.handlers = {
            "joined": self.on_joined, "refused": self.on_refused, "failed": self.on_failed,
            "password": self.on_password, "waiting": self.on_waiting,
            "changed": self.on_changed,
            "frame": self.on_frame, "lost": self.on_lost, "stopped": self.on_stopped,
            "retrying": self.on_retrying,
            "sending": self.on_sending, "sent": self.on_sent,
            "typed": self.on_typed, "end": self.on_end,
        }
        # What each typed command does in the terminal.
        self.commands = {
            "say": self.say, "msg": self.say, "quit": lambda command: self.on_end(None),
            "help": self.help,
            "who": lambda command: self.show_room(text_format.render_users(self.state.users)),
            "hand": self.hand, "control": self.control,
            "hands": lambda command: self.show(hands_text(self.state.hands.rows())),
        }
        self.announced_pace = False  # "Sending N more lines" said for this run
        self.all_sent = None  # the run's size, once written, until the server confirms it
        self.said_waiting = False  # "Waiting for the server" said for this stall
        self.said_password_wait = None  # the server's words on the password's wait, once said

    def show(self, text):
        self.printer.write(text)

    def show_room(self, text):
        """Show what the room sent (people's words), wrapped to the terminal's width now."""
        self.printer.show(text)

    def complain(self, text):
        """Say on standard error why the client cannot go on."""
        self.printer.write("chat_app: " + text, sys.stderr)

    def ask(self, prompt, secret=False):
        """Ask the person at the terminal; return None if no one can answer."""
        if not self.interactive:
            return None
        try:
            return getpass.getpass(prompt) if secret else input(prompt)
        except EOFError:
            return None

    def ask_again(self, prompt, secret=False):
        """Ask until something is typed, as nc would; return None at end of input.

        A stray Enter asks again; only end of input (Ctrl+D) gives up, and
        Ctrl+C still stops the program.
        """
        while True:
            answer = self.ask(prompt, secret)
            if answer is None:
                return None
            if not secret:
                answer = answer.strip()
            if answer:
                return answer

    def ask_name(self):
        """Ask for a name, offering the one used last time."""
        last = self.remembered_name
        if not self.interactive:
            return last
        if last:
            return (self.ask("Your name [%s]: " % last) or "").strip() or last
        return self.ask_again("Your name: ")

    def choose_room(self):
        """Search once and choose the room to join; return False (after saying why) if none.

        The only room found is joined, by name; among several the person
        chooses by number.  An encrypted room's whole fingerprint is pinned,
        once the person has said that its digits match the board.
        """
        self.show("* Looking for rooms on this network\u2026")
        try:
            rooms = in_order(self.search())
        except OSError as exc:
            self.complain("cannot look for rooms on this network (%s). Give the server's "
                          "address: %s" % (exc, interpreter.command("client --text ADDRESS")))
            return False
        if not rooms:
            extra = () if self.asked_port is None else (self.asked_port,)
            self.printer.write(nothing_found(extra) + "\n", sys.stderr)
            return False
        if len(rooms) == 1:
            found = rooms[0]
            self.show("* Found one room: %s (%s); joining it." % (found.room, host_port(
                found.address, found.port)))
            if needs_check(found) and not self.check_fingerprint(found):
                return False
        else:
            found = self.ask_room(rooms)
            # Digits that differ send nothing: the person chooses again (the real room may be
            # listed too), until the digits match or input ends.
            while found is not None and needs_check(found) and not self.check_fingerprint(
                    found, ANOTHER_ROOM):
                found = self.ask_room(rooms)
            if found is None:
                return False
        self.host, self.port = found.address, found.port
        self.found, self.rooms = found, rooms
        if found.tls:
            try:
                self.tls = ClientTls(pin=found.fingerprint)
            except TlsError as exc:
                self.complain(str(exc))
                return False
        return True

    def ask_room(self, rooms):
        """Show the rooms numbered and ask which; return it, or None at end of input."""
        self.show("* %d rooms found on this network:" % len(rooms))
        for warning in same_name_warnings(rooms):
            self.show("! " + warning)
        for line in numbered(rooms):
            self.show("  " + line)
        if not self.interactive:
            self.complain(SEVERAL_ROOMS_PIPED % interpreter.command("client --text ADDRESS:PORT"))
            return None
        while True:
            answer = self.ask_again("Which room? Type its number (1-%d): " % len(rooms))
            if answer is None:
                return None
            index = room_choice(answer, len(rooms))
            if index is not None:
                return rooms[index]
            self.show("* %r is not one of the numbers 1 to %d." % (answer, len(rooms)))

    def check_fingerprint(self, found, then=None):
        """Show a found room's fingerprint digits and ask whether they match the board.

        Return True if the person says so; nothing has been sent to the room yet.
        If not, say so, and `then` what to do next (by default, how to join by hand).
        """
        self.show("* " + check_words(found))
        self.show("      " + digits_shown(found))
        if not self.interactive:
            self.complain(check_piped(found))
            return False
        if confirmed(self.ask(CHECK_PROMPT)):
            return True
        if then is None:
            self.complain("%s %s" % (NOT_YOUR_ROOM, by_hand()))
        else:
            self.show("! %s %s" % (NOT_YOUR_ROOM, then))
        return False

    def run(self):
        try:
            if self.search is not None and not self.choose_room():
                return 1
            name = self.name or self.ask_name()
            if not name:
                self.complain(CLIENT_WORDS["no_name"])
                return 1
            self.connect(name)
            while True:
                try:
                    kind, value = self.events.get(timeout=WAKE_SECONDS)
                except queue.Empty:
                    if self.leaving and not self.session.waiting():
                        self.finish_leaving()  # all sent, and the server did not close in time
                    self.check_waiting()
                    continue
                self.handlers[kind](value)
                self.check_waiting()
        except Done as done:
            return done.status
        except KeyboardInterrupt:
            self.leave()
            return 0
        finally:
            self.restore_echo()
            if self.keyboard is not None:
                self.keyboard.close()

    def connect(self, name):
        self.session = Link(self.host, self.port, name, self.password, self.events,
                               tls=self.tls, rejoining=self.state is not None,
                               join_fields=self.join_fields)
        self.session.start()

    # --- network events ----------------------------------------------------

    def on_joined(self, welcome):
        first = self.state is None
        if first:
            self.state = ChatState(welcome.get("name", ""))
            settings.save({"host": self.host, "port": self.port, "name": self.state.name})
        unseen, resend = self.state.welcome(welcome)
        self.retries = 0
        self.pin_typed = False
        self.said_password_wait = None
        if unseen:
            self.show("* Earlier messages:")
            for frame in unseen:  # messages and the teacher's notices
                self.show_room(text_format.render(frame))
            self.show("* End of earlier messages.")
        if first:
            self.show_room(text_format.render_welcome(dict(welcome, history=[])))
            self.show("* Connected to %s port %d%s. Type a message and press Enter."
                      % (self.host, self.port, ", encrypted" if self.tls else ""))
        else:
            self.show("* Reconnected.")
            self.show_room(text_format.render_users(self.state.users))
            for line in text_format.render_rules(welcome):
                self.show(line)
        self.show_teachers()
        if resend:
            self.session.say_again(resend, self.state)
        for say in self.unsent:
            self.session.say(say, self.state)
        self.unsent = []
        if not self.reading:
            self.reading = True
            # Opened here, on the main thread.  A sent line leaves the prompt: the
            # room relays it back, and that line is the record.
            self.keyboard = Keyboard.open(self.stdin, self.printer, keep_entered=False)
            threading.Thread(target=self.read_keyboard, name="keyboard", daemon=True).start()

    def show_teachers(self):
        """Say who teaches, and whether this person is a teacher (the welcome said the rules)."""
        teachers = [name for name in self.state.users
                    if self.state.is_teacher(name) and name != self.state.name]
        if teachers:
            self.show("* %s: %s." % ("Teachers" if len(teachers) > 1 else "Teacher",
                                     ", ".join(teachers)))
        if self.state.role == TEACHER:
            self.show("* You are a teacher in this room.")

    def on_refused(self, problem):
        """Say once why the join was refused and what to do; ask for a name that can help."""
        code, message = problem
        if code == KICKED:
            raise Done(1)  # the teacher's bye was shown, with what to do next
        words = text_format.safe(message)
        if self.state is None and code in NAME_REFUSALS:
            if not self.interactive:
                self.complain("%s %s" % (words, CLIENT_WORDS["name_option"]))
                raise Done(1)
            self.show("! " + words)
            name = self.ask_again("Choose another name: ")
            if name:
                self.connect(name)
                return
            words = CLIENT_WORDS["no_name"]
        self.complain(words)
        raise Done(1)

    def on_password(self, refusal):
        """Ask for the room's password (on the terminal), then join with it."""
        message, sent = refusal
        words = text_format.safe(password_problem(message, sent))
        if sent and self.state is None:  # a first join: perhaps another room of that name
            words = " ".join(part for part in (words, same_name_hint(self.found, self.rooms))
                             if part)
        self.said_password_wait = None  # the next password's wait is said again
        if not self.interactive:
            self.complain("%s %s" % (words, CLIENT_WORDS["password_option"]))
            raise Done(1)
        self.show("! " + words)
        if self.reading:  # the keyboard thread holds the terminal: the next line is it
            self.asking = "password"
            if self.keyboard is not None:
                self.keyboard.ask_secret(PASSWORD_PROMPT)
                return
            self.hide_echo()
            self.stdout.write(PASSWORD_PROMPT)
            self.stdout.flush()
            return
        password = self.ask_again(PASSWORD_PROMPT, secret=True)
        if not password:
            self.complain("no password given. %s" % CLIENT_WORDS["password_option"])
            raise Done(1)
        self.password = password
        self.connect(self.session.name)

    def hide_echo(self):
        """Stop the terminal showing what is typed (the password), as getpass does."""
        if termios is None:
            return
        try:
            fd = self.stdin.fileno()
            self.echo = (fd, termios.tcgetattr(fd))
            quiet = termios.tcgetattr(fd)
            quiet[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        except (OSError, ValueError, termios.error):
            self.echo = None  # not a terminal after all: nothing to hide

    def restore_echo(self):
        if self.echo is not None:
            fd, saved = self.echo
            self.echo = None
            try:
                termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
            except (OSError, termios.error):
                pass  # the terminal is gone: nothing to restore

    def take_password(self, line):
        if self.keyboard is None:  # typed with the echo off, its Enter not shown either
            self.restore_echo()
            self.show("")
        if not line:
            self.show("! No password typed. Type it at the next prompt.")
            self.on_password((None, False))
            return
        self.password = line
        self.connect(self.session.name)

    def on_changed(self, change):
        """A rejoin found the room changed: say how, and ask for what joining it needs."""
        self.change = change
        asked = changed_room(change, self.tls.pin if self.tls is not None else None,
                             self.pin_typed)
        if not self.interactive:
            self.complain("%s %s" % (asked.words, CHANGE_OPTIONS[asked.asks]))
            raise Done(1)
        self.show("! " + asked.words)
        self.ask_change(asked.asks)

    def ask_change(self, asks):
        self.asking = asks
        self.show(CHANGE_PROMPTS[asks])

    def take_fingerprint(self, line):
        """Pin the fingerprint typed (never one the client found itself) and join again."""
        pin, problem = read_fingerprint(line, self.tls.pin if self.tls is not None else None)
        if problem is not None:
            self.show("! " + problem)
            self.ask_change(FINGERPRINT)
            return
        try:
            self.tls = ClientTls(pin=pin)
        except TlsError as exc:
            self.complain(str(exc))
            raise Done(1)
        self.pin_typed = True
        self.show("* Joining again, encrypted\u2026")
        self.connect(self.session.name)

    def take_consent(self, line):
        """Join unencrypted on yes, stop on no, ask again on anything else."""
        answer = line.strip().lower()
        if answer in YES:
            self.tls = None
            self.show("* Joining again, unencrypted\u2026")
            self.connect(self.session.name)
        elif answer in NO:
            self.complain("not joined. %s" % CHANGE_OPTIONS[CONSENT])
            raise Done(1)
        else:
            self.ask_change(CONSENT)

    def on_waiting(self, wait):
        """The password waits its turn at the server: say why and how long, once."""
        message, seconds = wait
        words = text_format.safe(message) or (
            "The server checks the password within %d seconds." % seconds)
        if words != self.said_password_wait:
            self.said_password_wait = words
            self.show("! " + words)

    def on_failed(self, message):
        self.complain(message)
        raise Done(1)

    def on_frame(self, frame):
        shown = self.state.apply(frame)
        refused = self.state.say_refused(frame)
        if frame.get("type") in HAND_FRAMES and self.state.role == TEACHER:  # students', not ours
            self.show("* " + text_format.safe_line(hand_words(frame)))
            return
        text = text_format.render(frame)
        if frame.get("type") == "bye" and frame.get("kicked"):
            text += " " + CLIENT_WORDS["start_again"]  # said once: on_refused adds nothing
        if text is not None and (shown or frame.get("type") not in ("notice", "error")):
            self.show_room(text)
        if refused is not None:  # the prompt line has let it go: show what to type again
            self.not_sent(refused["text"])
        self.say_all_sent()

    def on_sending(self, progress):
        sent, total = progress
        if not self.announced_pace:
            self.announced_pace = True
            self.show("* Sending %d more lines at %g a second (the room's limit)..."
                      % (total - sent, self.state.limits.rate))

    def on_sent(self, total):
        if self.announced_pace:
            self.announced_pace = False
            self.all_sent = total
            self.say_all_sent()

    def say_all_sent(self):
        """Say a paced run is done once the server has confirmed its last line."""
        if self.all_sent is not None and not self.state.unconfirmed():
            self.show("* All %d lines sent." % self.all_sent)
            self.all_sent = None

    def check_waiting(self):
        """Say once per stall that the server leaves sent lines unconfirmed."""
        if self.state is None or self.session is None:
            return
        count = self.state.waiting_for_server(self.session.written(), time.monotonic())
        if count and not self.said_waiting:
            self.show("* Waiting for the server... (%d message%s not yet confirmed)"
                      % (count, "" if count == 1 else "s"))
        self.said_waiting = bool(count)

    def on_lost(self, why):
        why = text_format.safe(why).rstrip(".")
        self.report_loss("Connection lost (%s)" % why, "Still no connection (%s)" % why)

    def on_stopped(self, unused):
        words = CLIENT_WORDS["stopped"]
        self.report_loss(words, "Still no connection: %s%s" % (words[:1].lower(), words[1:]))

    def report_loss(self, first, again):
        """Say the connection is gone (`first`), or still gone after a retry (`again`)."""
        if self.leaving:
            self.finish_leaving()
        self.show("* %s." % (first if self.retries == 0 else again))

    def on_retrying(self, seconds):
        if self.retries == 0:
            self.show("* Reconnecting in %d s... What you type meanwhile is sent once "
                      "the connection is back." % seconds)
        else:
            self.show("* Trying again in %d s..." % seconds)
        self.retries += 1

    # --- typing -------------------------------------------------------------

    def read_keyboard(self):
        """Hand each typed line to the main thread; say when input ends."""
        for line in self.typed_lines():
            self.events.put(("typed", line))
        self.events.put(("end", None))

    def typed_lines(self):
        """Yield the lines typed: at the prompt line until Ctrl+D, else as a file's lines."""
        if self.keyboard is None:
            for line in self.stdin:
                yield line.rstrip("\r\n")
            return
        try:
            for line in self.keyboard.lines():
                if line is END_OF_INPUT:
                    return
                yield line
        finally:
            self.keyboard.close()  # what still arrives is printed plainly

    def on_typed(self, line):
        if self.asking is not None:
            answer, self.asking = self.answers[self.asking], None
            answer(line)
            return
        if is_blank(line):
            return
        try:
            run_line(line, self.commands, teacher=self.state.role == TEACHER)
        except CommandError as error:
            self.show("! %s" % error)
            self.not_sent(line)

    def not_sent(self, text):
        """Show a typed text that did not go, to type again (the prompt line let it go)."""
        self.show('* Not sent: "%s"' % text_format.safe(text))

    def help(self, command):
        self.show(teacher_help() if self.state.role == TEACHER else HELP_TEXT)

    def control(self, command):
        """Send a teacher's typed command (/mute amy, /lock ...) as its control frame.

        The server answers with a notice and room_state, or an error saying why.
        """
        if not self.session.send(control_frame(command)):
            self.show("* Not connected, so that was not sent. Type it again once the "
                      "connection is back.")

    def hand(self, command):
        """/hand raises the student's hand, /hand down lowers it."""
        if self.state.role != STUDENT:
            self.show("! " + ROOM_WORDS["teacher_hand"])
        elif not self.session.send(hand_command_frame(command)):
            self.show("* Not connected, so the teacher was not told. Type it again once "
                      "the connection is back.")

    def say(self, command):
        """Send a say or msg (cut to the room's length limit), or keep it for later."""
        for piece in split_text(command.text, self.state.limits.max_text):
            frame = say_frame(command._replace(text=piece))
            if not self.session.say(frame, self.state):
                self.unsent.append(frame)
                # Named, since the prompt line no longer shows what was typed.
                self.show('* Not connected: "%s" will be sent once the connection is back.'
                          % text_format.safe(frame["text"]))

    def on_end(self, unused):
        """Leave politely, showing what still arrives until the server closes."""
        if self.unsent:
            self.show("! %d line(s) typed while disconnected were not sent." % len(self.unsent))
        if not self.session.send({"type": "leave"}):
            self.finish_leaving()
        self.leaving = True

    def finish_leaving(self):
        self.leave()
        raise Done(0)

    def leave(self):
        if self.session is not None:
            self.session.close()


def run(options):
    """Run the terminal client; return the exit status."""
    return TerminalClient(options, search=getattr(options, "search", None)).run()
