"""The chat server: the listening socket, the room, and starting and stopping.

`ChatServer` is a ThreadingTCPServer: one thread per connection, each
running a ChatRequestHandler (handler.py).  It owns the Room, which holds
the registry and its lock, and the Fanout, the one thread that sends
(fanout.py).  `run` is `chat.pyz server`: it binds, prints how to connect,
serves until Ctrl+C or SIGTERM, then says goodbye to every connection and
exits within two seconds.
"""

import errno
import getpass
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback

from .. import __version__
from ..wire import interpreter
from .accept_backoff import AcceptBackoff
from .access import MAX_GOODBYES, fit_to_fd_limit
from ..terminal.console_close import ConsoleClose
from .console_digest import REFUSED, ConsoleDigest
from ..discovery.datagrams import MAX_ROOM_CHARS, SEARCH_PORTS
from .handler import ChatRequestHandler, new_peer, refusal_for
from .history_log import HistoryLog
from ..wire.local_addresses import MAX_PORT, host_port, reachable_addresses
from .log_writer import LogWriter
from .one_cpu import OneCpu
from .fanout import Fanout
from ..wire.protocol import DEFAULT_PORT, counted, is_blank, limits_field, strip_controls
from ..wire.rate_limit import DEFAULT_BURST
from ..discovery.responder import Decider, Responder, reach_of
from .room import Room
from .teacher_console import TeacherConsole
from ..wire.teacher_id import TeacherKeys
from ..terminal.console import Console
from ..wire.tls import MIN_PIN_DIGITS, TlsError, grouped, server_context

DEFAULT_MAX_CLIENTS = 1000
DEFAULT_JOIN_TIMEOUT = 30.0
DEFAULT_PING_INTERVAL = 60.0
DEFAULT_PING_TIMEOUT = 30.0

# Queue of connections the OS accepts before the server takes them: a
# whole class clicking Join at once must not be refused (the default is 5).
LISTEN_BACKLOG = 1024

# At shutdown, how long the goodbyes get to drain before sockets close.
# With the rest of the shutdown this keeps Ctrl+C under two seconds.
SHUTDOWN_DRAIN_SECONDS = 1.0

# ... and how long the connections' threads then get to close.
SHUTDOWN_CLOSE_SECONDS = 0.5

# --host values that mean every address of this computer.
ANY_ADDRESS = ("", "0.0.0.0", "::")

# When the port is in use, the advice names the first free one among this
# many after it (1235 to 1243 for the default), checked by binding it.
PORT_SUGGESTIONS = 9


# The room's name when --room is not given (the computer's name filled in).
DEFAULT_ROOM = "chat on %s"

# Socket errors for a port in use (Windows reports its own numbers).
ADDRESS_IN_USE = (errno.EADDRINUSE, 10048)
WSAEACCES = 10013


class ConnectionThread(threading.Thread):
    """The thread of one connection: it runs ChatServer.serve_connection.

    Memory per connection is mostly this thread's stack pages that were
    ever touched: one page more per connection is megabytes more for a
    hall.  On Python 3.11 and later a call from Python to Python takes no
    C stack, but a call with *args (threading.Thread.run calls its target
    so) or a call of a class (running __init__) does.  Without those two,
    a JSON connection's thread stays within two pages (three with them;
    docs/benchmarks.md, "Figures behind the code").

    The stack's size (threading.stack_size) is left as it is: only touched
    pages cost memory, so a smaller one saves nothing, and it would have to
    be proved big enough for every path on every Python (the json module's
    C parser went over a megabyte deep on 3.13 for a line of nested
    brackets, before protocol.MAX_NESTING refused such lines undecoded):
    too small a stack crashes the server.
    """

    def __init__(self, server, request, client_address, peer, refusal, why):
        super().__init__(daemon=True)  # connection threads never keep the process alive
        self._server = server
        self._connection = (request, client_address, peer, refusal, why)

    def run(self):
        request, client_address, peer, refusal, why = self._connection
        self._server.serve_connection(request, client_address, peer, refusal, why)


class ChatServer(socketserver.ThreadingTCPServer):
    """The listening socket, the room and the fanout thread of one chat.

    Each connection is counted against --max-clients and --max-per-ip as
    it is accepted, in the accepting thread, before any thread or TLS
    handshake.  An admitted one gets its thread.  A refused one is told why
    in a thread of its own (handler.GOODBYE_SECONDS at most) while fewer
    than MAX_GOODBYES are being told; beyond that it is closed at once, so
    a flood costs no more than that.  The console sums up pile-ups
    (console_digest.py); out of descriptors, accepting pauses instead of
    spinning (accept_backoff.py).
    """

    daemon_threads = True  # connection threads never keep the process alive
    tls = None  # an ssl.SSLContext when the server encrypts (--tls-cert)
    tls_fingerprint = None
    responder = None  # the discovery Responder while it runs (responder.py)
    teacher_keys = TeacherKeys()  # what proves a teacher at join; start_server sets this run's
    discovery_off = "--no-discovery"  # why there is no responder, for the banner
    block_on_close = False
    request_queue_size = LISTEN_BACKLOG
    # On Windows SO_REUSEADDR would let a second server steal the port.
    allow_reuse_address = os.name != "nt"

    def __init__(self, address, family, options, room, console):
        self.address_family = family
        self.options = options
        self.room = room
        self.console = console
        self.digest = ConsoleDigest(console)
        self.goodbyes = threading.BoundedSemaphore(MAX_GOODBYES)
        self.fanout = Fanout(room.stream, OneCpu(), console)
        self.backoff = AcceptBackoff(console)
        try:
            super().__init__(address, ChatRequestHandler)
        except BaseException:
            self.fanout.stop()
            self.backoff.close()
            raise
        room.attach_fanout(self.fanout)

    def server_bind(self):
        if self.address_family == socket.AF_INET6 and self.server_address[0] == "::":
            # One socket for IPv4 and IPv6 where the system allows it.
            try:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            except (AttributeError, OSError):
                pass  # IPv6 only: IPv4 clients are refused, as without this call
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: refuse a shared port
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        super().server_bind()

    def get_request(self):
        """Accept a connection; out of descriptors, pause rather than spin, then raise."""
        try:
            accepted = super().get_request()
        except OSError as exc:
            self.backoff.failed(self.socket, exc)
            raise
        self.backoff.accepted()
        return accepted

    def process_request(self, request, client_address):
        """Count the connection in now; start its thread, its goodbye, or close it at once."""
        peer = new_peer(request, client_address, self)
        answer = self.room.admit(peer)
        refusal = why = None
        if answer is not None:
            refusal, why = refusal_for(answer, self.room.max_clients, self.options.max_per_ip)
            if not self.goodbyes.acquire(blocking=False):  # enough are being told already
                self.digest.report(REFUSED, peer.address, why)
                self.shutdown_request(request)
                return
        thread = ConnectionThread(self, request, client_address, peer, refusal, why)
        try:
            thread.start()
        except BaseException:  # no thread to be had: let the connection go
            self.let_go(request, peer, refusal)
            raise

    def serve_connection(self, request, client_address, peer, refusal, why):
        """Run one connection's handler, in its own thread, and let go of it after."""
        try:
            # The handler serves the whole connection in __init__, as
            # socketserver's do.  Called from here rather than through the
            # class, it runs one C call less deep (see ConnectionThread).
            handler = self.RequestHandlerClass.__new__(self.RequestHandlerClass)
            handler.__init__(request, client_address, self, peer, refusal, why)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.let_go(request, peer, refusal)

    def let_go(self, request, peer, refusal):
        """Close a connection and give back what it was counted against."""
        self.shutdown_request(request)
        if refusal is None:
            self.room.release(peer)
        else:
            self.goodbyes.release()
        self.backoff.freed()

    def service_actions(self):
        """Between accepts (at least every poll interval): print the pile-ups' sums."""
        self.digest.tick()

    def shutdown(self):
        self.backoff.stop()  # a pause for descriptors ends now, and none follows
        super().shutdown()

    def server_close(self):
        super().server_close()
        self.backoff.close()

    def handle_error(self, request, client_address):
        """Log an unexpected fault; it ended that one connection only."""
        self.console.error(
            "unexpected error in the connection from %s; that connection was closed. "
            "Please report this with the lines below:\n%s"
            % (client_address[0], traceback.format_exc().rstrip())
        )

    def stop(self):
        """Say goodbye to every connection and close everything, in under two seconds."""
        peers = self.room.close_all("The server is shutting down.")
        deadline = time.monotonic() + SHUTDOWN_DRAIN_SECONDS
        for peer in peers:  # the fanout notifies each outbox once it has sent all
            peer.outbox.wait_drained(max(0.0, deadline - time.monotonic()))
        for peer in peers:
            peer.stop_reading()  # its thread wakes, sends TLS close_notify and closes
        self.server_close()
        if self.responder is not None:
            self.responder.stop()
        self.room.wait_empty(SHUTDOWN_CLOSE_SECONDS)  # the last connection's release notifies
        self.fanout.stop()
        self.room.close_log()
        self.teacher_keys.remove()
        return len(peers)


def room_name(given=None):
    """Return the room's name: `given` (--room) cleaned, else "chat on HOSTNAME".

    Control characters go, runs of spaces become one, and the name is cut
    to MAX_ROOM_CHARS; one that shows nothing falls back to the default.
    """
    name = _shown(given)
    return name if name else DEFAULT_ROOM % (_shown(socket.gethostname()) or "this computer")


def _shown(text):
    """Return text without control characters, one space between words, cut; '' if blank."""
    name = " ".join(strip_controls(text or "").split())[:MAX_ROOM_CHARS].strip()
    return "" if is_blank(name) else name


def discovery_figures(server):
    """Return a function giving the discovery answer's live figures (counts only, no lock held)."""
    options, room = server.options, server.room

    def figures():
        return {"room": room.name, "port": server.server_address[1],
                "tls": server.tls is not None, "fingerprint": server.tls_fingerprint,
                "password": options.password is not None, "users": len(room.users()),
                "version": __version__, "logged": room.logged}
    return figures


def start_discovery(server, console):
    """Start answering discovery on UDP (the TCP port's number), unless it is off or cannot.

    Sets server.responder, or server.discovery_off to why there is none
    (the banner says it; a port that cannot be had is also said at once).
    """
    if getattr(server.options, "no_discovery", False):
        return
    port = server.server_address[1]
    reach = reach_of(server.server_address[0])
    if reach is None:
        server.discovery_off = "discovery is IPv4 only, and --host %s is IPv6" % server.options.host
        return
    decider = Decider(discovery_figures(server), *reach)
    try:
        server.responder = Responder(port, decider.decide, console).start()
    except OSError as exc:
        server.discovery_off = "UDP port %d is taken" % port
        console.error("discovery is off: UDP port %d cannot be used (%s), so 'chat.pyz find' "
                      "and clients started without an address will not see this room. The "
                      "chat works as before: students type the address printed below."
                      % (port, exc.strerror or exc))


class StartError(Exception):
    """The server cannot start; the message says why and what to do."""


def listen_address(host, port):
    """Return (family, sockaddr) to bind for --host (empty: every interface)."""
    if not host:
        if socket.has_ipv6 and socket.has_dualstack_ipv6():
            return socket.AF_INET6, ("::", port)
        return socket.AF_INET, ("0.0.0.0", port)
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM,
                                   0, socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise StartError("cannot use --host %s: %s. Give an address of this computer, "
                         "or leave --host out to listen on all of them." % (host, exc))
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr[:2] if family == socket.AF_INET else sockaddr


def make_server(options, room, console):
    """Bind the listening socket, falling back to IPv4 where IPv6 is missing."""
    family, address = listen_address(options.host, options.port)
    try:
        return ChatServer(address, family, options, room, console)
    except OSError as exc:
        if family == socket.AF_INET6 and not options.host and not _in_use(exc):
            return make_server_ipv4(options, room, console)
        raise StartError(_bind_error(options, exc))


def make_server_ipv4(options, room, console):
    try:
        return ChatServer(("0.0.0.0", options.port), socket.AF_INET, options, room, console)
    except OSError as exc:
        raise StartError(_bind_error(options, exc))


def _in_use(exc):
    return getattr(exc, "errno", None) in ADDRESS_IN_USE


def free_port_after(port, is_free):
    """Return the first of the PORT_SUGGESTIONS ports after `port` that is_free(), or None."""
    for candidate in range(port + 1, min(port + PORT_SUGGESTIONS, MAX_PORT) + 1):
        if is_free(candidate):
            return candidate
    return None


def can_listen(host, port):
    """Tell whether a server could listen on host:port right now (bound, then let go)."""
    try:
        family, address = listen_address(host, port)
    except StartError:
        return False
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # as ChatServer.allow_reuse_address
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and address[0] == "::":
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        probe.bind(address)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _bind_error(options, exc):
    where = "%s:%d" % (options.host, options.port) if options.host else "port %d" % options.port
    if _in_use(exc):
        free = free_port_after(options.port, lambda port: can_listen(options.host, port))
        if free is None:
            advice = ("ports %d to %d are taken too: start this one with --port and any free "
                      "port above 1024" % (options.port + 1, options.port + PORT_SUGGESTIONS))
        else:
            advice = ("start this one with --port %d, which is free right now (the "
                      "students' command it prints then includes it; '%s' looks at ports %d "
                      "to %d)" % (free, interpreter.command("find"), SEARCH_PORTS[0],
                                  SEARCH_PORTS[-1]))
        return ("port %d is already in use (is another chat server running?). Stop it, or %s."
                % (options.port, advice))
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) == WSAEACCES:
        return ("not allowed to listen on %s (%s). Ports below 1024 need administrator "
                "rights: use a higher --port." % (where, exc.strerror or exc))
    return "cannot listen on %s: %s." % (where, exc.strerror or exc)


def open_history(options, room, console):
    """Open --log, reload its history; raise StartError if it is unusable.

    Return the LogWriter that writes the room's events to it from now on.
    """
    if not options.log:
        return None
    log = None
    try:
        log = HistoryLog(options.log, options.log_max_size, console)
        entries, last_id, warnings = log.load(options.history)
    except OSError as exc:
        if log is not None:
            log.close()
        raise StartError("cannot use the log file %s: %s. Choose another file with --log."
                         % (options.log, exc.strerror or exc))
    for warning in warnings:
        console.error("warning: " + warning)
    room.load_history(entries, last_id, log.saved_state, log.cleared_through)
    if entries:
        console.info("loaded %s from %s" % (counted(len(entries), "earlier message"),
                                            options.log))
    elif log.cleared_through is not None:
        console.info("%s: the room's history was cleared last time, so newcomers see no earlier "
                     "messages; the file keeps everything and goes on" % options.log)
    else:
        console.info("%s has no earlier messages: a new transcript starts there" % options.log)
    return LogWriter(log, console)


# How to stop a server that has no terminal to type in, by its process number.
STOP_COMMAND = "taskkill /PID %d" if os.name == "nt" else "kill %d"


# The banner's line on whom /mute, /slow and --rate-limit follow (by --shared-address).
SANCTION_LINES = {
    False: "Mute, slow mode, message rate: per computer, under any name (see --shared-address)",
    True: "Mute, slow mode and message rate: per name and connection (--shared-address): a "
          "student who rejoins under a new name is no longer muted",
}


# The banner's line with the students' command; the lines under it align with the command.
STUDENTS_LINE = "Students connect with:  "


def banner(server, options, teacher_commands=False, window=False):
    """Return the lines that tell the teacher how students connect.

    teacher_commands: the teacher types commands in this terminal;
    window: `teach`, whose window also takes them and stops the room.
    """
    port = server.server_address[1]
    shown_port = None if port == DEFAULT_PORT else port  # students type HOST, or HOST:PORT
    lines = ["chat_app %s server listening on port %d" % (__version__, port)]
    if server.responder is not None:
        lines.append("Room: %s (listed in students' windows: they double-click chat.pyz or "
                     "run '%s', and choose it)"
                     % (server.room.name, interpreter.command("client")))
    else:
        lines.append("Room: %s (not listed in students' windows: %s; give them the "
                     "address below)"
                     % (server.room.name, server.discovery_off))
    if options.password is not None:
        lines.append("Password: set (students are asked for it)")
    else:
        lines.append("Password: none")
    lines.extend(teacher_lines(server.teacher_keys, options))
    lines.append(SANCTION_LINES[bool(getattr(options, "shared_address", False))])
    if options.log:
        lines.append("Log: %s (history reloads after a restart)" % options.log)
    else:
        lines.append("Log: off (start with --log FILE to keep a transcript)")
    tls_flags = ""
    if server.tls_fingerprint:
        lines.append("Encrypted (TLS). Certificate fingerprint (SHA-256), for the board:")
        lines.append("  " + grouped(server.tls_fingerprint))
        tls_flags = '--tls --tls-fingerprint "%s" ' % grouped(server.tls_fingerprint,
                                                               MIN_PIN_DIGITS)
    command = interpreter.command("client %s" % tls_flags)
    if options.host and options.host not in ANY_ADDRESS:
        hosts = [options.host]
    else:
        hosts = reachable_addresses()
    if hosts:
        first = hosts[0]
        lines.append(STUDENTS_LINE + command + host_port(first, shown_port))
        for other in hosts[1:]:
            lines.append("or:  ".rjust(len(STUDENTS_LINE)) + command
                         + host_port(other, shown_port))
        lines.append(" " * len(STUDENTS_LINE) + interpreter.other_kind())
        if not tls_flags:  # nc and telnet cannot encrypt
            lines.append("From a terminal:        nc %s %d" % (first, port))
    else:
        lines.append(STUDENTS_LINE + command + host_port("ADDRESS", shown_port))
        lines.append(" " * len(STUDENTS_LINE) + interpreter.other_kind())
        lines.append("  (ADDRESS is this computer's network address: see 'ipconfig' on Windows, "
                     "'ip addr' on Linux, System Settings > Network on macOS)")
    if options.host in ("127.0.0.1", "::1", "localhost"):
        lines.append("Only programs on this computer can connect (--host %s)." % options.host)
    if teacher_commands:
        lines.append("Type /help here for the teacher's commands "
                     "(/who, /mute, /lock, /slow, /hands, /say, /kick, /quit ...)%s."
                     % ("; the window's Room menu has them too" if window else ""))
    if window:
        lines.append("Closing the teacher's window%s stops the room for everyone."
                     % (", /quit or Ctrl+C here" if teacher_commands else ""))
    elif teacher_commands:
        lines.append("Press Ctrl+C to stop the server.")
    else:  # no terminal to type in (nohup, a service): it may run in the background
        lines.append("Stop the server with Ctrl+C where it runs, or with '%s'."
                     % (STOP_COMMAND % os.getpid()))
    return "\n".join(lines)


def teacher_lines(keys, options):
    """Return the banner's lines on who joins as the teacher, and how."""
    lines = []
    if keys.has_token:
        lines.append("Teacher: you, when you start the client on this computer as %s "
                     "(%s)" % (_user_name(), "only the room's password to type"
                                if options.password is not None else "nothing to type"))
    if getattr(options, "teacher_password", None) is not None:
        lines.append("Teacher password: set (from another computer, type it in the join "
                     "form's teacher field)")
    else:
        lines.append("Teacher password: none (to be the teacher from another computer, "
                     "start with --teacher-password)")
    return lines


def _user_name():
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no user name to be had (varies by version)
        return "the user who started this server"


def open_tls(options):
    """Return (context, fingerprint) for --tls-cert/--tls-key, or (None, None)."""
    cert, key = getattr(options, "tls_cert", None), getattr(options, "tls_key", None)
    if not cert and not key:
        return None, None
    if not (cert and key):
        raise StartError("--tls-cert and --tls-key go together: give the certificate "
                         "file and its private key file.")
    try:
        return server_context(cert, key)
    except TlsError as exc:
        raise StartError(str(exc))


def start_server(options, console):
    """Build the room, reload its history and bind the listening socket."""
    context, fingerprint = open_tls(options)
    max_clients = fit_to_fd_limit(options.max_clients, console)
    room = Room(max_clients, options.password, options.history,
                console=console, max_per_ip=options.max_per_ip,
                limits=limits_field(options.rate_limit, DEFAULT_BURST, options.max_text),
                name=room_name(getattr(options, "room", None)),
                shared_address=getattr(options, "shared_address", False))
    if not getattr(options, "quiet", False):
        room.watch = console.show
    log = open_history(options, room, console)
    if log is not None:
        room.attach_log(log)
    try:
        server = make_server(options, room, console)
    except StartError:
        room.close_log()
        raise
    server.tls, server.tls_fingerprint = context, fingerprint
    server.teacher_keys = TeacherKeys.start(server.server_address[1],
                                            getattr(options, "teacher_password", None),
                                            room, console)
    return server


# Signals that end the server as SIGTERM does (everyone gets bye), looked up
# by name since each exists only on some systems: SIGTERM (kill, a service
# stopping); SIGHUP (the terminal window the server runs in was closed, or
# its user logged out); SIGBREAK (Windows: Ctrl+Break; closing the console
# window is console_close.py's, since Windows ends the process as soon as
# the C runtime's SIGBREAK handler returns).  One that was ignored when the
# server started stays ignored: 'nohup' ignores SIGHUP on purpose.
STOP_SIGNALS = ("SIGTERM", "SIGHUP", "SIGBREAK")


class _Terminate(Exception):
    """A stop signal arrived (see STOP_SIGNALS)."""


def _raise_terminate(signum, frame):
    raise _Terminate()


def catch_stop_signals(handler):
    """Have `handler` take each of STOP_SIGNALS not ignored; return {signal: handler before}."""
    previous = {}
    for name in STOP_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    return previous


# How long a thread may keep Python's interpreter lock while another waits
# for it, before it is made to hand it over (Python's default: 5 ms).  The
# server's threads each run briefly and then wait on a socket, handing the
# lock over by themselves; a forced hand-over mostly caught a reader in the
# middle of a room update, holding the room's lock, and the other readers
# then queued behind it, one thread switch each.  docs/benchmarks.md has
# the measurements.
SWITCH_INTERVAL = 0.02


def run(options, out=None, err=None, commands=None):
    """Run the server until Ctrl+C, a stop signal, /quit or its terminal closes; return the status.

    `commands` is where the teacher types (default: standard input, when
    it is a terminal).  SIGTERM, SIGHUP (the terminal closed) and SIGBREAK
    end it as Ctrl+C does, and the exit status is 0 for them all.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if commands is None and sys.stdin is not None and sys.stdin.isatty():
        commands = sys.stdin
    console = Console(out, err)
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        server = start_server(options, console)
    except StartError as exc:
        console.close()  # what start_server printed comes first
        err.write("chat_app: %s\n" % exc)
        return 1
    start_discovery(server, console)
    console.write(banner(server, options, teacher_commands=commands is not None))
    teacher = TeacherConsole(server, console, stop=server.shutdown)
    if commands is not None:
        if hasattr(signal, "SIGTTIN"):
            # Started with '&', reading the terminal would stop the whole
            # server; ignored, the read fails instead and is tried again.
            signal.signal(signal.SIGTTIN, signal.SIG_IGN)
        teacher.start(commands)
    previous = catch_stop_signals(_raise_terminate)
    console_closed = ConsoleClose(stop=server.shutdown)
    console_closed.install()

    def interrupted(signum, frame):
        # Ctrl+C with a command half typed clears it, as at a shell's
        # prompt; on an empty prompt line it stops the server.
        if not console.printer.clear_typed():
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        console.printer.end_line()  # end the line the terminal's ^C is on
    except _Terminate:
        pass
    finally:
        teacher.close()  # the terminal as it was, before anything else can fail
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for signum in previous:
            signal.signal(signum, signal.SIG_IGN)
        closed = server.stop()
        console.info("server stopped (%d connection(s) closed)" % closed)
        console.close()
        console_closed.stopped()  # a closing console window may take the process now
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return 0
