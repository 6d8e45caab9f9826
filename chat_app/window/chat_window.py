"""The window client: a join form, then the chat, in one Tk window.

Tk is touched only on the Tk thread.  The network runs in a Link's
threads (client/link.py), which put events on a queue; `ChatWindow.poll`
drains it every POLL_MS with root.after and stops rescheduling once the
window closes.  What to show is decided by ChatState (chat_state.py) without
Tk; this module only builds widgets and draws.
"""

import collections
import queue
import re
from argparse import ArgumentTypeError
from collections import namedtuple
import sys
import threading
import time

import tkinter
from tkinter import font as tkfont
from tkinter import messagebox
from tkinter import ttk

from ..client import settings
from ..wire import teacher_id
from ..client.chat_state import (
    CHANGED_STATUS,
    CLIENT_WORDS,
    CONSENT,
    FINGERPRINT,
    FINGERPRINT_WORDS,
    KICKED,
    NAME_REFUSALS,
    NOT_THE_ROOM,
    ROOM_WORDS,
    STUDENT,
    TEACHER,
    ChatState,
    changed_room,
    entry,
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
    hand_frame,
    hands_text,
    run_line,
    say_frame,
    teacher_help,
)
from ..wire.local_addresses import host_port
from ..wire.protocol import DEFAULT_PORT, ProtocolError, check_name, is_blank
from ..discovery.room_search import (
    CHECK_TITLE,
    DIFFER_BUTTON,
    MATCH_BUTTON,
    NOT_YOUR_ROOM,
    RoomSearch,
    check_words,
    digits_shown,
    listing,
    needs_check,
    preselect,
    room_key,
    same_name_hint,
    same_name_warnings,
)
from ..wire.tls import ClientTls, TlsError, parse_fingerprint
from ..wire.text_format import TEACHER_MARK, clock

# How often the window looks for network events, and how many it handles
# at once: a burst of a thousand messages is drawn over a few polls, so
# the window never stops answering.
POLL_MS = 40
EVENTS_PER_POLL = 250

# The log keeps this many lines; older ones are dropped as new ones come.
MAX_LOG_LINES = 5000

# Window sizes in pixels: the smallest, and the chat's first size (made
# smaller on a small screen, leaving room for the desktop's panels).
JOIN_MIN_SIZE = (420, 260)
MIN_SIZE = (560, 380)
CHAT_SIZE = (820, 560)
SCREEN_MARGIN = (20, 60)

# "192.168.1.23 1235" in the address field: the port typed after a space,
# as people write it on paper; it belongs after a colon.
PORT_AFTER_SPACE = re.compile(r"(\S+)\s+(\d+)")

# The join form's words and list of rooms, when started without an address.
ASK_TEACHER = "Your teacher gives you the server address."
LOOKING = "Looking for rooms on this network\u2026"
OTHER_ADDRESS = "Other address\u2026"
NO_ROOMS = ("No room has answered yet; still looking. Is the server running? If it does "
            "not show up, ask your teacher for the server address and press %s"
            % OTHER_ADDRESS)
CHOOSE_ROOM = ("Choose your room in the list (Up and Down keys), or press %s to type "
               "the server address." % OTHER_ADDRESS)
NO_ROOM_TO_CHOOSE = ("No room is listed yet. Press %s and type the address from the board."
                     % OTHER_ADDRESS)
# The refusal of a plain connection by an encrypted room, and what the form asks then.
TLS_REQUIRED = "tls_required"
ENCRYPTED_ROOM_WORDS = ("This room is encrypted. Type the fingerprint from the board (at least "
                        "its first 16 digits, for example C71A 9210 44B3 0F2E) in the "
                        "Fingerprint field, then press Enter.")
NEEDS_PASSWORD = ("%s needs a password: type the one your teacher gave you, then press "
                  "Enter.")
# The list's columns: name, heading, and a long usual value, whose width in
# the list's font (and a margin) is the column's, so that the 16 digits and
# an address show whole in any font; the room's name takes what is left.
ROOM_COLUMNS = (("room", "Room", "[same name] Lab 3 \u2014 Algebra"),
                ("people", "People", "23 people"), ("locks", "Locks", "password"),
                ("fingerprint", "Fingerprint begins", "C71A 9210 44B3 0F2E"),
                ("address", "Address", "192.168.1.100:1240"))
COLUMN_MARGIN = 16
ROOM_ROWS = 5  # rows shown; more scroll
# What the form says after "They differ": room_search.NOT_YOUR_ROOM, and the way in.
DIGITS_DIFFER = ("%s To join your teacher's room, press %s and type the address and "
                 "fingerprint from the board." % (NOT_YOUR_ROOM, OTHER_ADDRESS))

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

# The reader counts as at the end of the log while its last line shows.
AT_END = 0.999

# Labels that wrap to their width keep this many pixels spare, so the last
# word is never cut by the border.
WRAP_SPARE = 16

# Fonts of the tags in a log line's prefix, to measure its width for the
# hanging indent; any other tag is in ChatText.
TAG_FONTS = (("own", "ChatBold"), ("sender", "ChatBold"), ("teacher", "ChatBold"),
             ("action", "ChatItalic"), ("event", "ChatItalic"),
             ("notice", "ChatItalic"), ("announcement", "ChatBold"), ("help", "ChatMono"))

COLORS = {
    "time": "#808080", "sender": "#1f4e99", "own": "#2e7d32", "private": "#8e24aa",
    "notice": "#6d6d6d", "error": "#c62828", "history": "#8a8a8a",
    "mention": "#fff3b0", "private_bg": "#f6ecfa",
    "announcement": "#8a3b00", "announcement_bg": "#ffe6cc",
    "stale": "#a0a0a0", "bar_bg": "#fff4d6",
    "teacher": "#b71c1c", "event": "#5d4037", "rules": "#8a3b00",
}

# The hand button says what pressing it does: raise the hand, or lower it (it is up).
HAND_BUTTON = {False: "Raise hand", True: "Lower hand"}

# The log's marks around message ID: how a message is found again.  Marks,
# not a tag per message: with a full log (5000 tags) each line drawn and
# trimmed cost the Tk thread about 2.7 ms instead of 0.02 ms.
MESSAGE_MARKS = ("message%d", "message%d.end")


def message_marks(number):
    """Return the names of the log's marks before and after message `number`."""
    return tuple(mark % number for mark in MESSAGE_MARKS)


def make_fonts(root):
    """Create the named fonts the window uses, sized from the system's.

    Return the Font objects: the caller keeps them, since a named font
    made here is deleted when its Font object is collected.
    """
    base = tkfont.nametofont("TkDefaultFont").actual()
    size = abs(base["size"]) + 1
    specs = {
        "ChatText": dict(family=base["family"], size=size),
        "ChatBold": dict(family=base["family"], size=size, weight="bold"),
        "ChatItalic": dict(family=base["family"], size=size, slant="italic"),
        "ChatTitle": dict(family=base["family"], size=size + 4, weight="bold"),
        "ChatMono": dict(family=tkfont.nametofont("TkFixedFont").actual()["family"],
                         size=size),
        "ChatDigits": dict(family=tkfont.nametofont("TkFixedFont").actual()["family"],
                           size=size + 8, weight="bold"),
    }
    fonts = {}
    for name, spec in specs.items():
        if name in tkfont.names(root):
            fonts[name] = tkfont.Font(root, name=name, exists=True)
            fonts[name].configure(**spec)
        else:
            fonts[name] = tkfont.Font(root, name=name, **spec)
    return fonts


def apply_theme(root):
    """Use the native theme on Windows and macOS, and clam on X11."""
    style = ttk.Style(root)
    if root.tk.call("tk", "windowingsystem") == "x11":
        style.theme_use("clam")
    style.configure("Problem.TLabel", foreground=COLORS["error"])
    style.configure("Title.TLabel", font="ChatTitle")
    style.configure("Status.TLabel", padding=(6, 2))
    style.configure("Bar.TFrame", background=COLORS["bar_bg"])
    style.configure("Bar.TLabel", background=COLORS["bar_bg"])
    style.configure("Rules.TLabel", foreground=COLORS["rules"], padding=(0, 0))
    style.configure("Recorded.TLabel", foreground=COLORS["event"], font="ChatItalic")
    style.configure("Digits.TLabel", font="ChatDigits")


# The join form's field to fix after a refused join, by the error's code.
REFUSED_FIELDS = dict([(code, "name") for code in NAME_REFUSALS]
                      + [("bad_teacher", "teacher_password"), (NOT_THE_ROOM, "host"),
                         ("bad_binding", "host")])

# The join form's choice for a teacher joining from another computer.
TEACHER_CHOICE = "I am the teacher (joining from another computer)"


class JoinForm:
    """The first view: where to connect and under which name.

    With `searching`, the rooms found on the network come first, in a list
    (set_rooms), and the address fields show only after "Other address...".
    Joining an encrypted room from the list takes a step of its own first
    (show_check): its fingerprint's digits, to compare with the board,
    and nothing is sent to it until the person says they match.
    """

    def __init__(self, parent, values, on_join, searching=False):
        self.on_join = on_join
        self.searching = searching
        self.other = not searching  # the person types an address
        self.found = {}  # the list's rows: room_key -> found room
        self.preselected = None  # the row chosen for the person, until they choose
        self.pending = None  # the join waiting for the fingerprint's check
        self.frame = ttk.Frame(parent, padding=24)
        self.vars = {key: tkinter.StringVar(parent, value=values.get(key, ""))
                     for key in ("host", "port", "fingerprint", "name", "password",
                                 "teacher_password")}
        # "I am the teacher": shows the teacher password's field (ticked if one was given).
        self.teacher = tkinter.BooleanVar(parent, value=bool(values.get("teacher_password")))
        self.create_widgets()
        self.create_check(parent)

    def create_widgets(self):
        frame = self.frame
        ttk.Label(frame, text="Join the chat", style="Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w")
        self.intro = ttk.Label(frame, text=LOOKING if self.searching else ASK_TEACHER,
                               foreground=COLORS["notice"])
        if self.searching:  # its words change with each search
            self.intro.configure(wraplength=420, justify="left")
        self.intro.grid(row=1, column=0, columnspan=2, sticky="w", pady=(2, 12))
        row = 2
        if self.searching:
            row = self.create_list(row)
        rows = [("Server address", "host", {}), ("Port", "port", {"width": 8}),
                ("Fingerprint (encrypted rooms)", "fingerprint", {}),
                ("Your name", "name", {}), ("Password (if the room has one)", "password",
                                            {"show": "\u2022"})]
        self.entries = {}
        self.labels = {}
        for index, (label, key, extra) in enumerate(rows, start=row):
            self.labels[key] = ttk.Label(frame, text=label)
            self.labels[key].grid(row=index, column=0, sticky="w", padx=(0, 12), pady=4)
            entry = ttk.Entry(frame, textvariable=self.vars[key], width=extra.get("width", 32),
                              **{k: v for k, v in extra.items() if k != "width"})
            entry.grid(row=index, column=1, sticky="w" if key == "port" else "ew", pady=4)
            entry.bind("<Return>", self.submit)
            entry.bind("<KP_Enter>", self.submit)
            if self.searching and key in ("name", "password"):  # the keys the hint names
                entry.bind("<Up>", lambda event: self.move_choice(-1))
                entry.bind("<Down>", lambda event: self.move_choice(1))
            self.entries[key] = entry
        row += len(rows)
        row = self.create_teacher_field(row)
        self.recorded = ttk.Label(frame, text=ROOM_WORDS["logged"], style="Recorded.TLabel",
                                  wraplength=420, justify="left")
        self.recorded.grid(row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))
        self.recorded.grid_remove()  # until the room chosen or typed is known to be recorded
        self.button = ttk.Button(frame, text="Join", command=self.submit, default="active")
        self.button.grid(row=row + 1, column=1, sticky="e", pady=(12, 0))
        self.button.bind("<Return>", self.submit)
        self.message = ttk.Label(frame, text="", wraplength=420, justify="left")
        self.message.grid(row=row + 2, column=0, columnspan=2, sticky="ew", pady=(12, 0))
        frame.columnconfigure(1, weight=1)
        if not self.other:
            self.show_address(False)

    def create_teacher_field(self, row):
        """"I am the teacher", and under it the teacher password (shown once ticked)."""
        ttk.Checkbutton(self.frame, text=TEACHER_CHOICE, variable=self.teacher,
                        command=self.show_teacher_field).grid(
            row=row, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.labels["teacher_password"] = ttk.Label(self.frame, text="Teacher password")
        self.labels["teacher_password"].grid(row=row + 1, column=0, sticky="w", padx=(0, 12),
                                             pady=4)
        entry = ttk.Entry(self.frame, textvariable=self.vars["teacher_password"], width=32,
                          show="\u2022")
        entry.grid(row=row + 1, column=1, sticky="ew", pady=4)
        entry.bind("<Return>", self.submit)
        entry.bind("<KP_Enter>", self.submit)
        self.entries["teacher_password"] = entry
        self.show_teacher_field()
        return row + 2

    def show_teacher_field(self):
        """Show the teacher password's field while "I am the teacher" is ticked."""
        for widget in (self.labels["teacher_password"], self.entries["teacher_password"]):
            if self.teacher.get():
                widget.grid()
            else:
                widget.grid_remove()
        if self.teacher.get() and self.frame.winfo_ismapped():
            self.entries["teacher_password"].focus_set()

    def create_list(self, row):
        """The rooms found: name, people, locks, address; one row chosen at a time."""
        self.tree = ttk.Treeview(self.frame, columns=[column for column, _, _ in ROOM_COLUMNS],
                                 show="headings", height=ROOM_ROWS, selectmode="browse")
        measure = tkfont.nametofont("TkDefaultFont").measure
        for column, heading, sample in ROOM_COLUMNS:
            self.tree.heading(column, text=heading, anchor="w")
            self.tree.column(column, width=max(measure(heading), measure(sample)) + COLUMN_MARGIN,
                             stretch=column == "room", anchor="w")
        self.tree.tag_configure("same_name", foreground=COLORS["error"])
        self.tree.grid(row=row, column=0, columnspan=2, sticky="nsew")
        self.tree.bind("<<TreeviewSelect>>", self.room_chosen)
        self.tree.bind("<Return>", self.submit)
        self.tree.bind("<KP_Enter>", self.submit)
        # Rooms that share a name: which is the teacher's, only the board says.
        self.same_name = ttk.Label(self.frame, text="", style="Problem.TLabel", wraplength=560,
                                   justify="left")
        self.same_name.grid(row=row + 1, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.same_name.grid_remove()
        self.other_button = ttk.Button(self.frame, text=OTHER_ADDRESS, command=self.type_address)
        self.other_button.grid(row=row + 2, column=0, columnspan=2, sticky="w", pady=(6, 6))
        return row + 3

    def create_check(self, parent):
        """The step before joining an encrypted room from the list: its digits, two answers.

        Keyboard: Tab moves between the answers, Enter or Space gives the
        one with the focus (at first "They differ"), Escape is "They differ".
        """
        self.check = ttk.Frame(parent, padding=24)
        ttk.Label(self.check, text=CHECK_TITLE, style="Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w")
        self.check_words = ttk.Label(self.check, text="", wraplength=480, justify="left")
        self.check_words.grid(row=1, column=0, columnspan=2, sticky="w", pady=(8, 12))
        self.check_digits = ttk.Label(self.check, text="", style="Digits.TLabel")
        self.check_digits.grid(row=2, column=0, columnspan=2, sticky="w", pady=(0, 16))
        buttons = ttk.Frame(self.check)
        buttons.grid(row=3, column=0, columnspan=2, sticky="w")
        self.match_button = ttk.Button(buttons, text=MATCH_BUTTON, command=self.digits_match)
        self.differ_button = ttk.Button(buttons, text=DIFFER_BUTTON, command=self.digits_differ)
        for button in (self.match_button, self.differ_button):
            button.pack(side="left", padx=(0, 12))
            for key in ("<Return>", "<KP_Enter>"):
                button.bind(key, lambda event, button=button: press(button))
            button.bind("<Escape>", lambda event: press(self.differ_button))

    def show_address(self, shown):
        """Show or hide the fields of a typed address (address, port, fingerprint)."""
        for key in ("host", "port", "fingerprint"):
            for widget in (self.labels[key], self.entries[key]):
                if shown:
                    widget.grid()
                else:
                    widget.grid_remove()

    def show_recorded(self, recorded):
        """Say, or stop saying, that the room chosen or typed is recorded."""
        if recorded:
            self.recorded.grid()
        else:
            self.recorded.grid_remove()

    def type_address(self):
        """"Other address...": leave the list, and type the address instead."""
        self.other = True
        self.show_recorded(False)  # until a probe of the typed address says so
        self.tree.selection_set(())
        self.message.configure(text="")  # advice about the list is stale now
        self.show_address(True)
        self.entries["host"].focus_set()
        self.entries["host"].select_range(0, "end")

    def move_choice(self, step):
        """Up or Down typed in a field: choose the room above or below in the list."""
        rows = self.tree.get_children()
        if rows:
            selection = self.tree.selection()
            index = rows.index(selection[0]) + step if selection else 0
            chosen = rows[max(0, min(len(rows) - 1, index))]
            self.tree.selection_set(chosen)
            self.tree.see(chosen)
        return "break"

    def room_chosen(self, event=None):
        if self.tree.selection() != (self.preselected,):
            self.preselected = None  # the person chose: their choice stays
        if self.tree.selection():
            self.other = False
            self.show_address(False)
            self.show_recorded(is_recorded(self.chosen()))

    def set_rooms(self, rooms, remembered, problem=None):
        """Show the rooms of the newest search, keeping the choice made; preselect one.

        A room chosen for the person (preselected) is let go once another
        room has come with its name: which one is the teacher's, only the
        board says.
        """
        listed = listing(rooms)
        self.found = {item.key: item.found for item in listed}
        for key in self.tree.get_children():
            if key not in self.found:
                self.tree.delete(key)
        for index, item in enumerate(listed):
            tags = ("same_name",) if item.same_name else ()
            if self.tree.exists(item.key):
                self.tree.item(item.key, values=item.row, tags=tags)
                self.tree.move(item.key, "", index)
            else:
                self.tree.insert("", index, iid=item.key, values=item.row, tags=tags)
        self.intro.configure(text=rooms_words(len(rooms), problem))
        self.show_same_names(same_name_warnings(rooms))
        if any(item.same_name and item.key == self.preselected for item in listed):
            if self.tree.selection() == (self.preselected,):
                self.tree.selection_set(())
            self.preselected = None
        chosen = preselect(rooms, remembered)
        if not self.other and not self.tree.selection() and chosen is not None:
            self.preselected = room_key(chosen)
            self.tree.selection_set(room_key(chosen))
            self.tree.focus(room_key(chosen))
            self.tree.see(room_key(chosen))
        if not self.other:  # the chosen room's answer may have changed
            self.show_recorded(is_recorded(self.chosen()))

    def show_same_names(self, warnings):
        """Say under the list which rooms share a name, and what to do; nothing if none do."""
        self.same_name.configure(text="\n".join(warnings))
        if warnings:
            self.same_name.grid()
        else:
            self.same_name.grid_remove()

    def chosen(self):
        """Return the found room chosen in the list, or None."""
        selection = self.tree.selection() if self.searching else ()
        return self.found.get(selection[0]) if selection else None

    def show(self):
        self.frame.pack(fill="both", expand=True)
        fields = ("host", "port", "name") if self.other else ("name",)
        empty = [key for key in fields if not self.vars[key].get().strip()]
        self.entries[empty[0] if empty else "name"].focus_set()
        if not empty:
            self.entries["name"].icursor("end")

    def values(self):
        values = {key: var.get() for key, var in self.vars.items()}
        if not self.teacher.get():
            values["teacher_password"] = ""  # typed, then unticked: a student after all
        return values

    def submit(self, event=None):
        if self.button.instate(["disabled"]):
            return "break"  # already connecting
        values, found = self.values(), None
        if not self.other:
            found = self.chosen()
            if found is None:
                self.problem(CHOOSE_ROOM if self.found else NO_ROOM_TO_CHOOSE)
                return "break"
            if found.password and not values["password"]:  # asked now, not after a refusal
                self.problem(NEEDS_PASSWORD % found.room, "password")
                return "break"
            values.update(host=found.address, port=str(found.port))
        check = check_join(values)
        if check.problem:
            self.problem(check.problem, check.field)
        elif found is not None and needs_check(found):
            self.show_check(found, dict(check.request, found=found))
        else:
            if found is None:
                self.vars["port"].set(str(check.request["port"]))  # the address's port, if it had one
            self.on_join(dict(check.request, found=found))
        return "break"

    def show_check(self, found, request):
        """Show a found room's fingerprint digits in place of the form; join only on "match"."""
        self.pending = request
        self.check_words.configure(text=check_words(found))
        self.check_digits.configure(text=digits_shown(found))
        swap(self.frame, self.check, self.differ_button)

    def hide_check(self, focus):
        """Put the form back in place of the check, `focus` in it; return the join that waited."""
        request, self.pending = self.pending, None
        swap(self.check, self.frame, focus)
        return request

    def digits_match(self):
        """Join the room whose digits were shown ("They match")."""
        self.on_join(self.hide_check(self.entries["name"]))

    def digits_differ(self):
        """Send nothing ("They differ"); say why, and how to join the teacher's room."""
        self.hide_check(self.other_button)
        self.tree.selection_set(())
        self.problem(DIGITS_DIFFER)

    def busy(self, text):
        self.button.state(["disabled"])
        self.message.configure(text=text, style="TLabel")

    def problem(self, text, field=None):
        """Show what is wrong; with `field`, select its text, so typing replaces it."""
        self.button.state(["!disabled"])
        self.message.configure(text=text, style="Problem.TLabel")
        if field is not None:
            entry = self.entries[field]
            entry.focus_set()
            entry.select_range(0, "end")
            entry.icursor("end")


def swap(shown, showing, focus):
    """Show the frame `showing` in place of `shown`, the keyboard focus on `focus` in it.

    The focus moves before `shown` goes: a focused widget that disappears
    takes the window's focus with it on some systems.
    """
    showing.pack(fill="both", expand=True)
    showing.update_idletasks()  # mapped now, so that it can take the focus
    focus.focus_set()
    shown.pack_forget()


def press(button):
    """Press a button from the keyboard, the key going no further."""
    button.invoke()
    return "break"


def is_recorded(found):
    """Tell whether a found room (or None) answered that it is recorded."""
    return found is not None and found.logged is True


def rooms_words(count, problem=None):
    """Return what the form says above the list after a search found `count` rooms."""
    if problem is not None:
        return ("Cannot look for rooms on this network (%s). Ask your teacher for the "
                "server address and press %s" % (problem, OTHER_ADDRESS))
    if not count:
        return NO_ROOMS
    if count == 1:
        return "1 room found on this network. Check its name, then press Enter to join."
    return "%d rooms found on this network: choose yours (Up and Down keys)." % count


# What check_join found: a problem and the field to fix, or the request to join.
JoinCheck = namedtuple("JoinCheck", "problem field request")


def fix_field(field, text):
    """Return the JoinCheck that shows `text` and selects `field` to be fixed."""
    return JoinCheck(text, field, None)


def check_join(values):
    """Check the join form; return a JoinCheck."""
    check = check_address(values)
    if check.problem:
        return check
    try:
        name = check_name(values.get("name", "").strip())
    except ProtocolError as error:
        return fix_field("name", error.message)
    password = values.get("password") or None
    teacher_password = values.get("teacher_password") or None
    fingerprint = values.get("fingerprint", "").strip() or None
    if fingerprint:
        try:
            fingerprint = parse_fingerprint(fingerprint)
        except TlsError:
            return fix_field("fingerprint", FINGERPRINT_WORDS)
    return JoinCheck(None, None, dict(check.request, name=name, password=password,
                                      fingerprint=fingerprint,
                                      teacher_password=teacher_password))


def check_address(values):
    """Check the form's address and port; return a JoinCheck whose request has host and port.

    The address may carry its port, as the server prints it for the board
    (192.168.1.23:1235, [2001:db8::7]:1235); that port wins over the Port field.
    """
    from ..wire.local_addresses import split_address
    typed = values.get("host", "").strip()
    if not typed:
        return fix_field("host", "Type the server address your teacher gave you "
                                       "(for example 192.168.1.23).")
    spaced = PORT_AFTER_SPACE.fullmatch(typed)
    if spaced:
        return fix_field("host", "Write the port after a colon: %s."
                               % host_port(spaced.group(1), int(spaced.group(2))))
    try:
        host, port = split_address(typed)
    except ArgumentTypeError as exc:
        return fix_field("host", "Type the address as your teacher wrote it, for "
                                       "example 192.168.1.23 or 192.168.1.23:1235 (%s)." % exc)
    if port is None:
        try:
            port = int(values.get("port", "").strip())
        except ValueError:
            port = 0
    if not 1 <= port <= 65535:
        return fix_field("port", "The port is a number from 1 to 65535 (usually %d)."
                               % DEFAULT_PORT)
    return JoinCheck(None, None, {"host": host, "port": port})


class ChatView:
    """The second view: the log, the user list, the input box and the status.

    Hooks for the teacher's window (teacher_window.py), kept stable:
    `people` is the user list (a tkinter.Listbox, one name a row, a teacher's
    followed by "(teacher)"); `user_at(y)` names the person on the row at
    that y of `people`; `message_at(x, y)` gives the id of the message at
    that point of the log (`log`).  Each message with an id lies between the
    log's marks message_marks(id), which is how remove_message() finds it.

    The log follows the end while the reader is there.  `following` turns
    off only when the reader scrolls away from the end (the mouse wheel, the
    scrollbar, dragging a selection, the keyboard): Tk also scrolls the log
    itself, when it re-wraps lines after a resize or measures new ones, and
    that must not count.  It turns on again whenever the end shows.  Every
    addition and resize while following goes back to the end, once now and
    once more after the layout is done.  A reader who scrolled up stays put
    and gets a marker counting the new messages, which jumps to the end when
    clicked.
    """

    def __init__(self, parent, on_send, on_private, on_hand=None):
        self.on_send = on_send
        self.on_private = on_private
        self.on_hand = on_hand
        self.frame = ttk.Frame(parent)
        self.following = True
        self._follow_pending = False  # a follow_soon() call is queued
        self.unseen = 0  # messages added since the reader scrolled up
        self.names = []
        self.listed = []  # the names in the order `people` shows them
        self.shown_ids = collections.deque()  # message ids in the log, oldest first
        self.stale = None  # why the user list is out of date, while it is
        self.bar_action = None
        self._margin_tags = set()
        self._fonts = {}
        self.create_widgets()

    def create_widgets(self):
        # Packed bottom-up, so the input and status stay visible however small.
        self.status = ttk.Label(self.frame, text="", style="Status.TLabel", anchor="w",
                                justify="left")
        self.status.pack(side="bottom", fill="x", pady=(2, 2))
        wrap_to_width(self.status)
        bottom = ttk.Frame(self.frame, padding=(6, 6, 6, 0))
        bottom.pack(side="bottom", fill="x")
        side = ttk.Frame(bottom)
        side.pack(side="right", padx=(6, 0), anchor="n")
        self.send_button = ttk.Button(side, text="Send", command=self.send)
        self.send_button.pack(side="top", fill="x")
        self.hand_button = ttk.Button(side, text=HAND_BUTTON[False], command=self.hand_pressed)
        self.rules_line = ttk.Label(self.frame, text="", style="Rules.TLabel", anchor="w",
                                    justify="left")
        wrap_to_width(self.rules_line)
        self.input = tkinter.Text(bottom, height=3, width=1, wrap="word", font="ChatText",
                                  undo=True, relief="solid", borderwidth=1, padx=6, pady=4)
        self.input.pack(side="left", fill="x", expand=True)
        self.input.bind("<Return>", self.send)
        self.input.bind("<KP_Enter>", self.send)
        self.input.bind("<Shift-Return>", self.newline)
        self.create_bar()

        self.panes = ttk.PanedWindow(self.frame, orient="horizontal")
        self.panes.pack(side="top", fill="both", expand=True, padx=6, pady=(6, 0))
        self.create_log()
        self.create_people()

    def create_bar(self):
        """The bar above the input: the teacher's reason, a password or a fingerprint to give."""
        self.bar = ttk.Frame(self.frame, padding=(8, 6), style="Bar.TFrame")
        self.bar_words = ttk.Label(self.bar, text="", style="Bar.TLabel", justify="left")
        self.bar_words.pack(side="top", fill="x", anchor="w")
        wrap_to_width(self.bar_words)
        row = ttk.Frame(self.bar, style="Bar.TFrame")
        row.pack(side="top", fill="x", pady=(4, 0))
        self.bar_button = ttk.Button(row, text="", command=self.bar_pressed)
        self.bar_button.pack(side="right")
        self.bar_button.bind("<Return>", self.bar_pressed)
        self.bar_password = ttk.Entry(row, show="\u2022", width=24)
        self.bar_fingerprint_label = ttk.Label(row, text="Fingerprint", style="Bar.TLabel")
        self.bar_fingerprint = ttk.Entry(row, width=44)
        for entry in (self.bar_password, self.bar_fingerprint):
            entry.bind("<Return>", self.bar_pressed)
            entry.bind("<KP_Enter>", self.bar_pressed)
        # What each kind of answer shows in the bar (its label, if any, first).
        self.bar_fields = {"password": (self.bar_password,),
                           FINGERPRINT: (self.bar_fingerprint_label, self.bar_fingerprint)}

    def create_log(self):
        log_box = ttk.Frame(self.panes)
        self.log = tkinter.Text(log_box, wrap="word", state="disabled", font="ChatText",
                                padx=8, pady=6, relief="flat", borderwidth=0,
                                highlightthickness=0, cursor="arrow", takefocus=False)
        self.scroll = ttk.Scrollbar(log_box, orient="vertical", command=self.scroll_by_bar)
        self.log.configure(yscrollcommand=self.scrolled)
        self.scroll.pack(side="right", fill="y")
        self.log.pack(side="left", fill="both", expand=True)
        self.log.bind("<Configure>", lambda event: self.follow())
        for event in READER_SCROLLS:
            self.log.bind(event, self.reader_scrolled, add="+")
        self.marker = ttk.Button(log_box, text="", command=self.jump_to_end)
        self.configure_tags()
        self.panes.add(log_box, weight=4)

    def create_people(self):
        people = ttk.Frame(self.panes, padding=(6, 0, 0, 0))
        self.count = ttk.Label(people, text="", font="ChatBold", justify="left")
        self.count.pack(side="top", fill="x", anchor="w", pady=(0, 4))
        wrap_to_width(self.count)
        self.hint = ttk.Label(people, text="Double-click a name for a private message.",
                              foreground=COLORS["notice"], justify="left")
        self.hint.pack(side="bottom", fill="x", anchor="w", pady=(4, 0))
        wrap_to_width(self.hint)
        self.people = tkinter.Listbox(people, activestyle="none", font="ChatText",
                                      exportselection=False, relief="flat",
                                      highlightthickness=0, width=20)
        self.people.pack(side="top", fill="both", expand=True)
        self.people.bind("<Double-Button-1>", self.private_to_selected)
        self.people.bind("<Return>", self.private_to_selected)
        self.user_color = self.people.cget("foreground")
        self.panes.add(people, weight=1)

    def configure_tags(self):
        log = self.log
        log.tag_configure("time", foreground=COLORS["time"])
        log.tag_configure("sender", foreground=COLORS["sender"], font="ChatBold")
        log.tag_configure("own", foreground=COLORS["own"], font="ChatBold")
        log.tag_configure("private", foreground=COLORS["private"], background=COLORS["private_bg"])
        log.tag_configure("action", font="ChatItalic")
        log.tag_configure("notice", foreground=COLORS["notice"], font="ChatItalic")
        log.tag_configure("help", foreground=COLORS["notice"], font="ChatMono")
        log.tag_configure("error", foreground=COLORS["error"])
        log.tag_configure("announcement", foreground=COLORS["announcement"],
                          background=COLORS["announcement_bg"], font="ChatBold")
        log.tag_configure("event", foreground=COLORS["event"], font="ChatItalic")
        log.tag_configure("teacher", foreground=COLORS["teacher"], font="ChatBold")
        log.tag_configure("history", foreground=COLORS["history"])
        log.tag_configure("mention", background=COLORS["mention"])
        log.tag_raise("history")

    def show(self):
        self.frame.pack(fill="both", expand=True)
        self.input.focus_set()

    # --- the log -------------------------------------------------------

    def add(self, entries):
        """Append log entries, following the end only if the reader is there."""
        self.log.configure(state="normal")
        for item in entries:
            if item.id is None:
                self.log.insert("end", *self.hung(segments(item)))
                continue
            start, end = message_marks(item.id)
            self.log.mark_set(start, "end-1c")
            self.log.mark_gravity(start, "left")  # what is inserted next goes after it
            self.log.insert("end", *self.hung(segments(item)))
            self.log.mark_set(end, "end-1c")
            self.log.mark_gravity(end, "left")
            self.shown_ids.append(item.id)
        lines = int(self.log.index("end-1c").split(".")[0])
        if lines > MAX_LOG_LINES:
            self.log.delete("1.0", "%d.0" % (lines - MAX_LOG_LINES + 1))
            self.forget_dropped()
        self.log.configure(state="disabled")
        if self.following:
            self.follow()
            self.follow_soon()  # again once the layout is done
        else:
            self.unseen += sum(1 for item in entries if item.kind in NEW_KINDS)
            self.show_marker()

    def forget_dropped(self):
        """Forget the messages the log dropped whole from its top (their end mark is at 1.0)."""
        while self.shown_ids and self.log.compare(message_marks(self.shown_ids[0])[1], "<=",
                                                   "1.0"):
            self.log.mark_unset(*message_marks(self.shown_ids.popleft()))

    def remove_message(self, number):
        """Take message `number` out of the log (a teacher deleted it); tell whether it showed."""
        if number not in self.shown_ids:
            return False
        self.shown_ids.remove(number)
        marks = message_marks(number)
        self.log.configure(state="normal")
        self.log.delete(*marks)
        self.log.configure(state="disabled")
        self.log.mark_unset(*marks)
        return True

    def clear_log(self):
        """Empty the log (a teacher cleared the room's history)."""
        self.log.configure(state="normal")
        self.log.delete("1.0", "end")
        self.log.configure(state="disabled")
        while self.shown_ids:
            self.log.mark_unset(*message_marks(self.shown_ids.popleft()))
        self.reached_end()

    def message_at(self, x, y):
        """Return the id of the message shown at pixel (x, y) of `log`, or None.

        None for a point on a line of the client's own (a join, an error)
        or below the last line.
        """
        index = self.log.index("@%d,%d" % (x, y))
        line = self.log.dlineinfo(index)
        if line is None or not line[1] <= y < line[1] + line[3]:
            return None
        ids = list(self.shown_ids)  # in the order they stand in the log
        low, high = 0, len(ids)
        while low < high:  # the last message starting at or before the point
            middle = (low + high) // 2
            if self.log.compare(message_marks(ids[middle])[0], "<=", index):
                low = middle + 1
            else:
                high = middle
        if low and self.log.compare(index, "<", message_marks(ids[low - 1])[1]):
            return ids[low - 1]
        return None

    def hung(self, args):
        """Return Text.insert arguments with the line's text hung under its prefix."""
        texts, tags = list(args[0::2]), list(args[1::2])
        width = sum(self.measure(text, tag) for text, tag in zip(texts[:-1], tags[:-1]))
        if "help" in tags[-1]:
            return self.help_rows(texts, tags, width)
        hang, continued = self.hang_tags(width)
        first, newline, rest = texts[-1][:-1].partition("\n")
        pieces = []
        for text, tag in zip(texts[:-1], tags[:-1]):
            pieces += [text, tag + (hang,)]
        pieces += [first + "\n", tags[-1] + (hang,)]
        if newline:
            pieces += [rest + "\n", tags[-1] + (continued,)]
        return pieces

    def help_rows(self, texts, tags, width):
        """Return Text.insert arguments for /help: each row's wrapped words under its meaning."""
        pieces = []
        for text, tag in zip(texts[:-1], tags[:-1]):
            pieces += [text, tag]
        for index, row in enumerate(texts[-1][:-1].split("\n")):
            column = HELP_COLUMN.match(row)
            indent = width + (self.measure(column.group(1), tags[-1]) if column else 0)
            pieces += [row + "\n", tags[-1] + (self.margin_tag(width if index else 0, indent),)]
        return pieces

    def measure(self, text, tags):
        name = next((font for tag, font in TAG_FONTS if tag in tags), "ChatText")
        if name not in self._fonts:
            self._fonts[name] = tkfont.Font(root=self.log, name=name, exists=True)
        return self._fonts[name].measure(text)

    def hang_tags(self, width):
        """Return the tags that indent by `width` pixels: wrapped lines, further lines."""
        return self.margin_tag(0, width), self.margin_tag(width, width)

    def margin_tag(self, first, rest):
        """Return a tag that starts a line `first` pixels in and its wrapped parts `rest` in."""
        name = "margin%d_%d" % (first, rest)
        if name not in self._margin_tags:
            self.log.tag_configure(name, lmargin1=first, lmargin2=rest)
            self._margin_tags.add(name)
        return name

    def scrolled(self, first, last):
        """Keep the scrollbar up to date; follow again once the end shows."""
        self.scroll.set(first, last)
        if float(last) >= AT_END:
            self.reached_end()
        elif self.following:
            self.follow_soon()  # Tk moved the view under a follower

    def scroll_by_bar(self, *args):
        self.log.yview(*args)
        self.reader_scrolled()

    def reader_scrolled(self, event=None):
        """The reader scrolled: decide from where the view ends, once Tk has moved it."""
        self.log.after_idle(self.reader_moved)

    def reader_moved(self):
        self.following = self.log.yview()[1] >= AT_END
        if self.following:
            self.reached_end()

    def follow(self):
        if self.following:
            self.log.see("end")

    def follow_soon(self):
        """Follow the end once Tk is idle (the layout done); one call pending at a time.

        Tk reports scrolling many times while it lays out a burst of lines;
        each report would otherwise queue a call of its own.
        """
        if not self._follow_pending:
            self._follow_pending = True
            self.log.after_idle(self._follow_when_idle)

    def _follow_when_idle(self):
        self._follow_pending = False
        self.follow()

    def jump_to_end(self):
        self.reached_end()
        self.follow()
        self.follow_soon()

    def reached_end(self):
        """The reader sees the end: follow it from now on, and drop the marker."""
        self.following = True
        self.unseen = 0
        self.marker.place_forget()

    def show_marker(self):
        if not self.unseen:
            return
        self.marker.configure(text="%d new message%s \u2193"
                              % (self.unseen, "" if self.unseen == 1 else "s"))
        self.marker.place(in_=self.log, relx=0.5, rely=1.0, anchor="s", y=-8)

    # --- the user list -------------------------------------------------

    def set_users(self, names, is_teacher=lambda name: False):
        """List `names`, teachers first, each teacher marked (is_teacher(name))."""
        self.names = list(names)
        self.listed = sorted(names, key=lambda name: (not is_teacher(name), name.casefold()))
        self.people.delete(0, "end")
        for index, name in enumerate(self.listed):
            if is_teacher(name):
                self.people.insert("end", name + TEACHER_MARK)
                self.people.itemconfigure(index, foreground=COLORS["teacher"])
            else:
                self.people.insert("end", name)
        self.show_count()

    def user_at(self, y):
        """Return the name on the row at pixel `y` of `people`, or None below the last row."""
        if not self.listed:
            return None
        index = self.people.nearest(y)
        box = self.people.bbox(index)
        if box is None or not box[1] <= y < box[1] + box[3]:
            return None
        return self.listed[index]

    def set_stale(self, why):
        """Grey the user list while it is out of date (why: a few words), or not (None)."""
        self.stale = why
        self.people.configure(foreground=COLORS["stale"] if why else self.user_color)
        self.hand_button.state(["disabled" if why else "!disabled"])  # no teacher to tell
        self.show_count()

    def show_count(self):
        count = len(self.names)
        text = "%d %s here" % (count, "person" if count == 1 else "people")
        if self.stale:
            text = "%s (%s)" % (text, self.stale)
        self.count.configure(text=text, foreground=COLORS["stale"] if self.stale else "")

    def private_to_selected(self, event=None):
        selection = self.people.curselection()
        if selection:
            self.on_private(self.listed[selection[0]])
        return "break"

    # --- the teacher's rules beside the input ------------------------------

    def show_hand(self, shown, up=False):
        """Show the Raise hand button (a student's window) saying what a press does, or hide it."""
        if shown:
            self.hand_button.configure(text=HAND_BUTTON[up])
            self.hand_button.pack(side="top", fill="x", pady=(4, 0))
        else:
            self.hand_button.pack_forget()

    def hand_pressed(self):
        if self.on_hand is not None:
            self.on_hand()

    def show_rules(self, words):
        """Show what the room's rules mean for this person now (a countdown), or nothing."""
        if words == self.rules_line.cget("text"):
            return
        self.rules_line.configure(text=words)
        if words:
            self.rules_line.pack(side="bottom", fill="x", padx=6, pady=(4, 0),
                                 after=self.input.master)
        else:
            self.rules_line.pack_forget()

    # --- the bar above the input -----------------------------------------

    def show_bar(self, words, button, action, field=None):
        """Show the teacher's or the server's words with a button, and the `field` asked for.

        `field`: None, "password" or FINGERPRINT (bar_fields).  While one is
        asked for, the message box takes no typing: a password typed there
        could be sent to the room by the next Enter.
        """
        self.bar_action = action
        self.bar_words.configure(text=words)
        self.bar_button.configure(text=button)
        self.set_bar_enabled(True)
        for kind, widgets in self.bar_fields.items():
            for widget in widgets:
                widget.pack_forget()
                if kind == field:
                    widget.pack(side="left", fill="x", expand=isinstance(widget, ttk.Entry),
                                padx=(0, 6))
        entry = self.bar_fields[field][-1] if field is not None else None
        if entry is not None:
            entry.delete(0, "end")
        self.input.configure(state="disabled" if field is not None else "normal")
        self.bar.pack(side="bottom", fill="x", padx=6, pady=(6, 0), before=self.panes)
        (entry or self.bar_button).focus_set()

    def bar_busy(self, words):
        """Keep the bar, greyed, with `words`, while what it asked for is done (a password checked).

        The focus stays where it is, off the message box, until hide_bar().
        """
        self.bar_action = None
        self.bar_words.configure(text=words)
        self.set_bar_enabled(False)

    def set_bar_enabled(self, enabled):
        for widget in (self.bar_password, self.bar_fingerprint, self.bar_button):
            widget.state(["!disabled" if enabled else "disabled"])

    def hide_bar(self):
        self.bar.pack_forget()
        self.bar_action = None
        self.set_bar_enabled(True)
        self.input.configure(state="normal")
        self.input.focus_set()

    def bar_pressed(self, event=None):
        if self.bar_action is not None:
            self.bar_action()
        return "break"

    # --- the input box -------------------------------------------------

    def typed(self):
        return self.input.get("1.0", "end-1c")

    def set_typed(self, text):
        self.input.delete("1.0", "end")
        self.input.insert("1.0", text)
        self.input.mark_set("insert", "end")

    def send(self, event=None):
        self.on_send(self.typed())
        return "break"

    def newline(self, event=None):
        self.input.insert("insert", "\n")
        self.input.see("insert")
        return "break"


# What a reader does to scroll the log: the mouse wheel (X11 sends it as
# buttons 4 and 5), dragging a selection past its edge, and the keyboard.
READER_SCROLLS = ("<MouseWheel>", "<Button-4>", "<Button-5>", "<B1-Motion>",
                  "<ButtonRelease-1>", "<KeyRelease>")

# In /help, a row's meaning starts after the command and two or more spaces.
HELP_COLUMN = re.compile(r"(\s*\S.*?\s{2,})\S")

# Log entries drawn in a style of their own; any other line of the client's is a notice.
OWN_STYLE_KINDS = ("error", "help", "event")

# Log entries that count as new messages for the marker.
NEW_KINDS = ("message", "announcement")

# A message whose first word is this long (a Chinese sentence has no spaces)
# is glued to its prefix with NO_BREAK_SPACE: else Tk moves the whole run
# to the next line, leaving "Ben:" alone.  Shorter words always fit beside
# the prefix, even in the smallest window.
LONG_RUN = 12
NO_BREAK_SPACE = "\u00a0"


def wrap_to_width(label):
    """Make a label wrap its text to the width it is given, so nothing is cut off."""
    label.bind("<Configure>", lambda event: label.configure(
        wraplength=max(event.width - WRAP_SPARE, 1)), add="+")


def segments(item):
    """Return Text.insert arguments for one log entry: text, tags, text, tags..."""
    args = plain_segments(item)
    if item.kind not in NEW_KINDS or not starts_with_long_run(item.text):
        return args
    # Tk wraps a long run (Chinese has no spaces) as one word, after the
    # prefix's last space: glue the prefix, so the text starts on its line.
    prefix = [text.replace(" ", NO_BREAK_SPACE) for text in args[0:-2:2]]
    last = args[-2]
    if item.kind == "announcement":  # "*** text": its prefix is in the text's segment
        last = last.replace(" ", NO_BREAK_SPACE, 1)
    glued = [piece for pair in zip(prefix, args[1:-2:2]) for piece in pair]
    return tuple(glued) + (last, args[-1])


def starts_with_long_run(text):
    """Tell whether text begins with a run without spaces that Tk may not fit beside a prefix."""
    return len(text.split(None, 1)[0] if text.strip() else "") >= LONG_RUN


def plain_segments(item):
    """Return Text.insert arguments for one log entry, its prefix breakable at spaces."""
    base = ()
    if item.history:
        base += ("history",)
    if item.mention:
        base += ("mention",)
    stamp = ("%s " % clock(item.time), ("time",) + base) if item.time is not None else ()
    if item.kind == "announcement":
        return stamp + ("*** %s\n" % item.text, ("announcement",) + base)
    if item.kind != "message":
        kind = item.kind if item.kind in OWN_STYLE_KINDS else "notice"
        return stamp + ("%s\n" % item.text, (kind,) + base)
    privacy = ""
    if item.private is not None:
        base += ("private",)
        privacy = " (private to %s)" % item.private
    who = ("own",) if item.own else ("sender",)
    sender = item.sender
    if item.teacher:
        who += ("teacher",)
        sender += TEACHER_MARK
    if item.action:
        return stamp + ("* %s " % sender, who + base,
                        "%s%s\n" % (item.text, privacy), ("action",) + base)
    return stamp + ("%s%s: " % (sender, privacy), who + base, "%s\n" % item.text, base)


class ChatWindow:
    """The whole client: the join form, then the chat, and the event poll.

    Hooks for the teacher's window (teacher_window.py), kept stable; all are
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
        if not self.send_frame(hand_frame(command)):
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


def notice(text, kind="notice"):
    """Return a log entry of the client's own, stamped now."""
    return entry(kind, text, time.time())


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
    the window gets the teacher's controls (teacher_window.py).

    `search` (no address given): a function returning the rooms found on
    the network, which the join form lists, asked again every few seconds.
    """
    from . import teacher_panel as teacher_window
    teacher_window.install(ChatWindow(root, options, settings_path, search))
    root.mainloop()
    return 0
