"""The window client: a join form, then the chat, in one Tk window.

Tk is touched only on the Tk thread.  The network runs in a Session's
threads (client_session.py), which put events on a queue; `ChatWindow.poll`
drains it every POLL_MS with root.after and stops rescheduling once the
window closes.  What to show is decided by ChatState (chat_state.py) without
Tk; this module only builds widgets and draws.
"""

import queue
import sys
import time

import tkinter
from tkinter import font as tkfont
from tkinter import ttk

from . import settings
from .chat_state import ChatState, entry, join_problem, title
from .client_session import Session
from .commands import HELP_TEXT, CommandError, parse_line, say_frame
from .protocol import DEFAULT_PORT, ProtocolError, check_name
from .text_format import clock

# How often the window looks for network events, and how many it handles
# at once: a burst of a thousand messages is drawn over a few polls, so
# the window never stops answering.
POLL_MS = 40
EVENTS_PER_POLL = 250

# The log keeps this many lines; older ones are dropped as new ones come.
MAX_LOG_LINES = 5000

# Window sizes in pixels: the smallest, and the chat's first size.
JOIN_MIN_SIZE = (420, 260)
MIN_SIZE = (560, 380)
CHAT_SIZE = "820x560"

COLORS = {
    "time": "#808080", "sender": "#1f4e99", "own": "#2e7d32", "private": "#8e24aa",
    "notice": "#6d6d6d", "error": "#c62828", "history": "#8a8a8a",
    "mention": "#fff3b0", "private_bg": "#f6ecfa",
    "announcement": "#8a3b00", "announcement_bg": "#ffe6cc",
}


def make_fonts(root):
    """Create the named fonts the window uses, sized from the system's."""
    base = tkfont.nametofont("TkDefaultFont").actual()
    size = abs(base["size"]) + 1
    fonts = {
        "ChatText": dict(family=base["family"], size=size),
        "ChatBold": dict(family=base["family"], size=size, weight="bold"),
        "ChatItalic": dict(family=base["family"], size=size, slant="italic"),
        "ChatTitle": dict(family=base["family"], size=size + 4, weight="bold"),
    }
    for name, spec in fonts.items():
        if name in tkfont.names(root):
            tkfont.nametofont(name).configure(**spec)
        else:
            tkfont.Font(root, name=name, **spec)


def apply_theme(root):
    """Use the native theme on Windows and macOS, and clam on X11."""
    style = ttk.Style(root)
    if root.tk.call("tk", "windowingsystem") == "x11":
        style.theme_use("clam")
    style.configure("Problem.TLabel", foreground=COLORS["error"])
    style.configure("Title.TLabel", font="ChatTitle")
    style.configure("Status.TLabel", padding=(6, 2))


class JoinForm:
    """The first view: where to connect and under which name."""

    def __init__(self, parent, values, on_join):
        self.on_join = on_join
        self.frame = ttk.Frame(parent, padding=24)
        self.vars = {key: tkinter.StringVar(parent, value=values.get(key, ""))
                     for key in ("host", "port", "name", "password")}
        self.create_widgets()

    def create_widgets(self):
        frame = self.frame
        ttk.Label(frame, text="Join the chat", style="Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w")
        ttk.Label(frame, text="Your teacher gives you the server address.",
                  foreground=COLORS["notice"]).grid(row=1, column=0, columnspan=2,
                                                    sticky="w", pady=(2, 12))
        rows = [("Server address", "host", {}), ("Port", "port", {"width": 8}),
                ("Your name", "name", {}), ("Password (if the room has one)", "password",
                                            {"show": "\u2022"})]
        self.entries = {}
        for index, (label, key, extra) in enumerate(rows, start=2):
            ttk.Label(frame, text=label).grid(row=index, column=0, sticky="w", padx=(0, 12),
                                              pady=4)
            entry = ttk.Entry(frame, textvariable=self.vars[key], width=extra.get("width", 32),
                              **{k: v for k, v in extra.items() if k != "width"})
            entry.grid(row=index, column=1, sticky="w" if key == "port" else "ew", pady=4)
            entry.bind("<Return>", self.submit)
            entry.bind("<KP_Enter>", self.submit)
            self.entries[key] = entry
        self.button = ttk.Button(frame, text="Join", command=self.submit, default="active")
        self.button.grid(row=6, column=1, sticky="e", pady=(12, 0))
        self.button.bind("<Return>", self.submit)
        self.message = ttk.Label(frame, text="", wraplength=420, justify="left")
        self.message.grid(row=7, column=0, columnspan=2, sticky="ew", pady=(12, 0))
        frame.columnconfigure(1, weight=1)

    def show(self):
        self.frame.pack(fill="both", expand=True)
        empty = [key for key in ("host", "port", "name") if not self.vars[key].get().strip()]
        self.entries[empty[0] if empty else "name"].focus_set()
        if not empty:
            self.entries["name"].icursor("end")

    def values(self):
        return {key: var.get() for key, var in self.vars.items()}

    def submit(self, event=None):
        if self.button.instate(["disabled"]):
            return "break"  # already connecting
        problem, request = check_join(self.values())
        if problem:
            self.problem(problem)
        else:
            self.on_join(request)
        return "break"

    def busy(self, text):
        self.button.state(["disabled"])
        self.message.configure(text=text, style="TLabel")

    def problem(self, text):
        self.button.state(["!disabled"])
        self.message.configure(text=text, style="Problem.TLabel")


def check_join(values):
    """Check the join form; return (problem, None) or (None, request)."""
    host = values.get("host", "").strip()
    if not host:
        return "Type the server address your teacher gave you (for example 192.168.1.23).", None
    try:
        port = int(values.get("port", "").strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        return "The port is a number from 1 to 65535 (usually %d)." % DEFAULT_PORT, None
    try:
        name = check_name(values.get("name", "").strip())
    except ProtocolError as error:
        return error.message, None
    password = values.get("password") or None
    return None, {"host": host, "port": port, "name": name, "password": password}


class ChatView:
    """The second view: the log, the user list, the input box and the status."""

    def __init__(self, parent, on_send, on_private):
        self.on_send = on_send
        self.on_private = on_private
        self.frame = ttk.Frame(parent)
        self.create_widgets()

    def create_widgets(self):
        # Packed bottom-up, so the input and status stay visible however small.
        self.status = ttk.Label(self.frame, text="", style="Status.TLabel", anchor="w")
        self.status.pack(side="bottom", fill="x", pady=(2, 2))
        bottom = ttk.Frame(self.frame, padding=(6, 6, 6, 0))
        bottom.pack(side="bottom", fill="x")
        self.send_button = ttk.Button(bottom, text="Send", command=self.send)
        self.send_button.pack(side="right", padx=(6, 0), anchor="n")
        self.input = tkinter.Text(bottom, height=3, width=1, wrap="word", font="ChatText",
                                  undo=True, relief="solid", borderwidth=1, padx=6, pady=4)
        self.input.pack(side="left", fill="x", expand=True)
        self.input.bind("<Return>", self.send)
        self.input.bind("<KP_Enter>", self.send)
        self.input.bind("<Shift-Return>", self.newline)

        panes = ttk.PanedWindow(self.frame, orient="horizontal")
        panes.pack(side="top", fill="both", expand=True, padx=6, pady=(6, 0))

        log_box = ttk.Frame(panes)
        self.log = tkinter.Text(log_box, wrap="word", state="disabled", font="ChatText",
                                padx=8, pady=6, relief="flat", borderwidth=0,
                                highlightthickness=0, cursor="arrow", takefocus=False)
        scroll = ttk.Scrollbar(log_box, orient="vertical", command=self.log.yview)
        self.log.configure(yscrollcommand=scroll.set)
        scroll.pack(side="right", fill="y")
        self.log.pack(side="left", fill="both", expand=True)
        self.configure_tags()
        panes.add(log_box, weight=4)

        people = ttk.Frame(panes, padding=(6, 0, 0, 0))
        self.count = ttk.Label(people, text="", font="ChatBold")
        self.count.pack(side="top", anchor="w", pady=(0, 4))
        self.users = tkinter.Listbox(people, activestyle="none", font="ChatText",
                                     exportselection=False, relief="flat",
                                     highlightthickness=0, width=20)
        self.users.pack(side="top", fill="both", expand=True)
        self.users.bind("<Double-Button-1>", self.private_to_selected)
        self.users.bind("<Return>", self.private_to_selected)
        ttk.Label(people, text="Double-click a name\nfor a private message.",
                  foreground=COLORS["notice"]).pack(side="top", anchor="w", pady=(4, 0))
        panes.add(people, weight=1)

    def configure_tags(self):
        log = self.log
        log.tag_configure("time", foreground=COLORS["time"])
        log.tag_configure("sender", foreground=COLORS["sender"], font="ChatBold")
        log.tag_configure("own", foreground=COLORS["own"], font="ChatBold")
        log.tag_configure("private", foreground=COLORS["private"], background=COLORS["private_bg"])
        log.tag_configure("action", font="ChatItalic")
        log.tag_configure("notice", foreground=COLORS["notice"], font="ChatItalic")
        log.tag_configure("error", foreground=COLORS["error"])
        log.tag_configure("announcement", foreground=COLORS["announcement"],
                          background=COLORS["announcement_bg"], font="ChatBold")
        log.tag_configure("history", foreground=COLORS["history"])
        log.tag_configure("mention", background=COLORS["mention"])
        log.tag_raise("history")

    def show(self):
        self.frame.pack(fill="both", expand=True)
        self.input.focus_set()

    # --- the log -------------------------------------------------------

    def add(self, entries):
        """Append log entries, following the end only if the reader is there."""
        at_end = self.log.yview()[1] >= 0.999
        self.log.configure(state="normal")
        for item in entries:
            self.log.insert("end", *segments(item))
        lines = int(self.log.index("end-1c").split(".")[0])
        if lines > MAX_LOG_LINES:
            self.log.delete("1.0", "%d.0" % (lines - MAX_LOG_LINES + 1))
        self.log.configure(state="disabled")
        if at_end:
            self.log.see("end")

    # --- the user list -------------------------------------------------

    def set_users(self, names):
        self.users.delete(0, "end")
        for name in sorted(names, key=str.casefold):
            self.users.insert("end", name)
        count = len(names)
        self.count.configure(text="%d %s here" % (count, "person" if count == 1 else "people"))

    def private_to_selected(self, event=None):
        selection = self.users.curselection()
        if selection:
            self.on_private(self.users.get(selection[0]))
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


def segments(item):
    """Return Text.insert arguments for one log entry: text, tags, text, tags..."""
    base = ()
    if item.history:
        base += ("history",)
    if item.mention:
        base += ("mention",)
    stamp = ("%s " % clock(item.time), ("time",) + base) if item.time is not None else ()
    if item.kind == "announcement":
        return stamp + ("*** %s\n" % item.text, ("announcement",) + base)
    if item.kind != "message":
        kind = "error" if item.kind == "error" else "notice"
        return stamp + ("%s\n" % item.text, (kind,) + base)
    privacy = ""
    if item.private is not None:
        base += ("private",)
        privacy = " (private to %s)" % item.private
    who = ("own",) if item.own else ("sender",)
    if item.action:
        return stamp + ("* %s " % item.sender, who + base,
                        "%s%s\n" % (item.text, privacy), ("action",) + base)
    return stamp + ("%s%s: " % (item.sender, privacy), who + base, "%s\n" % item.text, base)


class ChatWindow:
    """The whole client: the join form, then the chat, and the event poll."""

    def __init__(self, root, options, settings_path=None):
        self.root = root
        self.settings_path = settings_path
        self.tls = getattr(options, "tls_settings", None)  # a tls.ClientTls, or None
        self.events = queue.Queue()
        self.session = None
        self.state = None
        self.request = None
        self.lost = ""
        self.ended = None  # why the chat cannot go on, once it cannot
        self.closed = False
        self.handlers = {
            "joined": self.on_joined, "refused": self.on_refused, "failed": self.on_failed,
            "frame": self.on_frame, "lost": self.on_lost, "retrying": self.on_retrying,
        }
        make_fonts(root)
        apply_theme(root)
        root.title("chat_app")
        root.minsize(*JOIN_MIN_SIZE)
        root.protocol("WM_DELETE_WINDOW", self.close)
        root.bind_all("<Control-q>", lambda event: self.close())
        values = settings.fill(options, settings_path)
        values["port"] = str(values["port"])
        self.form = JoinForm(root, values, self.join)
        self.chat = ChatView(root, self.send, self.start_private)
        self.form.show()
        root.bind("<FocusIn>", self.focus_changed, add="+")
        root.bind("<FocusOut>", self.focus_changed, add="+")
        self._poll_id = root.after(POLL_MS, self.poll)

    # --- joining ---------------------------------------------------------

    def join(self, request):
        self.request = request
        self.form.busy("Connecting to %s port %d\u2026" % (request["host"], request["port"]))
        self.session = Session(request["host"], request["port"], request["name"],
                               request["password"], self.events, tls=self.tls)
        self.session.start()

    def on_joined(self, welcome):
        first = self.state is None
        if first:
            self.state = ChatState(welcome.get("name", self.request["name"]))
            settings.save({"host": self.request["host"], "port": self.request["port"],
                           "name": self.state.name}, self.settings_path)
            self.form.frame.pack_forget()
            self.root.minsize(*MIN_SIZE)
            self.root.geometry(CHAT_SIZE)
            self.chat.show()
        unseen, resend = self.state.welcome(welcome)
        entries = [self.state.entry_for(frame, history=True) for frame in unseen]
        if entries:
            self.chat.add([notice("Earlier messages:")] + entries
                          + [notice("End of earlier messages.")])
        if first:
            self.chat.add([notice("You joined as %s. Type a message and press Enter; "
                                  "/help lists the commands." % self.state.name)])
        else:
            self.chat.add([notice("Reconnected.")])
        for say in resend:
            self.session.say(say, self.state)
        self.chat.set_users(self.state.users)
        self.set_status("Connected to %s port %d as %s%s."
                        % (self.request["host"], self.request["port"], self.state.name,
                           ", encrypted" if self.tls else ""))
        self.update_title()

    # --- sending ---------------------------------------------------------

    def send(self, typed):
        if not typed.strip():
            return
        try:
            command = parse_line(typed)
        except CommandError as error:
            self.chat.add([notice(str(error), "error")])
            return
        if command.kind == "help":
            self.chat.add([notice(HELP_TEXT)])
        elif command.kind == "who":
            self.chat.add([notice("In the room: " + ", ".join(self.state.users))])
        elif command.kind == "quit":
            self.close()
            return
        else:
            if self.session is None or not self.session.say(say_frame(command), self.state):
                self.set_status(self.ended or "Not connected, so nothing was sent; your text "
                                "stays in the box. Press Enter again once reconnected.")
                self.root.bell()
                return
        self.chat.set_typed("")

    def start_private(self, name):
        typed = self.chat.typed()
        if typed.startswith("/msg "):
            typed = typed[5:].partition(" ")[2]
        self.chat.set_typed("/msg %s %s" % (name, typed))
        self.chat.input.focus_set()

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
            if entries and kind != "frame":
                self.chat.add(entries)
                entries = []
            entries.extend(self.handlers[kind](value) or [])
        if entries:
            self.chat.add(entries)
            self.update_title()
        self._poll_id = self.root.after(POLL_MS, self.poll)

    def on_frame(self, frame):
        entries = self.state.apply(frame)
        refused = self.state.say_refused(frame)
        if refused is not None:
            self.give_back(refused)
        if frame.get("type") in ("joined", "left"):
            self.chat.set_users(self.state.users)
        if not self.state.focused and any(
                item.mention or item.kind == "announcement" for item in entries):
            self.root.bell()
        return entries

    def on_refused(self, problem):
        code, message = problem
        self.session = None
        if self.state is None:
            self.form.problem(join_problem(code, message))
        else:
            problem = join_problem(code, message)
            self.chat.add([notice(problem, "error")])
            self.ended = problem if code == "kicked" else "Could not rejoin: %s" % problem
            self.set_status(self.ended)

    def on_failed(self, message):
        self.session = None
        self.form.problem(message)

    def on_lost(self, why):
        self.lost = why.rstrip(".")
        self.set_status("Connection lost (%s)." % self.lost)

    def on_retrying(self, seconds):
        self.set_status("Connection lost (%s). Trying again in %d s\u2026 "
                        "Your typing is kept." % (self.lost, seconds))

    def give_back(self, say):
        """Put a refused message back in the box, so nothing typed is lost."""
        text = say["text"]
        if "to" in say:
            text = "/msg %s %s" % (say["to"], text)
        typed = self.chat.typed()
        self.chat.set_typed(text if not typed.strip() else text + "\n" + typed)

    # --- window state ----------------------------------------------------

    def set_status(self, text):
        self.chat.status.configure(text=text)

    def focus_changed(self, event=None):
        if self.state is None or self.closed:
            return
        self.state.focus(self.root.focus_displayof() is not None)
        self.update_title()

    def update_title(self):
        if self.state is None:
            return
        room = "chat_app \u2014 %s on %s" % (self.state.name, self.request["host"])
        self.root.title(title(room, self.state.unread))

    def close(self):
        """Leave the room and end the program; never wait more than a moment."""
        if self.closed:
            return
        self.closed = True
        self.root.after_cancel(self._poll_id)
        if self.session is not None:
            self.session.close()
        self.root.destroy()


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


def run(root, options, settings_path=None):
    """Run the window client in `root` until it is closed; return the exit status."""
    ChatWindow(root, options, settings_path)
    root.mainloop()
    return 0
