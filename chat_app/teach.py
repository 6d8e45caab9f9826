"""`chat.pyz teach`: the room's server and the teacher's window, in one process.

The server is the one `chat.pyz server` runs (server.start_server, the same
options), serving in a background thread; the Tk window runs on the main
thread, joined to it over this computer's own address as the teacher, with
the teacher's controls (window/teacher_panel.py) and, above the conversation,
what the server's banner says: how students join, the fingerprint, the
room's name, whether it is logged.  Closing the window asks, then stops the
server for everyone (they get `bye`), as Ctrl+C, SIGTERM or SIGHUP do
without asking.

The terminal it was started from is the server's console, as for `chat.pyz
server`: it shows joins, leaves and the conversation, and when standard
input is that terminal it takes the teacher's commands (TeacherConsole:
/help, /who with addresses, /kick ... and /quit, which stops the room as
Ctrl+C does).  Typing there would otherwise be echoed and silently lost;
the window's commands stay where they are.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time

from .wire import interpreter
from .relay.listener import (
    SWITCH_INTERVAL,
    StartError,
    banner,
    catch_stop_signals,
    start_discovery,
    start_server,
    teacher_lines,
)
from .relay.teacher_console import TeacherConsole
from .terminal.console import Console

NO_TK = (
    "chat_app: the teacher's window needs Tk, which this Python lacks. Run the room with "
    "'%s' and the same options instead: you type the teacher's "
    "commands (/help) in its terminal. For the window: on Debian/Ubuntu 'sudo apt install "
    "python3-tk', on Fedora 'sudo dnf install python3-tkinter'; on Windows or macOS run "
    "the python.org installer again with 'tcl/tk and IDLE' ticked."
)
NO_DISPLAY = (
    "chat_app: cannot open the teacher's window (%s). On a computer without a screen, run "
    "the room with '%s' and the same options instead: you type the "
    "teacher's commands (/help) in its terminal."
)

# Said in the window if the server did not take it for the teacher's: its
# token file could not be written (the terminal says why) and there is no
# teacher password.
NOT_TEACHER = ("This window joined as a student, without the teacher's controls: the server "
               "could not write its teacher token file (its terminal says why). Close the "
               "window and start teach again with --teacher-password PASSWORD, which makes "
               "this window the teacher's even so.")

STOP_TITLE = "Stop the room?"
STOP_QUESTION = "Closing this window stops the chat for everyone in the room. Stop the room?"
QUIT_MEANING = "stop the room for everyone (you are asked first)"  # /help's words for /quit

BANNER_TITLE = "How students join this room"
BANNER_CLOSING = "Closing this window stops the room for everyone."
BANNER_BUTTONS = {True: "Hide", False: "Show how students join"}

# The teacher's window remembers its own last join here, apart from the
# student client's (settings.FILE_NAME): `teach` on a classroom computer
# must not fill a student's join form with this computer's own address.
TEACH_SETTINGS = ".chat_app-teach.json"

# The window's event (ChatWindow.events) that stops the room: /quit typed in the terminal.
STOP_EVENT = "stop"

# How often the server thread looks for shutdown (server.run uses the same).
POLL_SECONDS = 0.5

# The address the window joins by, for each listening address that means "all of them".
OWN_ADDRESS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def own_address(server):
    """Return the address of this computer that the teacher's window joins by.

    A server on every address takes 127.0.0.1 when its IPv6 socket also
    takes IPv4 (server.ChatServer.server_bind asks for that), else ::1.
    """
    host = server.server_address[0]
    if host == "::" and not _ipv6_only(server.socket):
        return OWN_ADDRESS[""]
    return OWN_ADDRESS.get(host, host)


def _ipv6_only(sock):
    try:
        return bool(sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
    except (AttributeError, OSError):
        return True


def window_options(server, options):
    """Return the client options of the teacher's window joining `server`."""
    from .wire.tls import ClientTls
    return argparse.Namespace(
        host=own_address(server), port=server.server_address[1], name=options.name,
        password=options.password, text=False,
        tls_settings=ClientTls(pin=server.tls_fingerprint) if server.tls_fingerprint else None)


def banner_lines(server, options):
    """Return the banner's lines as the window shows them.

    Left out: the program's version and port (its first line: the join
    command has the port), how to stop the server (its last line: here, the
    window stops it) and how to be the teacher on this computer (the window is).
    """
    lines = banner(server, options).split("\n")[1:-1]
    keys = server.teacher_keys
    if keys.has_token:
        token_line = teacher_lines(keys, options)[0]
        lines = [line for line in lines if line != token_line]
    return lines + [BANNER_CLOSING]


class BannerPanel:
    """The server's banner above the conversation: selectable, so commands can be copied."""

    def __init__(self, chat, lines):
        import tkinter
        from tkinter import ttk
        self.frame = ttk.Frame(chat.frame, padding=(6, 6, 6, 0))
        header = ttk.Frame(self.frame)
        header.pack(side="top", fill="x")
        ttk.Label(header, text=BANNER_TITLE, font="ChatBold").pack(side="left")
        self.button = ttk.Button(header, text=BANNER_BUTTONS[True], command=self.toggle)
        self.button.pack(side="right")
        self.text = tkinter.Text(self.frame, height=len(lines), wrap="word", font="ChatText",
                                 relief="flat", borderwidth=0, highlightthickness=0,
                                 padx=6, pady=4, background=self.frame.winfo_toplevel().cget(
                                     "background"))
        self.text.insert("1.0", "\n".join(lines))
        self.text.configure(state="disabled")
        self.text.pack(side="top", fill="x", pady=(4, 0))
        self.text.bind("<Configure>", lambda event: self.fit(), add="+")
        self.shown = True
        self.frame.pack(side="top", fill="x", before=chat.panes)

    def fit(self):
        """Make the text exactly as tall as its wrapped lines."""
        lines = self.text.count("1.0", "end", "displaylines")
        if lines:
            self.text.configure(height=lines[0] if isinstance(lines, tuple) else lines)

    def toggle(self):
        self.shown = not self.shown
        if self.shown:
            self.text.pack(side="top", fill="x", pady=(4, 0))
        else:
            self.text.pack_forget()
        self.button.configure(text=BANNER_BUTTONS[self.shown])

    def words(self):
        return self.text.get("1.0", "end-1c")


def ask_to_stop(root):
    """Ask whether closing the window may stop the room; return True for yes."""
    from tkinter import messagebox
    return messagebox.askyesno(STOP_TITLE, STOP_QUESTION, icon="warning", parent=root)


class Teach:
    """One `teach` run: the server serving in a thread, the window on this one."""

    def __init__(self, root, server, options, console, since):
        from .window import teacher_panel
        from .window.chat_window import ChatWindow
        self.root, self.server, self.console = root, server, console
        self.thread = threading.Thread(target=server.serve_forever, name="chat-server",
                                       kwargs={"poll_interval": POLL_SECONDS}, daemon=True)
        home = os.path.expanduser("~")
        self.window = ChatWindow(root, window_options(server, options),
                                            os.path.join(home, TEACH_SETTINGS))
        proof = server.teacher_keys.join_fields()
        self.window.join_fields = lambda host, port: proof
        self.panel = teacher_panel.install(self.window, log_path=options.log, since=since)
        self.banner = BannerPanel(self.window.chat, banner_lines(server, options))
        self.window.on_joined_hooks.append(self.make_room)
        self.made_room = False
        root.protocol("WM_DELETE_WINDOW", self.close_asked)
        root.bind_all("<Control-q>", lambda event: self.close_asked())
        self.window.commands["quit"] = lambda command: self.close_asked()
        self.window.quit_meaning = QUIT_MEANING
        # /quit or a closed terminal at the console (its thread): stop from the Tk thread.
        self.window.handlers[STOP_EVENT] = lambda unused: self.stop_soon()
        self.commands = None  # the TeacherConsole, when the terminal takes commands

    def make_room(self, welcome):
        """At the first join, grow the window by the banner's height, as the screen allows.

        A window that is not the teacher's says why, and what to do.
        """
        from .window.chat_view import notice
        from .window.chat_window import SCREEN_MARGIN, chat_geometry
        from .wire.protocol import TEACHER
        if self.made_room:
            return
        self.made_room = True
        if self.window.role != TEACHER:
            self.window.chat.add([notice(NOT_TEACHER, "error")])
        self.root.update_idletasks()
        width, height = map(int, chat_geometry(self.root).split("x"))
        height = min(height + self.banner.frame.winfo_reqheight(),
                     self.root.winfo_screenheight() - SCREEN_MARGIN[1])
        self.root.geometry("%dx%d" % (width, height))

    def start(self):
        self.thread.start()
        self.window.form.submit()  # join at once: everything is filled in

    def close_asked(self):
        """Close the window, if the teacher says the room may stop."""
        if not self.window.closed and ask_to_stop(self.root):
            self.window.close()

    def stop_soon(self, signum=None, frame=None):
        """A stop signal or Ctrl+C: close the window from the event loop, without asking."""
        if not self.window.closed:
            self.root.after(0, self.close_now)

    def interrupted(self, signum, frame):
        """Ctrl+C: clear a command half typed in the terminal, as a shell does; else stop."""
        if not self.console.printer.clear_typed():
            self.stop_soon()

    def take_commands(self, stream):
        """Run the teacher's commands typed in the terminal (`stream`), as `server` does."""
        events = self.window.events  # the console's thread holds the queue, never a Tk object
        self.commands = TeacherConsole(self.server, self.console,
                                       stop=lambda: events.put((STOP_EVENT, None)))
        if hasattr(signal, "SIGTTIN"):
            # Started with '&', reading the terminal would stop teach; ignored, the read
            # fails instead and is tried again (see server.run).
            signal.signal(signal.SIGTTIN, signal.SIG_IGN)
        self.commands.start(stream)

    def close_now(self):
        if not self.window.closed:
            self.window.close()

    def run(self, commands=None):
        """Serve and show the window until it closes; then stop the server for everyone.

        `commands`: the terminal the teacher may type commands in, or None.
        """
        previous = catch_stop_signals(self.stop_soon)
        previous_int = signal.signal(signal.SIGINT, self.interrupted)
        try:
            if commands is not None:
                self.take_commands(commands)
            self.start()
            self.root.mainloop()
        finally:
            if self.commands is not None:
                self.commands.close()  # the terminal as it was, before anything else can fail
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
            signal.signal(signal.SIGINT, previous_int)
        return 0

    def stop(self):
        """Close the window if it is open, and stop the server: everyone gets bye."""
        self.close_now()
        if self.thread.ident is not None:  # else shutdown() would wait for ever
            self.server.shutdown()
        closed = self.server.stop()
        self.console.info("server stopped (%d connection(s) closed)" % closed)


def run(options, out=None, err=None):
    """Run `chat.pyz teach`; return the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        import tkinter
    except ImportError:
        err.write(NO_TK % interpreter.command("server") + "\n")
        return 1
    from .window.chat_window import open_root
    try:
        root = open_root()
    except tkinter.TclError as exc:
        err.write(NO_DISPLAY % (exc, interpreter.command("server")) + "\n")
        return 1
    console = Console(out, err)
    sys.setswitchinterval(SWITCH_INTERVAL)
    since = time.time()  # the lesson's records, for Save transcript, start now
    try:
        server = start_server(options, console)
    except StartError as exc:
        root.destroy()
        console.close()  # what start_server printed comes first
        err.write("chat_app: %s\n" % exc)
        return 1
    start_discovery(server, console)
    commands = sys.stdin if sys.stdin is not None and sys.stdin.isatty() else None
    console.write(banner(server, options, teacher_commands=commands is not None, window=True))
    try:
        teach = Teach(root, server, options, console, since)
    except BaseException:
        server.stop()
        root.destroy()
        console.close()
        raise
    try:
        return teach.run(commands)
    finally:
        console.close()
