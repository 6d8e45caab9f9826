"""The join form: where to connect and under which name, or a room found on the network.

JoinForm is the window's first view (ChatWindow shows it, then the chat);
check_join and check_address decide without Tk whether what was typed can
join, and rooms_words what the form says above the list of rooms found.
"""

import re
from argparse import ArgumentTypeError
from collections import namedtuple

import tkinter
from tkinter import font as tkfont
from tkinter import ttk

from ..client.chat_state import FINGERPRINT_WORDS, NAME_REFUSALS, NOT_THE_ROOM, ROOM_WORDS
from ..discovery.room_search import (
    CHECK_TITLE,
    DIFFER_BUTTON,
    MATCH_BUTTON,
    NOT_YOUR_ROOM,
    check_words,
    digits_shown,
    listing,
    needs_check,
    preselect,
    room_key,
    same_name_warnings,
)
from ..wire.local_addresses import host_port, split_address
from ..wire.names import check_name
from ..wire.protocol import DEFAULT_PORT, ProtocolError
from ..wire.tls import TlsError, parse_fingerprint
from .look import COLORS

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

