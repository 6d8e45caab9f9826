"""The teacher's controls in the chat window: the Room menu, right-click menus, hands up.

A ChatWindow whose welcome says `role: "teacher"` gets them: install()
puts a hook in its on_joined_hooks that attaches a TeacherPanel at that
join (in `teach`, and for a teacher joining from another computer with the
teacher password).  Every control goes to the server as a `control` frame
through ChatWindow.send_frame; what the server answers (room_state, hand;
errors, which the window shows itself) is what the menus and the hands
list then show.  What to offer and what to send is decided without Tk by
teacher_view.TeacherView, which reads the window's ChatState; this module
builds the widgets, asks the teacher (TkAsk: the dialogs, replaceable in
tests) and sends.
"""

import time

import tkinter
from tkinter import filedialog, font, messagebox, simpledialog, ttk

from ..client.chat_state import entry
from ..wire.protocol import TEACHER, counted
from .look import COLORS, wrap_to_width
from .teacher_view import (
    MAX_SLOW_SECONDS,
    RECORDED,
    SUGGESTED_SLOW_SECONDS,
    ReceivedFrames,
    TeacherView,
    control,
    log_records,
    rules_summary,
    slow_frame,
)

# The file types Save transcript... offers (transcript.export.format_for reads the extension).
FILE_TYPES = (("Web page", "*.html"), ("Markdown", "*.md"),
              ("Spreadsheet (CSV)", "*.csv"), ("Plain text", "*.txt"))
FIRST_FILE_TYPE = ".html"  # one self-contained page: opens anywhere, prints well

# Hands listed with their Lower button; more would push the user list out of
# the window.  The first ones up are the ones to answer: the rest are counted.
MAX_HANDS_SHOWN = 8

# The hands list asks for this many characters of width, so that its rows
# ("1. Fatima  10:42  Lower") show whole beside a conversation that has the
# rest of the window; its title shares the width with the Lower all button.
HANDS_WIDTH_CHARS = 28

# What the teacher is asked, and told.
WORDS = {
    "kick_title": "Remove %s",
    "kick_prompt": "Why is %s removed? They see your reason (you may leave it empty).",
    "slow_title": "Slow mode",
    "slow_prompt": ("Each student may send one message to the room every how many seconds? "
                    "(1 to %d; 0 turns slow mode off)" % MAX_SLOW_SECONDS),
    "announce_title": "Announcement",
    "announce_prompt": "What do you announce to the whole room? Everyone sees it highlighted.",
    "clear_title": "Clear the room's history?",
    "clear_question": ("Everyone's conversation is emptied, and newcomers see no earlier "
                       "messages (a log, with --log, keeps a record). Clear it?"),
    "private_title": "Private messages in the transcript?",
    "private_question": ("Include private messages in the transcript?\n\nYes: they are in it "
                         "too.\nNo: only what the whole room saw."),
    "save_title": "Save the lesson's transcript",
    "saved": "Saved the transcript of this lesson (%s) to %s.",
    "skipped": " Left out: %s of the log that could not be read.",
    "not_saved": ("The transcript was not saved (%s). Choose another folder or file name "
                  "with Room > Save transcript\u2026"),
    "not_sent": ("Not connected, so that was not sent to the server. Try again once the "
                 "window says it is connected."),
    "hands_title": "Hands up (%d)",
    "hands_none": "Hands up: none",
    "away": " (away)",  # kept over a restart: the hand waits for its student to come back
    "hands_more": "\u2026 and %d more (lower the first ones to see them)",
    "lower": "Lower",
    "lower_all": "Lower all",
    "hint": ("Right-click a name, or a message, for what a teacher can do; double-click a "
             "name for a private message."),
}

# The mouse button that opens a context menu: the right one (Tk on macOS numbers it 2).
CONTEXT_BUTTONS = {"aqua": ("<Button-2>", "<Control-Button-1>")}
DEFAULT_CONTEXT_BUTTONS = ("<Button-3>",)


class TkAsk:
    """The teacher's dialogs; each returns None (or False) when cancelled."""

    def __init__(self, root):
        self.root = root

    def text(self, title, prompt):
        return simpledialog.askstring(title, prompt, parent=self.root)

    def number(self, title, prompt, initial, low, high):
        return simpledialog.askinteger(title, prompt, parent=self.root, initialvalue=initial,
                                       minvalue=low, maxvalue=high)

    def yes_no(self, title, question):
        return messagebox.askyesno(title, question, icon="warning", parent=self.root)

    def yes_no_cancel(self, title, question):
        """Ask; No is the default (Enter), as the transcript command leaves private ones out."""
        return messagebox.askyesnocancel(title, question, parent=self.root, default="no")

    def save_path(self, title, name):
        return filedialog.asksaveasfilename(parent=self.root, title=title, initialfile=name,
                                            filetypes=FILE_TYPES,
                                            defaultextension=FIRST_FILE_TYPE)


class TeacherPanel:
    """The teacher's menus and hands list, on one ChatWindow.

    `log_path` and `since` (teach with --log): Save transcript... reads the
    server's log from that time on; without them, it uses the frames this
    window received.
    """

    def __init__(self, window, ask=None, log_path=None, since=None):
        self.window = window
        self.root = window.root
        self.chat = window.chat
        self.ask = ask or TkAsk(window.root)
        self.log_path, self.since = log_path, since
        self.view = TeacherView(window.state)  # the state exists: the panel comes at a join
        self.received = ReceivedFrames()
        self.checks = {}  # the Room menu's checkbuttons' variables, by label
        # What each choice does before (or instead of) sending: ask, or act here.
        self.asks = {"kick": self.ask_kick, "slow": self.ask_slow,
                     "announce": self.ask_announcement, "clear": self.ask_clear}
        self.local = {"private_to": self.private_to, "save_transcript": self.save_transcript}
        self.create_widgets()

    # --- widgets ---------------------------------------------------------

    def create_widgets(self):
        root = self.root
        current = root.cget("menu")
        self.menubar = root.nametowidget(current) if current else tkinter.Menu(root, tearoff=False)
        self.room_menu = tkinter.Menu(self.menubar, tearoff=False)
        self.menubar.add_cascade(label="Room", menu=self.room_menu, underline=0)
        root.configure(menu=self.menubar)
        self.user_menu = tkinter.Menu(root, tearoff=False)
        self.message_menu = tkinter.Menu(root, tearoff=False)
        self.create_hands()
        buttons = CONTEXT_BUTTONS.get(root.tk.call("tk", "windowingsystem"),
                                      DEFAULT_CONTEXT_BUTTONS)
        for button in buttons:
            self.chat.people.bind(button, self.user_clicked, add="+")
            self.chat.log.bind(button, self.message_clicked, add="+")
        self.chat.people.bind("<Key-Menu>", self.user_key, add="+")
        # Wrapped to the list's width from the start: a long line would widen
        # its pane, and squeeze the conversation, before it is first wrapped.
        self.chat.hint.configure(text=WORDS["hint"], wraplength=self.hands_width)
        self.fill_room_menu()

    def create_hands(self):
        """The hands up, in order, under the user list: a name, its time, a Lower button."""
        people = self.chat.people.master
        self.hands_frame = ttk.Frame(people, padding=(0, 6, 0, 0))
        self.hands_frame.pack(side="bottom", fill="x", before=self.chat.people)
        ttk.Style(self.root).configure("Lower.TButton", padding=(4, 0))  # fits a narrow list
        # The list's width, held by an empty frame: the title row shares it with Lower all.
        self.hands_width = font.nametofont("ChatBold").measure("0") * HANDS_WIDTH_CHARS
        ttk.Frame(self.hands_frame, width=self.hands_width, height=0).pack(side="top")
        heading = ttk.Frame(self.hands_frame)
        heading.pack(side="top", fill="x")
        self.lower_all_button = ttk.Button(heading, text=WORDS["lower_all"],
                                           width=len(WORDS["lower_all"]),
                                           style="Lower.TButton", state="disabled",
                                           command=lambda: self.send(control("lower_all")))
        self.lower_all_button.pack(side="right")
        self.hands_title = ttk.Label(heading, text=WORDS["hands_none"], font="ChatBold")
        self.hands_title.pack(side="left", anchor="w")
        self.hands_rows = ttk.Frame(self.hands_frame)
        self.hands_rows.pack(side="top", fill="x")
        self.hand_buttons = {}  # name -> its Lower button
        self.rules_label = ttk.Label(self.hands_frame, text="", style="Rules.TLabel",
                                     justify="left",
                                     wraplength=self.hands_width)
        wrap_to_width(self.rules_label)  # packed while there are rules to show

    def fill_menu(self, menu, items):
        """Put `items` (teacher_view.MenuItem) in `menu`, replacing what it had."""
        menu.delete(0, "end")
        for choice in items:
            if choice.action is None and not choice.label:
                menu.add_separator()
                continue
            state = "normal" if choice.enabled and choice.action else "disabled"
            command = lambda choice=choice: self.choose(choice)
            if choice.check is None:
                menu.add_command(label=choice.label, command=command, state=state)
            else:
                variable = tkinter.BooleanVar(menu, value=choice.check)
                self.checks[choice.label] = variable
                menu.add_checkbutton(label=choice.label, variable=variable, command=command,
                                     state=state)

    def fill_room_menu(self):
        """Show the rules in force: the Room menu's entries, and the line under the hands."""
        self.fill_menu(self.room_menu, self.view.room_menu())
        summary = rules_summary(self.view.rules)
        self.rules_label.configure(text=summary)
        if summary:
            self.rules_label.pack(side="top", fill="x", anchor="w", pady=(6, 0))
        else:
            self.rules_label.pack_forget()

    def fill_hands(self):
        for row in self.hands_rows.winfo_children():
            row.destroy()
        self.hand_buttons = {}
        rows = self.view.hand_rows()
        self.hands_title.configure(
            text=WORDS["hands_title"] % len(rows) if rows else WORDS["hands_none"])
        self.lower_all_button.state(["!disabled" if rows else "disabled"])
        for number, (name, when, here) in enumerate(rows[:MAX_HANDS_SHOWN], 1):
            row = ttk.Frame(self.hands_rows)
            row.pack(side="top", fill="x", pady=1)
            button = ttk.Button(row, text=WORDS["lower"], style="Lower.TButton",
                                width=len(WORDS["lower"]),
                                command=lambda name=name: self.send(control("lower", name=name)))
            button.pack(side="right")
            # The time is packed before the name, so a narrow list cuts the name, not the time.
            ttk.Label(row, text=when, foreground=COLORS["time"]).pack(side="right", padx=4)
            ttk.Label(row, text="%d. %s%s" % (number, name, "" if here else WORDS["away"]),
                      **({} if here else {"foreground": COLORS["stale"]})).pack(
                side="left", fill="x", expand=True, anchor="w")
            self.hand_buttons[name] = button
        if len(rows) > MAX_HANDS_SHOWN:
            ttk.Label(self.hands_rows, text=WORDS["hands_more"] % (len(rows) - MAX_HANDS_SHOWN)
                      ).pack(side="top", anchor="w")

    # --- what arrives ----------------------------------------------------

    def welcome(self, welcome):
        """A (re)join as teacher: the history to keep, and the rules and hands now.

        The window's state has taken the welcome already (the hooks run after it).
        """
        self.received.welcome(welcome)
        self.fill_room_menu()
        self.fill_hands()

    def on_frame(self, frame):
        """Any frame the window received (its state has taken it): keep it for the transcript;
        show what changed."""
        self.received.record(frame)
        changed = self.view.changed(frame)
        self.redraw.get(changed, lambda self: None)(self)

    redraw = {"rules": fill_room_menu, "hands": fill_hands}

    # --- right-clicks ----------------------------------------------------

    def user_clicked(self, event):
        name = self.chat.user_at(event.y)
        if name is not None:
            self.chat.people.selection_clear(0, "end")
            self.chat.people.selection_set(self.chat.people.nearest(event.y))
            self.popup(self.fill_user_menu(name), event.x_root, event.y_root)
        return "break"

    def user_key(self, event):
        """The Menu key on the user list: the chosen person's menu."""
        selection = self.chat.people.curselection()
        if selection:
            box = self.chat.people.bbox(selection[0])
            self.popup(self.fill_user_menu(self.chat.user_at(box[1])),
                       event.widget.winfo_rootx() + box[0], event.widget.winfo_rooty() + box[1])
        return "break"

    def message_clicked(self, event):
        message_id = self.chat.message_at(event.x, event.y)
        if message_id is not None:
            self.popup(self.fill_message_menu(message_id), event.x_root, event.y_root)
        return "break"

    def fill_user_menu(self, name):
        self.fill_menu(self.user_menu, self.view.user_menu(name))
        return self.user_menu

    def fill_message_menu(self, message_id):
        self.fill_menu(self.message_menu,
                       self.view.message_menu(message_id, self.received.find(message_id)))
        return self.message_menu

    def popup(self, menu, x, y):
        try:
            menu.tk_popup(x, y)
        finally:
            menu.grab_release()

    # --- choices ---------------------------------------------------------

    def choose(self, choice):
        """Do what a menu entry says: act here, ask first, or send its control."""
        if choice.action in self.local:
            self.local[choice.action](choice)
            return
        fields = dict(choice.fields)
        asked = self.asks.get(choice.action)
        if asked is not None:
            fields = asked(fields)
            if fields is None:  # the teacher cancelled
                self.fill_room_menu()  # a checkbutton Tk flipped shows the state again
                return
        self.send(control(choice.action, **fields))
        self.fill_room_menu()  # what the server says in room_state, until it says it

    def send(self, frame):
        if self.window.send_frame(frame) is False:
            self.chat.add([entry("error", WORDS["not_sent"], time.time())])

    def ask_kick(self, fields):
        reason = self.ask.text(WORDS["kick_title"] % fields["name"],
                               WORDS["kick_prompt"] % fields["name"])
        if reason is None:
            return None
        return dict(fields, reason=reason.strip()) if reason.strip() else fields

    def ask_slow(self, fields):
        if "seconds" in fields:  # "Slow mode off"
            return fields
        seconds = self.ask.number(WORDS["slow_title"], WORDS["slow_prompt"],
                                  self.view.rules.slow or SUGGESTED_SLOW_SECONDS,
                                  0, MAX_SLOW_SECONDS)
        if seconds is None:
            return None
        return {"seconds": slow_frame(seconds)["seconds"]}

    def ask_announcement(self, fields):
        text = self.ask.text(WORDS["announce_title"], WORDS["announce_prompt"])
        return {"text": text} if text and text.strip() else None

    def ask_clear(self, fields):
        return fields if self.ask.yes_no(WORDS["clear_title"], WORDS["clear_question"]) \
            else None

    def private_to(self, choice):
        self.window.start_private(choice.fields["name"])

    # --- the transcript --------------------------------------------------

    def save_transcript(self, choice=None):
        """Ask where and whether with private messages; write the lesson there."""
        from ..transcript import export as transcript
        room = self.window.room or "chat_app"
        name = "%s %s" % (room, time.strftime("%Y-%m-%d"))
        path = self.ask.save_path(WORDS["save_title"], name + FIRST_FILE_TYPE)
        if not path:
            return
        private = self.ask.yes_no_cancel(WORDS["private_title"], WORDS["private_question"])
        if private is None:
            return
        fmt = transcript.format_for(path) or transcript.DEFAULT_FORMAT
        skipped = 0
        try:
            if self.log_path is not None:
                records, skipped = log_records(transcript.read_log, self.log_path, self.since)
            else:
                records = self.received.records()
            transcript.save(path, transcript.render(records, fmt, private=bool(private),
                                                    title=name), fmt)
        except OSError as exc:
            self.chat.add([entry("error", WORDS["not_saved"] % (exc.strerror or exc),
                                 time.time())])
            return
        words = WORDS["saved"] % (counted(len(records), "record"), path)
        if skipped:
            words += WORDS["skipped"] % counted(skipped, "line")
        self.chat.add([entry("notice", words, time.time())])


def install(window, **panel_options):
    """Give `window` the teacher's controls whenever it joins as a teacher.

    Return a function giving its TeacherPanel (None until it has one).
    `panel_options` go to TeacherPanel (teach passes the log and start time).
    """
    panels = []

    def joined(welcome):
        if welcome.get("role") != TEACHER:
            return
        if not panels:
            panels.append(TeacherPanel(window, **panel_options))
            window.extra_frames.update(dict.fromkeys(OBSERVED, panels[0].on_frame))
        panels[0].welcome(welcome)

    window.on_joined_hooks.append(joined)
    return lambda: panels[0] if panels else None


# The frames the panel follows (after the window has drawn them): the rules and
# hands it shows, and everything a transcript is made of.
OBSERVED = ("room_state",) + RECORDED
