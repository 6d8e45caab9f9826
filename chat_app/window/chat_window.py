"""The window client: a join form, then the chat, in one Tk window.

Tk is touched only on the Tk thread.  The network runs in a Link's
threads (client/link.py), which put events on a queue; `ChatWindow.poll`
drains it every POLL_MS with root.after and stops rescheduling once the
window closes.  What to show is decided by ChatState (client/chat_state.py)
without Tk; the join form (join_form.py) and the chat (chat_view.py) draw
it, and this module joins them to the network.
"""

import queue
import sys
import threading
import time

import tkinter
from tkinter import messagebox

from ..client import settings
from ..wire import teacher_id
from ..client.chat_state import (
    CHANGED_STATUS,
    CLIENT_WORDS,
    CONSENT,
    FINGERPRINT,
    KICKED,
    NOT_THE_ROOM,
    ROOM_WORDS,
    STUDENT,
    TEACHER,
    ChatState,
    changed_room,
    join_problem,
    message_id,
    password_problem,
    read_fingerprint,
    split_text,
    title,
)
from ..client.link import Link
from ..client.connection import probe_info
from ..wire.commands import (
    HELP_TEXT,
    Command,
    CommandError,
    control_frame,
    hand_command_frame,
    hands_text,
    run_line,
    say_frame,
    teacher_help,
)
from ..wire.protocol import is_blank
from ..discovery.room_search import RoomSearch, same_name_hint
from ..wire.tls import ClientTls, TlsError, parse_fingerprint
from . import teacher_panel
from .chat_view import ChatView, notice
from .join_form import ENCRYPTED_ROOM_WORDS, REFUSED_FIELDS, TLS_REQUIRED, JoinForm, check_address
from .look import apply_theme, make_fonts

# How often the window looks for network events, and how many it handles
# at once: a burst of a thousand messages is drawn over a few polls, so
# the window never stops answering.
POLL_MS = 40
EVENTS_PER_POLL = 250

# Window sizes in pixels: the smallest, and the chat's first size (made
# smaller on a small screen, leaving room for the desktop's panels).
JOIN_MIN_SIZE = (420, 260)
MIN_SIZE = (560, 380)
CHAT_SIZE = (820, 560)
SCREEN_MARGIN = (20, 60)

# The join form asks a typed address's server whether it is recorded once
# the typing has paused this long, so a probe does not go out per key.
PROBE_PAUSE_MS = 600

# Frames that take lines out of the log: the lines before them must be in it.
TAKES_LINES_AWAY = ("deleted", "cleared")

# The password bar's words while the server checks the password typed in it.
CHECKING_PASSWORD = "Checking the password\u2026"

# The bar's button when a rejoin found the room changed, by what it asks for
# (chat_state.changed_room), and its words while joining again.
CHANGE_BUTTONS = {FINGERPRINT: "Join", CONSENT: "Join unencrypted"}
JOINING_ENCRYPTED = "Joining again, encrypted, with the fingerprint typed\u2026"
JOINING_UNENCRYPTED = "Joining again, unencrypted\u2026"

# The status after a refused rejoin whose words are too long for it (the log has them).
REJOIN_STATUS = {
    NOT_THE_ROOM: "Not connected: this is not the room it claims to be (see above).",
    "bad_binding": "Not connected: the connection passes through another computer (see above).",
}

# Said when Enter cannot send (no connection): the typed line stays in the box.
NOT_CONNECTED = ("Not connected, so nothing was sent; your text stays in the box. Press Enter "
                 "again once reconnected.")

# After a teacher's /hands: where else the raised hands show, and what lowers one.
HANDS_IN_WINDOW = ("The same list is under the people, each hand with a Lower button: press it "
                   "once you have helped them (or type /lower NAME); Lower all (or /hands "
                   "down) lowers them all.")

# Asked before the window closes with typed or paced text not yet sent.
LEAVE_TITLE = "Leave the chat?"
LEAVE_QUESTION = "What you typed has not been sent. Leave anyway?"


class ChatWindow:
    """The whole client: the join form, then the chat, and the event poll.

    Hooks for the teacher's panel (teacher_panel.py), kept stable; all are
    used on the Tk thread:

    - `role`: "teacher" or "student", as the last welcome said (None before
      the first join; "student" from a server that names no roles);
    - `send_frame(frame)`: send any frame to the server; False while not
      connected (nothing is sent then);
    - `extra_frames`: a dict frame type -> callable(frame), called for each
      frame of that type after the window has drawn what it draws itself
      (messages, joins, leaves, notices, errors, room_state, deleted,
      cleared, and the student's own hand); a teacher's window adds the
      types it needs ("hand", "room_state", ...);
    - `on_joined_hooks`: a list of callables(welcome), called after each
      join and rejoin has been drawn;
    - `join_fields`: a callable(host, port) -> dict of extra fields for each
      join frame (a teacher's proof), called in the network thread at every
      (re)join; the default, teacher_id.join_fields, sends this computer's
      teacher token to a server on this computer started by this user;
    - `chat`: the ChatView, with its own hooks (people, user_at, message_at);
    - `quit_meaning`: what a teacher's /help says /quit does, when it does
      more than leave (teach makes /quit ask to stop the room).
    """

    def __init__(self, root, options, settings_path=None, search=None):
        self.root = root
        self.settings_path = settings_path
        self.given_tls = getattr(options, "tls_settings", None)  # a tls.ClientTls, or None
        self.tls = self.given_tls  # how the room joined is checked
        self.pin_typed = False  # the pin was typed in the bar, and has not joined yet
        self.room = None  # the room's name, from its welcome (older servers: none)
        self.events = queue.Queue()
        self.session = None
        self.state = None
        self.request = None
        self.lost = ""
        self.ended = None  # why the chat cannot go on, once it cannot
        self.connected_words = ""
        self.status_text = ""  # the status, unless the server keeps says waiting
        self.waiting_words = ""  # what the status says while it does
        self.closed = False
        self.extra_frames = {}
        self.on_joined_hooks = []
        self.join_fields = teacher_id.join_fields
        self.quit_meaning = None
        self.handlers = {
            "joined": self.on_joined, "refused": self.on_refused, "failed": self.on_failed,
            "password": self.on_password, "waiting": self.on_waiting,
            "changed": self.on_changed,
            "frame": self.on_frame, "lost": self.on_lost, "stopped": self.on_stopped,
            "retrying": self.on_retrying, "sending": self.on_sending, "sent": self.on_sent,
            "rooms": self.on_rooms, "info": self.on_info,
        }
        # What each typed command does here; each returns True once the box may empty.
        self.commands = {
            "say": self.say, "msg": self.say, "who": self.who, "help": self.help,
            "quit": lambda command: self.close(), "hand": self.hand_command,
            "control": self.control_command, "hands": self.show_hands,
        }
        # What the chat view does for frames beyond adding log lines.
        self.frame_views = {
            "joined": self.show_people, "left": self.show_people,
            "room_state": self.show_rules, "hand": self.show_rules,
            "deleted": self.on_deleted, "cleared": self.on_cleared,
        }
        self.fonts = make_fonts(root)
        apply_theme(root)
        root.title("chat_app")
        root.minsize(*JOIN_MIN_SIZE)
        root.protocol("WM_DELETE_WINDOW", self.close_asked)
        root.bind_all("<Control-q>", lambda event: self.close_asked())
        values = settings.fill(options, settings_path)
        values["port"] = str(values["port"])
        self.remembered = settings.load(settings_path)
        self.form = JoinForm(root, values, self.join, searching=search is not None)
        self.search = None  # a RoomSearch while the form lists the rooms found
        if search is not None:
            events = self.events  # the search thread holds the queue, never a Tk object
            self.search = RoomSearch(search, lambda rooms, problem: events.put(
                ("rooms", (rooms, problem))))
            self.search.start()
        self.chat = ChatView(root, self.send, self.start_private, self.hand_pressed)
        self._probe_id = None  # the info probe waiting for the typing to pause
        for key in ("host", "port", "fingerprint"):
            self.form.vars[key].trace_add("write", self.address_typed)
        self.form.show()
        self.address_typed()
        root.bind("<FocusIn>", self.focus_changed, add="+")
        root.bind("<FocusOut>", self.focus_changed, add="+")
        self._poll_id = root.after(POLL_MS, self.poll)

    # --- joining ---------------------------------------------------------

    def join(self, request):
        found = request["found"]
        try:  # a room found: pin the whole fingerprint it announced; else what was typed
            if found is not None and found.tls:
                self.tls = ClientTls(pin=found.fingerprint)
            elif found is None and request.get("fingerprint"):
                self.tls = ClientTls(pin=request["fingerprint"])
            else:
                self.tls = self.given_tls
        except TlsError as exc:
            self.form.problem(str(exc))
            return
        self.request = request
        if request.get("teacher_password"):  # else the token, or what teach set
            self.join_fields = teacher_id.proof(request["teacher_password"])
        self.form.busy("Connecting to %s port %d\u2026" % (request["host"], request["port"]))
        self.start_session()

    def start_session(self):
        request = self.request
        self.session = Link(request["host"], request["port"], request["name"],
                               request["password"], self.events, tls=self.tls,
                               rejoining=self.state is not None,
                               join_fields=self.join_fields)
        self.session.start()

    @property
    def role(self):
        """Return "teacher" or "student", as the last welcome said; None before the first."""
        return self.state.role if self.state is not None else None

    def send_frame(self, frame):
        """Send any frame to the server; return False while not connected (nothing is sent)."""
        return self.session is not None and self.session.send(frame)

    def rejoin(self):
        """Join again after a removal or a password refusal, keeping the log."""
        self.chat.hide_bar()
        self.ended = None
        self.set_status("Joining %s port %d again\u2026"
                        % (self.request["host"], self.request["port"]))
        self.start_session()

    def rejoin_with_password(self):
        """Join again with the password typed in the bar, which stays (greyed) until joined."""
        password = self.chat.bar_password.get()
        if not password:
            self.root.bell()
            return
        self.request["password"] = password
        self.chat.bar_busy(CHECKING_PASSWORD)
        self.ended = None
        self.set_status("Joining %s port %d again: %s"
                        % (self.request["host"], self.request["port"], CHECKING_PASSWORD))
        self.start_session()

    def on_waiting(self, wait):
        """The password waits its turn at the server: say why and how long, at most."""
        message, seconds = wait
        words = message or "The server checks the password within %d seconds." % seconds
        if self.state is None:
            self.form.busy(words)
            return
        self.chat.bar_busy(words)
        self.set_status(words)

    def on_rooms(self, result):
        """A search ended: show its rooms in the form, while it shows."""
        if self.state is None and not self.closed:
            rooms, problem = result
            self.form.set_rooms(rooms, self.remembered, problem)

    def address_typed(self, *unused):
        """The address typed changed: ask its server, once the typing pauses, if it is recorded."""
        self.form.show_recorded(False)
        if self._probe_id is not None:
            self.root.after_cancel(self._probe_id)
        self._probe_id = self.root.after(PROBE_PAUSE_MS, self.probe_address)

    def probe_address(self):
        """Ask the typed address's server for its info, in a thread of its own."""
        self._probe_id = None
        if self.state is not None or not self.form.other:
            return
        check = check_address(self.form.values())
        if check.problem:
            return
        typed = probe_key(self.form.values())
        host, port = check.request["host"], check.request["port"]
        try:
            fingerprint = self.form.values()["fingerprint"].strip()
            tls = ClientTls(pin=parse_fingerprint(fingerprint)) if fingerprint else self.given_tls
        except TlsError:
            return  # the form says what is wrong with it when Join is pressed
        events = self.events  # the probe's thread holds the queue, never a Tk object
        threading.Thread(target=lambda: events.put(("info", (typed, probe_info(
            host, port, tls)))), name="chat-info", daemon=True).start()

    def on_info(self, answer):
        """A probe answered: say whether its room is recorded, if the form still shows it."""
        typed, info = answer
        if (self.state is None and self.form.other and typed == probe_key(self.form.values())
                and info is not None):
            self.form.show_recorded(info.get("logged") is True)

    def stop_search(self):
        if self.search is not None:
            self.search.stop()
            self.search = None

    def on_joined(self, welcome):
        first = self.state is None
        self.pin_typed = False
        self.room = welcome.get("room") or self.room
        if first:
            self.stop_search()
            self.state = ChatState(welcome.get("name", self.request["name"]))
            found = self.request["found"]
            settings.save({"host": self.request["host"], "port": self.request["port"],
                           "name": self.state.name,
                           "room": self.room or (found.room if found else "")},
                          self.settings_path)
            self.form.frame.pack_forget()
            self.root.minsize(*MIN_SIZE)
            self.root.geometry(chat_geometry(self.root))
            self.chat.show()
        self.request["name"] = self.session.name
        was_logged = self.state.logged
        unseen, resend = self.state.welcome(welcome)
        for number in self.state.gone:  # deleted by a teacher while this window was away
            self.chat.remove_message(number)
        if self.state.cleared_away:
            self.chat.clear_log()
            self.chat.add([notice(ROOM_WORDS["cleared_away"], "event")])
        if self.state.logged and (first or not was_logged):  # before anything is written
            self.chat.add([notice(ROOM_WORDS["logged"], "event")])
        entries = [self.state.entry_for(frame, history=True) for frame in unseen]
        if entries:
            self.chat.add([notice("Earlier messages:")] + entries
                          + [notice("End of earlier messages.")])
        if first:
            self.chat.add([notice("You joined as %s. Type a message and press Enter; "
                                  "/help lists the commands." % self.state.name)])
        else:
            self.chat.hide_bar()
            self.chat.add([notice("Reconnected.")])
        self.chat.jump_to_end()
        self.session.say_again(resend, self.state)
        self.show_people()
        self.show_rules()
        self.chat.set_stale(None)
        self.connected_words = ("Connected to %s port %d as %s%s."
                                % (self.request["host"], self.request["port"], self.state.name,
                                   ", encrypted" if self.tls else ""))
        self.set_status(self.connected_words)
        self.update_title()
        for hook in list(self.on_joined_hooks):
            hook(welcome)

    # --- sending ---------------------------------------------------------

    def send(self, typed):
        if is_blank(typed):
            return
        try:
            used = run_line(typed, self.commands, teacher=self.state.role == TEACHER)
        except CommandError as error:
            self.chat.add([notice(str(error), "error")])
            return
        if used:
            self.chat.set_typed("")

    def say(self, command):
        """Send a say or msg, cut to the room's length limit at line breaks."""
        pieces = split_text(command.text, self.state.limits.max_text)
        frames = [say_frame(command._replace(text=piece)) for piece in pieces]
        if self.session is None or not self.session.connected:
            self.set_status(self.ended or NOT_CONNECTED)
            self.root.bell()
            return False
        for frame in frames:
            self.session.say(frame, self.state)
        return True

    def hand_pressed(self):
        """The hand button: raise the hand, or lower it when it is up."""
        self.hand_command(Command("hand", "", "down" if self.state.hand else "up"))

    def hand_command(self, command):
        """Send the hand's new state (/hand, /hand down, the button); the server's hand frame
        then changes the button."""
        if self.state.role != STUDENT:
            self.chat.add([notice(ROOM_WORDS["teacher_hand"], "error")])
            return True
        if not self.send_frame(hand_command_frame(command)):
            self.set_status(self.ended or "Not connected, so the teacher was not told. "
                            "Try again once reconnected.")
            self.root.bell()
            return False
        return True

    def control_command(self, command):
        """Send a teacher's typed command (/mute amy, /lock ...) as its control frame.

        The server's answer shows as it comes: room_state and a notice, or
        an error saying why (no_such_user, bad_control ...).
        """
        if not self.send_frame(control_frame(command)):
            self.set_status(self.ended or NOT_CONNECTED)
            self.root.bell()
            return False
        return True

    def show_hands(self, command):
        """/hands: the raised hands this window knows, first raised first."""
        self.chat.add([notice(hands_text(self.state.hands.rows(), HANDS_IN_WINDOW))])
        return True

    def who(self, command):
        self.chat.add([notice("In the room: " + ", ".join(self.state.users))])
        return True

    def help(self, command):
        words = teacher_help(self.quit_meaning) if self.state.role == TEACHER else HELP_TEXT
        self.chat.add([notice(words, "help")])
        return True

    def start_private(self, name):
        typed = self.chat.typed()
        if typed.startswith("/msg "):
            typed = typed[5:].partition(" ")[2]
        self.chat.set_typed("/msg %s %s" % (name, typed))
        self.chat.input.focus_set()

    def on_sending(self, progress):
        self.set_status("Sending %d of %d\u2026" % progress)

    def on_sent(self, total):
        self.set_status(self.connected_words)

    # --- events from the network -----------------------------------------

    def poll(self):
        """Handle waiting network events, then look again soon."""
        if self.closed:
            return
        entries = []
        for _ in range(EVENTS_PER_POLL):
            try:
                kind, value = self.events.get_nowait()
            except queue.Empty:
                break
            if entries and (kind != "frame" or value.get("type") in TAKES_LINES_AWAY):
                self.chat.add(entries)  # drawn before anything else happens to the log
                entries = []
            entries.extend(self.handlers[kind](value) or [])
        if entries:
            self.chat.add(entries)
            self.update_title()
        self.show_waiting()
        if self.state is not None:
            self.chat.show_rules(self.state.rules_words())  # the slow mode's countdown
        self._poll_id = self.root.after(POLL_MS, self.poll)

    def show_waiting(self):
        """Say in the status while the server leaves sent messages unconfirmed."""
        if self.state is None:
            return
        written = self.session.written() if self.session is not None else 0
        count = self.state.waiting_for_server(written, time.monotonic())
        words = waiting_words(count) if count else ""
        if words != self.waiting_words:
            self.waiting_words = words
            self.draw_status()

    def on_frame(self, frame):
        now = time.time()  # lines the server did not stamp (errors, bye) show when they came
        entries = [item if item.time is not None else item._replace(time=now)
                   for item in self.state.apply(frame)]
        refused = self.state.say_refused(frame)
        if refused is not None:
            self.give_back(refused)
            self.show_rules()  # a slow_mode refusal says how long to wait
        view = self.frame_views.get(frame.get("type"))
        if view is not None:
            view(frame)
        extra = self.extra_frames.get(frame.get("type"))
        if extra is not None:
            extra(frame)
        if not self.state.focused and any(
                item.mention or item.kind == "announcement" for item in entries):
            self.root.bell()
        return entries

    def show_people(self, frame=None):
        self.chat.set_users(self.state.users, self.state.is_teacher)

    def show_rules(self, frame=None):
        """Show the hand button and what the rules mean for this person now."""
        self.chat.show_hand(self.state.role == STUDENT, self.state.hand)
        self.chat.show_rules(self.state.rules_words())

    def on_deleted(self, frame):
        number = message_id(frame)
        if number is not None:
            self.chat.remove_message(number)

    def on_cleared(self, frame):
        self.chat.clear_log()

    def on_refused(self, problem):
        code, message = problem
        self.session = None
        if code == KICKED:
            self.on_kicked()
            return
        problem = join_problem(code, message)
        if self.state is None and code == TLS_REQUIRED and self.form.other:
            self.form.problem(ENCRYPTED_ROOM_WORDS, "fingerprint")  # the field is right here
        elif self.state is None:
            self.form.problem(problem, REFUSED_FIELDS.get(code))
        else:
            self.chat.hide_bar()  # a password being checked, if one was: the join is over
            self.chat.add([notice(problem, "error")])
            self.ended = REJOIN_STATUS.get(code) or "Could not rejoin: %s" % problem
            self.set_status(self.ended)

    def on_password(self, refusal):
        """The room wants a (different) password: ask for it, and rejoin with it."""
        message, sent = refusal
        self.session = None
        words = password_problem(message, sent)
        if self.state is None:
            hint = same_name_hint(self.request["found"], self.form.found.values()) if sent else ""
            self.form.problem(" ".join(part for part in (words, hint,
                                                         CLIENT_WORDS["password_type"]) if part),
                              "password")
            return
        self.ended = words
        self.chat.set_stale("disconnected")
        self.chat.show_bar("%s %s" % (words, CLIENT_WORDS["password_type"]), "Join",
                           self.rejoin_with_password, field="password")
        self.set_status("Not connected: the room needs its password.")

    def on_changed(self, change):
        """A rejoin found the room changed: say how in the bar, and ask for what joining needs."""
        self.session = None
        asked = changed_room(change, self.pin(), self.pin_typed)
        self.ended = CHANGED_STATUS[change]
        self.chat.set_stale("disconnected")
        action = self.rejoin_with_fingerprint if asked.asks == FINGERPRINT else self.rejoin_plain
        self.chat.show_bar(asked.words, CHANGE_BUTTONS[asked.asks], action,
                           field=FINGERPRINT if asked.asks == FINGERPRINT else None)
        self.set_status(self.ended)

    def pin(self):
        """Return the fingerprint pinned now, or None (not encrypted, or checked by a CA)."""
        return self.tls.pin if self.tls is not None else None

    def rejoin_with_fingerprint(self):
        """Pin the fingerprint typed in the bar (only what was typed) and join again."""
        pin, problem = read_fingerprint(self.chat.bar_fingerprint.get(), self.pin())
        if problem is None:
            try:
                self.tls = ClientTls(pin=pin)
                self.pin_typed = True
            except TlsError as exc:
                problem = str(exc)
        if problem is not None:
            self.chat.bar_words.configure(text=problem)
            self.chat.bar_fingerprint.select_range(0, "end")
            self.root.bell()
            return
        self.rejoin_changed(JOINING_ENCRYPTED)

    def rejoin_plain(self):
        """Join the room again unencrypted, as the person said to."""
        self.tls = None
        self.rejoin_changed(JOINING_UNENCRYPTED)

    def rejoin_changed(self, words):
        self.chat.bar_busy(words)
        self.ended = None
        self.set_status(words)
        self.start_session()

    def on_kicked(self):
        """The teacher removed us: say why, and offer to join again."""
        words = CLIENT_WORDS["kicked"] % self.state.removed
        self.ended = words
        self.chat.add([notice(words, "error")])
        self.chat.set_stale("you are not in the room")
        self.chat.show_bar(words + " You may join again.", "Rejoin", self.rejoin)
        self.set_status("Not connected: removed by the teacher.")

    def on_failed(self, message):
        self.session = None
        self.form.problem(message)

    def on_lost(self, why):
        self.lost = "Connection lost (%s)" % why.rstrip(".")
        self.chat.set_stale("disconnected")
        self.set_status(self.lost + ".")

    def on_stopped(self, unused):
        self.lost = CLIENT_WORDS["stopped"]
        self.chat.set_stale("disconnected")
        self.set_status(self.lost + ".")

    def on_retrying(self, seconds):
        self.set_status("%s. Trying again in %d s\u2026 Your typing is kept."
                        % (self.lost, seconds))

    def give_back(self, say):
        """Put a refused message back in the box, so nothing typed is lost."""
        text = say["text"]
        if "to" in say:
            text = "/msg %s %s" % (say["to"], text)
        typed = self.chat.typed()
        self.chat.set_typed(text if not typed.strip() else text + "\n" + typed)

    # --- window state ----------------------------------------------------

    def set_status(self, text):
        self.status_text = text
        self.draw_status()

    def draw_status(self):
        self.chat.status.configure(text=self.waiting_words or self.status_text)

    def focus_changed(self, event=None):
        if self.state is None or self.closed:
            return
        self.state.focus(has_focus(self.root))
        self.update_title()

    def update_title(self):
        if self.state is None:
            return
        if self.room:
            room = "chat_app \u2014 %s in %s" % (self.state.name, self.room)
        else:
            room = "chat_app \u2014 %s on %s" % (self.state.name, self.request["host"])
        self.root.title(title(room, self.state.unread))

    def unsent(self):
        """Tell whether typed text, or paced messages, have not gone out yet."""
        waiting = self.session is not None and self.session.waiting()
        return bool(waiting) or not is_blank(self.chat.typed())

    def close_asked(self):
        """Close for the person (Ctrl+Q, the close button), asking first if text is unsent."""
        if self.closed:
            return
        if self.unsent() and not ask_to_leave(self.root):
            return
        self.close()

    def close(self):
        """Leave the room and end the program; never wait more than a moment."""
        if self.closed:
            return
        self.closed = True
        self.stop_search()
        if self._probe_id is not None:
            self.root.after_cancel(self._probe_id)
        self.root.after_cancel(self._poll_id)
        if self.session is not None:
            self.session.close()
        self.root.destroy()


def probe_key(values):
    """Return what an info probe asked about: the address, port and fingerprint typed."""
    return tuple(values.get(key, "").strip() for key in ("host", "port", "fingerprint"))


def waiting_words(count):
    """Return the status while `count` sent messages wait for the server's answer."""
    if count == 1:
        return ("Waiting for the server to confirm 1 message\u2026 (it is kept and sent "
                "again after a reconnect)")
    return ("Waiting for the server to confirm %d messages\u2026 (they are kept and sent "
            "again after a reconnect)" % count)


def has_focus(root):
    """Tell whether any window of this program has the keyboard focus.

    Asked of Tcl by path name: root.focus_displayof() turns the name into a
    tkinter widget, which fails (KeyError) while Tk's own dialogs, such as
    the "Leave the chat?" question, have the focus.
    """
    return bool(root.tk.call("focus", "-displayof", root._w))


def ask_to_leave(root):
    """Ask whether to close although something is unsent; return True for yes."""
    return messagebox.askyesno(LEAVE_TITLE, LEAVE_QUESTION, icon="warning", parent=root)


def chat_geometry(root):
    """Return the chat's first size: CHAT_SIZE, or less on a small screen."""
    width = min(CHAT_SIZE[0], root.winfo_screenwidth() - SCREEN_MARGIN[0])
    height = min(CHAT_SIZE[1], root.winfo_screenheight() - SCREEN_MARGIN[1])
    return "%dx%d" % (max(width, MIN_SIZE[0]), max(height, MIN_SIZE[1]))


def windows_dpi_awareness():
    """Ask Windows for sharp text on high-DPI screens (no effect elsewhere)."""
    if sys.platform != "win32":
        return
    import ctypes
    try:
        ctypes.windll.shcore.SetProcessDpiAwareness(1)
    except (AttributeError, OSError):
        pass  # Windows before 8.1: the system scales the window instead


def open_root():
    """Create the Tk root window; raise tkinter.TclError if there is no display."""
    windows_dpi_awareness()
    return tkinter.Tk(className="chat_app")


def run(root, options, settings_path=None, search=None):
    """Run the window client in `root` until it is closed; return the exit status.

    Joined as a teacher (this computer's token, or the teacher password),
    the window gets the teacher's controls (teacher_panel.py).

    `search` (no address given): a function returning the rooms found on
    the network, which the join form lists, asked again every few seconds.
    """
    teacher_panel.install(ChatWindow(root, options, settings_path, search))
    root.mainloop()
    return 0
