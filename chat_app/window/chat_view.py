"""The chat view: the log, the user list, the input box, the bar above it and the status.

ChatView draws what ChatWindow gives it (log entries from
client/chat_state.py) and hands back what the person does (Enter, a
double-click on a name, the hand button).  segments() and plain_segments()
decide without Tk how a log entry is laid out: its text and tags.
"""

import collections
import re
import time

import tkinter
from tkinter import font as tkfont
from tkinter import ttk

from ..client.chat_state import FINGERPRINT, entry
from ..wire.text_format import TEACHER_MARK, clock
from .look import COLORS, wrap_to_width

# The log keeps this many lines; older ones are dropped as new ones come.
MAX_LOG_LINES = 5000

# The reader counts as at the end of the log while its last line shows.
AT_END = 0.999

# Fonts of the tags in a log line's prefix, to measure its width for the
# hanging indent; any other tag is in ChatText.
TAG_FONTS = (("own", "ChatBold"), ("sender", "ChatBold"), ("teacher", "ChatBold"),
             ("action", "ChatItalic"), ("event", "ChatItalic"),
             ("notice", "ChatItalic"), ("announcement", "ChatBold"), ("help", "ChatMono"))

# The hand button says what pressing it does: raise the hand, or lower it (it is up).
HAND_BUTTON = {False: "Raise hand", True: "Lower hand"}

# The log's marks around message ID: how a message is found again.  Marks,
# not a tag per message: with a full log of tags, each line drawn and
# trimmed costs the Tk thread many times more (bench/tk_log.py; the figures
# are in docs/benchmarks.md, "Figures behind the code").
MESSAGE_MARKS = ("message%d", "message%d.end")


def message_marks(number):
    """Return the names of the log's marks before and after message `number`."""
    return tuple(mark % number for mark in MESSAGE_MARKS)


class ChatView:
    """The second view: the log, the user list, the input box and the status.

    Hooks for the teacher's panel (teacher_panel.py), kept stable:
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


def notice(text, kind="notice"):
    """Return a log entry of the client's own, stamped now."""
    return entry(kind, text, time.time())


