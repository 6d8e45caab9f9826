"""Serve one connection: a program speaking JSON, or a person at a terminal.

The handler reads with a bounded buffer, decides from the first line
whether a program (a JSON object) or a person (anything else) is connected,
and swaps its line handler as the connection moves from logging in to
chatting.  Timers (the name prompt, the join timeout, pings) are deadlines
the reading loop waits on, so they cost no extra threads.  On an encrypted
server (--tls-cert) the TLS handshake runs first, in this thread, under the
join timeout.  Everything the room does goes through self.server.room;
nothing here holds its lock.
"""

import ipaddress
import math
import select
import socket
import socketserver
import time

from . import text_format
from .commands import HELP_TEXT, CommandError, parse_line
from .nonblocking import WOULD_BLOCK, shutdown_quietly
from .outbox import Outbox
from .protocol import (
    LineSplitter, ProtocolError, check_name, clean_text, decode_client_frame,
    encode, looks_like_json_object,
)
from .rate_limit import DEFAULT_BURST, RateLimiter
from .room import Peer
from .tls import TLS_HANDSHAKE_BYTE

# A silent connection is probably a person who typed "nc host 1234";
# after this long they are asked for their name.
PROMPT_DELAY = 1.0

# A person at a terminal may mistype their name or the password this often.
MAX_LOGIN_TRIES = 3

# After a fatal error, how long the error frame gets to reach the peer
# before the socket closes (closing with unread input would reset it).
LINGER_SECONDS = 1.0

# ... and how much of the peer's further input is read and dropped meanwhile.
LINGER_MAX_BYTES = 256 * 1024

# Reasons a member leaves with, as listed in the protocol.
LEFT_REASONS = ("quit", "disconnected", "timeout", "too_slow", "kicked")

PROMPT_NAME = "Welcome to chat_app. Type your name and press Enter:"
PROMPT_PASSWORD = "This room has a password. Type it and press Enter:"


def display_address(address):
    """Show an IPv4 client of a dual-stack socket as 192.0.2.1, not ::ffff:192.0.2.1."""
    try:
        mapped = ipaddress.ip_address(address.split("%")[0]).ipv4_mapped
    except (AttributeError, ValueError):
        return address
    return str(mapped) if mapped else address


def wait_readable(sock, timeout):
    """Wait until a socket has input (or an error) or `timeout` seconds pass."""
    if hasattr(select, "poll"):  # no limit on descriptor numbers, unlike select()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        millis = None if timeout is None else max(0, int(math.ceil(timeout * 1000)))
        return bool(poller.poll(millis))
    readable, _, _ = select.select([sock], [], [sock], timeout)
    return bool(readable)


class ChatRequestHandler(socketserver.StreamRequestHandler):
    """Serve one connection from its first byte to its close.

    The socket is non-blocking, so that any thread can write to it without
    waiting (outbox.py); this handler therefore reads it with poll() and
    recv() rather than through self.rfile.
    """

    disable_nagle_algorithm = True  # chat latency must not wait on Nagle's algorithm
    rbufsize = 0  # reads go straight to the socket: no 8 KiB rfile buffer per connection

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.connection.setblocking(False)
        self.room = self.server.room
        self.options = self.server.options
        self.console = self.server.console
        self.peer = Peer(Outbox(self.connection, self.server.writer, self.too_slow),
                         display_address(self.client_address[0]))
        self.splitter = LineSplitter()
        self.limiter = RateLimiter(self.options.rate_limit, DEFAULT_BURST)
        self.admitted = False
        self.tls_socket = None  # the connection once its TLS handshake is done
        self.linger = False
        self.login_tries = 0
        self.pending_name = None
        started = time.monotonic()
        self.join_deadline = started + self.options.join_timeout
        self.on_line = self.first_line
        self.on_heard = self.nothing
        self.set_timer(started + PROMPT_DELAY, self.prompt_silent)
        self.login_handlers = {
            "join": self.json_join, "say": self.must_join, "ping": self.answer_ping,
            "pong": self.nothing, "leave": self.quit,
        }
        self.chat_handlers = {
            "join": self.already_joined, "say": self.json_say, "ping": self.answer_ping,
            "pong": self.nothing, "leave": self.quit,
        }
        self.text_commands = {
            "say": self.text_say, "msg": self.text_say, "who": self.text_who,
            "help": self.text_help, "quit": self.text_quit,
        }

    def handle(self):
        if self.server.tls is not None and not self.start_tls():
            return
        refusal = self.room.admit(self.peer)
        if refusal == "full":
            self.refuse(ProtocolError("server_full"),
                        "the server is full (%d connections, see --max-clients)"
                        % self.room.max_clients)
            return
        if refusal == "per_ip":
            self.refuse(ProtocolError(
                "server_full",
                "Too many connections from your computer's address (the limit is %d). "
                "Close chat windows you do not need, or ask the teacher to raise "
                "--max-per-ip." % self.options.max_per_ip,
            ), "%d connections from that address already (see --max-per-ip)"
               % self.options.max_per_ip)
            return
        self.admitted = True
        self.serve()

    def finish(self):
        try:
            if self.linger:
                self.linger_close()
            elif self.peer.reason in ("quit", "kicked", "disconnected"):
                # What was queued before the end still goes out ("* Goodbye!", bye, or
                # the welcome to a script that sent its join and then half-closed).
                self.wait_sent(time.monotonic() + LINGER_SECONDS)
            reason = self.peer.reason if self.peer.reason in LEFT_REASONS else "disconnected"
            self.room.leave(self.peer, reason)
        finally:
            if self.admitted:
                self.room.release(self.peer)
            self.peer.outbox.close()
            super().finish()
            if self.tls_socket is not None:
                self.tls_socket.close()  # socketserver closes only the plain socket it gave

    # --- the reading loop ---------------------------------------------

    def serve(self):
        """Read lines and run timers until the connection ends."""
        sock = self.connection
        while self.peer.reason is None:
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                self.on_timer()
                continue
            if not self.buffered() and not wait_readable(
                    sock, None if self.deadline is None else self.deadline - now):
                continue
            try:
                data = self.receive(self.splitter.wanted())
            except WOULD_BLOCK:
                continue
            except OSError:
                data = b""  # reset by the peer: the same as a close
            if not data:
                self.peer.end("disconnected")
                return
            if data[0] == TLS_HANDSHAKE_BYTE and self.on_line == self.first_line \
                    and self.server.tls is None:
                self.refuse(ProtocolError("tls_unavailable"),
                            "it tried to encrypt (--tls), but this server runs without "
                            "--tls-cert")
                return
            self.on_heard()
            try:
                lines = self.splitter.feed(data)
            except ProtocolError as error:
                self.refuse(error)
                return
            for line in lines:
                self.on_line(line)
                if self.peer.reason is not None:
                    return

    def receive(self, size):
        """Read what has arrived, without waiting."""
        if self.tls_socket is None:
            return self.connection.recv(size)
        with self.peer.outbox.io_lock:  # never while the writer thread writes to it
            return self.tls_socket.recv(size)

    def buffered(self):
        """Tell whether TLS holds decrypted bytes that poll() cannot see."""
        return self.tls_socket is not None and self.tls_socket.pending() > 0

    def start_tls(self):
        """Run the TLS handshake under the join timeout; return True once encrypted."""
        sock = self.connection
        sock.settimeout(max(0.1, self.join_deadline - time.monotonic()))
        try:
            first = sock.recv(1, socket.MSG_PEEK)
            if first and first[0] != TLS_HANDSHAKE_BYTE:
                sock.setblocking(False)
                self.refuse(ProtocolError("tls_required"), "it did not use encryption (TLS)")
                return False
            if not first:
                return False
            tls = self.server.tls.wrap_socket(sock, server_side=True)
        except OSError as exc:  # ssl.SSLError and socket.timeout are OSErrors
            self.console.info("no encrypted connection with %s: %s" % (self.peer.address, exc))
            return False
        tls.setblocking(False)
        self.connection = self.request = self.tls_socket = tls
        self.peer.outbox.sock = tls
        return True

    def set_timer(self, deadline, action):
        self.deadline, self.on_timer = deadline, action

    def send(self, frame):
        """Send a frame to this connection alone, as JSON or as text."""
        if self.peer.wire == "json":
            self.write(encode(frame))
        else:
            self.write_text(text_format.render(frame))

    def write_text(self, text):
        self.write((text_format.safe(text) + "\n").encode("utf-8"))

    def write(self, data):
        if self.peer.outbox.put(data):
            self.peer.outbox.flush()
        else:
            self.too_slow()

    def too_slow(self):
        """Cut the connection off: it has not read what it was sent."""
        if self.peer.end("too_slow"):
            shutdown_quietly(self.connection)

    def refuse(self, error, why=None):
        """Send a fatal error and end the connection once it has been read."""
        self.send(error.frame())
        self.console.info("refused %s: %s" % (self.peer.address, why or error.message))
        self.peer.end(error.code)
        self.linger = True

    def wait_sent(self, deadline):
        """Give the writer thread until `deadline` to send what is queued."""
        while self.peer.outbox.pending and time.monotonic() < deadline:
            time.sleep(0.005)

    def linger_close(self):
        """Let the last frames reach the peer, then close without a reset."""
        sock, deadline = self.connection, time.monotonic() + LINGER_SECONDS
        self.wait_sent(deadline)
        shutdown_quietly(sock, socket.SHUT_WR)  # FIN, but keep reading
        budget = LINGER_MAX_BYTES
        while budget > 0 and time.monotonic() < deadline:
            if not wait_readable(sock, deadline - time.monotonic()):
                break
            try:
                data = self.receive(min(budget, 65536))
            except WOULD_BLOCK:
                continue
            except OSError:
                break
            if not data:
                break
            budget -= len(data)

    # --- timers -------------------------------------------------------

    def nothing(self, *unused):
        """Ignore an event (a pong, or data while no timer depends on it)."""

    def prompt_silent(self):
        self.write_text(PROMPT_NAME)
        self.set_timer(self.join_deadline, self.join_expired)

    def join_expired(self):
        self.refuse(ProtocolError(
            "join_timeout",
            "Nothing was joined within %g seconds, so the connection is closed. "
            "Connect again and send your name." % self.options.join_timeout,
        ))

    def restart_ping_timer(self):
        if self.options.ping_interval > 0:
            self.set_timer(time.monotonic() + self.options.ping_interval, self.send_ping)

    def send_ping(self):
        self.send({"type": "ping"})
        self.set_timer(time.monotonic() + self.options.ping_timeout, self.ping_expired)

    def ping_expired(self):
        if self.peer.end("timeout"):
            self.console.info("%s did not answer a ping for %g seconds"
                              % (self.peer.name, self.options.ping_timeout))

    # --- the first line -----------------------------------------------

    def first_line(self, line):
        """Tell a program (a JSON object) from a person (anything else)."""
        self.set_timer(self.join_deadline, self.join_expired)
        if looks_like_json_object(line):
            self.on_line = self.json_login
        else:
            self.peer.wire = "text"
            self.on_line = self.text_name
        self.on_line(line)

    # --- JSON sessions ------------------------------------------------

    def json_login(self, line):
        self.dispatch(line, self.login_handlers)

    def json_chat(self, line):
        self.dispatch(line, self.chat_handlers)

    def dispatch(self, line, handlers):
        try:
            frame = decode_client_frame(line)
            handlers[frame["type"]](frame)
        except ProtocolError as error:
            if error.fatal:
                self.refuse(error)
            else:
                self.send(error.frame())

    def json_join(self, frame):
        self.room.join(self.peer, frame["name"], frame.get("password"))
        self.on_line = self.json_chat
        self.on_heard = self.restart_ping_timer
        self.restart_ping_timer()

    def must_join(self, frame):
        raise ProtocolError("not_joined", "Send a join frame before '%s'." % frame["type"])

    def already_joined(self, frame):
        raise ProtocolError("already_joined", "You have already joined as %s." % self.peer.name)

    def json_say(self, frame):
        self.say(frame["text"], frame.get("to"))

    def answer_ping(self, frame):
        pong = {"type": "pong"}
        if "token" in frame:
            pong["token"] = frame["token"]
        self.send(pong)

    def quit(self, frame=None):
        self.peer.end("quit")

    def say(self, text, to=None):
        """Relay a member's text, after the checks every session shares."""
        text = clean_text(text, self.options.max_text)
        if not self.limiter.allow():
            raise ProtocolError(
                "rate_limited",
                "You are sending messages too fast (the limit is %g a second); "
                "this one was not sent. Wait a moment and send it again."
                % self.options.rate_limit,
            )
        self.room.say(self.peer, text, to)

    # --- text sessions (nc, telnet) -----------------------------------

    def decode_text(self, line):
        """Return a typed line as text, or None after telling the person why not."""
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self.write_text("! That line was not UTF-8 text, so it was ignored. "
                            "Set your terminal to UTF-8.")
            return None

    def text_name(self, line):
        name = self.decode_text(line)
        if name is None:
            return
        name = name.strip()
        if not name:
            self.write_text(PROMPT_NAME)
            return
        try:
            check_name(name)
        except ProtocolError as error:
            self.retry_login(error)
            return
        if self.room.has_password:
            self.pending_name = name
            self.on_line = self.text_password
            self.write_text(PROMPT_PASSWORD)
            self.set_timer(time.monotonic() + self.options.join_timeout, self.join_expired)
            return
        self.text_join(name, None)

    def text_password(self, line):
        password = self.decode_text(line)
        if password is not None:
            self.text_join(self.pending_name, password)

    def text_join(self, name, password):
        try:
            self.room.join(self.peer, name, password)
        except ProtocolError as error:
            self.retry_login(error)
            return
        self.on_line = self.text_chat
        self.set_timer(None, None)

    def retry_login(self, error):
        """Explain a refused name or password and ask again, a few times."""
        self.login_tries += 1
        self.write_text("! " + error.message)
        if self.login_tries >= MAX_LOGIN_TRIES:
            self.refuse(ProtocolError(
                error.code, "Too many tries; disconnecting. Connect again to retry."))
            return
        if error.code == "bad_password":
            self.write_text(PROMPT_PASSWORD)
        else:
            self.on_line = self.text_name
            self.write_text("Type another name and press Enter:")
        self.set_timer(time.monotonic() + self.options.join_timeout, self.join_expired)

    def text_chat(self, line):
        typed = self.decode_text(line)
        if typed is None or not typed.strip():
            return
        try:
            command = parse_line(typed)
            self.text_commands[command.kind](command)
        except CommandError as error:
            self.write_text("! %s" % error)
        except ProtocolError as error:
            self.send(error.frame())

    def text_say(self, command):
        self.say(command.text, command.target or None)

    def text_who(self, command):
        self.write_text(text_format.render_users(self.room.users()))

    def text_help(self, command):
        self.write_text(HELP_TEXT)

    def text_quit(self, command):
        self.write_text("* Goodbye!")
        self.quit()
