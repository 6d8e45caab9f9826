"""The command line: `chat.pyz server` and `chat.pyz client`, with their options."""

import argparse
import functools
import re
import sys

from . import __version__
from .wire import interpreter
from .relay.access import DEFAULT_MAX_PER_IP
from .discovery.datagrams import SEARCH_PORTS
from .discovery.finder import FIND_SECONDS
from .relay.history_log import DEFAULT_MAX_SIZE, MIN_MAX_SIZE, ROTATED_LOGS_KEPT
from .wire.records import format_size, parse_size
from .wire.local_addresses import MAX_PORT, connect_port, host_port, ranged, split_address
from .relay.log_budget import share_for
from .wire.tls import ClientTls, TlsError
from .wire.protocol import DEFAULT_MAX_TEXT_CHARS, DEFAULT_PORT, MAX_TEXT_CEILING
from .wire.rate_limit import DEFAULT_BURST, DEFAULT_RATE
from .relay.room import DEFAULT_HISTORY
from .relay.listener import (
    DEFAULT_JOIN_TIMEOUT,
    DEFAULT_MAX_CLIENTS,
    DEFAULT_PING_INTERVAL,
    DEFAULT_PING_TIMEOUT,
)

NO_TK = (
    "chat_app: the chat window needs Tk, which this Python lacks; using the terminal "
    "client instead. To get the window: on Debian/Ubuntu 'sudo apt install python3-tk', "
    "on Fedora 'sudo dnf install python3-tkinter'; on Windows or macOS run the python.org "
    "installer again with 'tcl/tk and IDLE' ticked."
)
NO_DISPLAY = (
    "chat_app: cannot open a window (%s), so you chat in this terminal instead. "
    "For the window, start the client from a desktop session; to skip this "
    "message, add --text."
)

DESCRIPTION = """\
A chat for labs and classrooms in one file.
One computer runs:    {run} teach    (the room and the teacher's window)
                 or:  {run} server   (the room alone, with a console)
Everyone else runs:   {run} client
(it lists the rooms found on this network), or, if their room is not listed,
                      {run} client ADDRESS
(ADDRESS is printed by the server when it starts; add :PORT for another port.)
{other_kind}
Started with no mode, as by a double-click, chat.pyz opens the client window."""


class HelpFormatter(argparse.HelpFormatter):
    """Show each option's default, unless it is none or the help says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, "", argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line that says where to look."""

    def error(self, message):
        stray_port = re.fullmatch(r"unrecognized arguments: (\d+)", message)
        if stray_port:  # "client 192.168.1.23 1235": the port belongs after a colon
            message += ("; a port goes after the address with a colon, for example "
                        + interpreter.command("client ADDRESS:%s" % stray_port.group(1)))
        self.exit(2, "%s: error: %s (see: %s)\n"
                  % (self.prog, message, interpreter.command(self._help_hint() + "--help")))

    def _help_hint(self):
        words = self.prog.split()
        return words[-1] + " " if len(words) > 1 else ""


def log_size(text):
    """Return --log-max-size in bytes from 100M, 1G, 500K, a number of bytes, or 0."""
    try:
        size = parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "%r is not a size: write for example 100M, 1G, 500K, or a number of bytes" % text)
    if 0 < size < MIN_MAX_SIZE:
        raise argparse.ArgumentTypeError(
            "%s is too small for --log-max-size: give at least %s (for example 100M), or 0 "
            "for one file that is never renamed" % (text, format_size(MIN_MAX_SIZE)))
    return size


port_number = ranged(int, 0, MAX_PORT, "a port number")


class AddressError(ValueError):
    """The address options contradict each other; str() says how."""


def client_address(address, host, port):
    """Return the (host, port) to connect to from the positional address, --host and --port.

    Each is (host, port or None) from split_address, or None when not given.
    A host given without a port means the default port, never the one
    remembered from another room; only when no host is given are the
    answer's parts None, for the remembered settings to fill in.
    """
    if address and host and address != host:
        raise AddressError("the server's address is given twice (%s and --host %s); give it once."
                           % (host_port(*address), host_port(*host)))
    chosen = address or host or (None, None)
    if chosen[1] is not None and port is not None and chosen[1] != port:
        raise AddressError("the port is given twice, differently (%s and --port %d); give it "
                           "once." % (host_port(*chosen), port))
    port = chosen[1] if chosen[1] is not None else port
    if chosen[0] is not None and port is None:
        port = DEFAULT_PORT
    return chosen[0], port


def _add_server(subparsers):
    server = subparsers.add_parser(
        "server", help="run the chat server (one per room)",
        description="Run the chat server. Everyone in the room connects to this computer.",
        formatter_class=HelpFormatter,
    )
    add_server_options(server)
    server.set_defaults(run=_run_server)


def add_server_options(server):
    """Add the options of a room's server (`server`, and `teach`, which runs one too)."""
    server.add_argument("--host", default="",
                        help="address to listen on (default: every address of this "
                             "computer, IPv4 and IPv6)")
    server.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                        help="TCP port to listen on (0 picks a free one)")
    server.add_argument("--password", metavar="TEXT", default=None,
                        help="password people must give to join (default: none)")
    server.add_argument("--teacher-password", metavar="TEXT", default=None,
                        help="password that makes whoever joins with it a teacher, for a "
                             "teacher on another computer (on this computer the client "
                             "started by the server's user is the teacher without it)")
    server.add_argument("--history", metavar="N", type=ranged(int, 0, what="a whole number"),
                        default=DEFAULT_HISTORY,
                        help="how many recent messages newcomers see")
    server.add_argument("--log", metavar="FILE", default=None,
                        help="append everything said (private messages too), joins, leaves "
                             "and the teacher's changes to FILE, and reload the history and "
                             "the room's rules from it at start; students are told the room "
                             "is recorded (default: no file). 'chat.pyz transcript FILE' "
                             "makes it a readable record")
    server.add_argument("--log-max-size", metavar="SIZE", type=log_size,
                        default=format_size(DEFAULT_MAX_SIZE),
                        help="when FILE would grow past SIZE (for example 500K, 100M, 1G), it "
                             "becomes FILE.1 (FILE.1 becomes FILE.2 ...) and a new FILE "
                             "begins; %d older files are kept, the oldest is removed. 0: one "
                             "file that is never renamed. What one student's computer sends "
                             "fills at most SIZE of the log per run (%s with 0); the rest "
                             "still reaches everyone" % (ROTATED_LOGS_KEPT,
                                                         format_size(share_for(0))))
    server.add_argument("--max-clients", metavar="N", type=ranged(int, 1, what="a whole number"),
                        default=DEFAULT_MAX_CLIENTS, help="most connections at once")
    server.add_argument("--tls-cert", metavar="FILE", default=None,
                        help="encrypt with TLS: the server's certificate (PEM); needs --tls-key")
    server.add_argument("--tls-key", metavar="FILE", default=None,
                        help="the private key (PEM) of --tls-cert")
    server.add_argument("--max-per-ip", metavar="N", type=ranged(int, 0, what="a whole number"),
                        default=DEFAULT_MAX_PER_IP,
                        help="most connections from one address (0: no limit; this "
                             "computer's own connections are never limited)")
    server.add_argument("--max-text", metavar="N", type=ranged(int, 1, MAX_TEXT_CEILING, "a whole number"),
                        default=DEFAULT_MAX_TEXT_CHARS,
                        help="longest message, in characters")
    server.add_argument("--rate-limit", metavar="N", type=ranged(float, 0), default=DEFAULT_RATE,
                        help="messages, raised hands and teacher's changes per second per "
                             "computer (per connection with --shared-address, and for this "
                             "computer's own), sustained (bursts of up to %d allowed); "
                             "0 turns the limit off" % DEFAULT_BURST)
    server.add_argument("--shared-address", action="store_true",
                        help="the students reach this computer through one shared address "
                             "(NAT): apply /mute, /slow and --rate-limit per connection and "
                             "name, not per computer (a student who rejoins under a new name "
                             "then escapes a mute)")
    server.add_argument("--join-timeout", type=ranged(float, 0.1), metavar="S",
                        default=DEFAULT_JOIN_TIMEOUT,
                        help="seconds a new connection has to send its first line and join")
    server.add_argument("--ping-interval", type=ranged(float, 0), metavar="S",
                        default=DEFAULT_PING_INTERVAL,
                        help="seconds of silence before a client is pinged (0: never)")
    server.add_argument("--ping-timeout", type=ranged(float, 0.1), metavar="S",
                        default=DEFAULT_PING_TIMEOUT,
                        help="seconds a pinged client has to answer before it is removed")
    server.add_argument("--room", metavar="NAME", default=None,
                        help="the room's name, shown to students who find it, in their "
                             "window title and on this console (default: chat on "
                             "THIS COMPUTER'S NAME)")
    server.add_argument("--no-discovery", action="store_true",
                        help="do not answer 'chat.pyz find' and clients started without an "
                             "address (UDP on the same port): students type the address")
    server.add_argument("--quiet", action="store_true",
                        help="do not show the conversation in this window (joins, leaves "
                             "and the teacher's commands are still shown)")


def _add_teach(subparsers):
    teach = subparsers.add_parser(
        "teach", help="run the chat server and the teacher's window together",
        description="Run the chat server and open the teacher's window, joined as the "
                    "teacher. Closing the window stops the room. The options are the "
                    "server's; on a computer without a screen use 'server' instead.",
        formatter_class=HelpFormatter,
    )
    add_server_options(teach)
    teach.add_argument("--name", default="Teacher",
                       help="your name in the room, shown to the students")
    teach.set_defaults(run=_run_teach)


def _add_client(subparsers):
    client = subparsers.add_parser(
        "client", help="join a chat room",
        description="Join the chat room on the server's computer.",
        formatter_class=HelpFormatter,
    )
    client.add_argument("address", nargs="?", type=split_address, default=None,
                        metavar="HOST[:PORT]",
                        help="the server's address, as the server printed it, with its port "
                             "if not %d (IPv6 with a port: [::1]:1234); the same as --host. "
                             "Without it, the client looks for the rooms on this network and "
                             "lists them" % DEFAULT_PORT)
    client.add_argument("--host", default=None, type=split_address, metavar="HOST[:PORT]",
                        help="the server's address, as the server printed it "
                             "(default: look for the rooms on this network)")
    client.add_argument("--port", type=port_number, default=None,
                        help="the server's port (default: %d); with no address, rooms are "
                             "looked for on this port too" % DEFAULT_PORT)
    client.add_argument("--name", default=None, help="your name in the room (default: asked when needed)")
    client.add_argument("--password", metavar="TEXT", default=None,
                        help="the room's password, if it has one (default: asked when needed)")
    client.add_argument("--teacher-password", metavar="TEXT", default=None,
                        help="join as the teacher, from another computer than the server's: "
                             "the password the server was started with (--teacher-password)")
    client.add_argument("--tls", action="store_true",
                        help="encrypt, and check the server is the right one (with "
                             "--tls-fingerprint, --tls-ca, or else the system's CAs)")
    client.add_argument("--tls-fingerprint", metavar="HEX", default=None,
                        help="the SHA-256 fingerprint the server printed (implies --tls)")
    client.add_argument("--tls-ca", metavar="FILE", default=None,
                        help="verify the server's certificate with this CA file (PEM; "
                             "implies --tls)")
    client.add_argument("--text", action="store_true",
                        help="chat in this terminal instead of a window")
    client.set_defaults(run=_run_client)


def _add_find(subparsers):
    find = subparsers.add_parser(
        "find", help="list the chat rooms on this network, with the command to join each",
        description="Ask this computer's networks which chat rooms are running, and list "
                    "each with the command that joins it.",
        formatter_class=HelpFormatter,
    )
    find.add_argument("--timeout", metavar="S", type=ranged(float, 0.1, 30.0),
                      default=FIND_SECONDS, help="seconds to wait for answers")
    find.add_argument("--port", metavar="P", type=connect_port, action="append", default=None,
                      help="also ask this port (ports %d to %d are always asked); "
                           "may be given several times" % (SEARCH_PORTS[0], SEARCH_PORTS[-1]))
    find.set_defaults(run=_run_find)


def _add_transcript(subparsers):
    from .transcript.export import EXTENSIONS, FORMATS
    transcript = subparsers.add_parser(
        "transcript", help="turn a --log file into a readable record of the lesson",
        description="Turn the log a server kept (server --log FILE) into a record of the "
                    "lesson: a web page, Markdown, a spreadsheet table or plain text, with a "
                    "summary of who wrote how much and when.",
        formatter_class=HelpFormatter,
    )
    transcript.add_argument("log", metavar="LOG", help="the file given to server --log")
    transcript.add_argument("--format", choices=list(FORMATS), default=None,
                            help="html (one web page), md (Markdown), csv (spreadsheets) or "
                                 "txt (default: from the -o file's name, %s; else txt)"
                                 % " ".join(sorted(EXTENSIONS)))
    transcript.add_argument("-o", "--output", metavar="FILE", default=None,
                            help="write the transcript to FILE, replacing it if it exists "
                                 "(default: print it)")
    transcript.add_argument("--private", action="store_true",
                            help="include private messages (the log keeps them; left out "
                                 "unless this is given)")
    transcript.set_defaults(run=_run_transcript)


def build_parser():
    parser = Parser(prog="chat.pyz", description=DESCRIPTION.format(
        run=interpreter.command(), other_kind=interpreter.other_kind()),
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="chat_app %s" % __version__)
    subparsers = parser.add_subparsers(dest="mode", title="modes")
    _add_server(subparsers)
    _add_teach(subparsers)
    _add_client(subparsers)
    _add_find(subparsers)
    _add_transcript(subparsers)
    return parser


def _run_server(options):
    from . import server
    return server.run(options)


def _run_teach(options):
    from . import teach
    return teach.run(options)


def _run_find(options):
    from .discovery import finder
    return finder.run(options)


def _run_transcript(options):
    from .transcript import export as transcript
    return transcript.run(options)


def _client_tls(options):
    """Return the tls.ClientTls the options ask for, or None; raise TlsError if they clash."""
    if not (options.tls or options.tls_fingerprint or options.tls_ca):
        return None
    if options.tls_fingerprint and options.tls_ca:
        raise TlsError("give --tls-fingerprint or --tls-ca, not both.")
    return ClientTls(ca_file=options.tls_ca, pin=options.tls_fingerprint)


def _run_client(options):
    try:
        options.host, options.port = client_address(options.address, options.host, options.port)
        options.tls_settings = _client_tls(options)
    except (AddressError, TlsError) as exc:
        sys.stderr.write("chat_app: %s\n" % exc)
        return 2
    options.search = None
    if options.host is None:  # no address given: look for the rooms on the network
        from .discovery import room_search
        extra = () if options.port is None else (options.port,)
        options.search = functools.partial(room_search.find_nearby, extra)
    if not options.text:
        status = _run_window_client(options)
        if status is not None:
            return status
    from .client import text_client as client_text
    return client_text.run(options)


def _run_window_client(options):
    """Run the Tk client; return None (after saying why) if Tk cannot start."""
    try:
        import tkinter
    except ImportError:
        sys.stderr.write(NO_TK + "\n")
        return None
    from . import client_gui
    try:
        root = client_gui.open_root()
    except tkinter.TclError as exc:
        sys.stderr.write(NO_DISPLAY % exc + "\n")
        return None
    return client_gui.run(root, options, search=options.search)


def _tolerant_streams():
    """Print names in any script even on consoles that cannot show them."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def main(argv=None):
    """Run chat_app with command-line arguments; return the exit status."""
    _tolerant_streams()
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.mode is None:  # a double-click: the client window, which finds the rooms
        options = parser.parse_args(["client"])
    return options.run(options)
