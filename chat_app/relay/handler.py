"""Serve one connection: a program speaking JSON, or a person at a terminal.

The connection's life (first byte, TLS, login, chat, held-back reading,
timers) is a Session (session.py), which does no I/O.  This handler only
moves bytes: it polls and reads the socket when the session is reading,
runs the TLS handshake when told, feeds what happens into the session and
carries out the actions it returns.  Lines go to a handler chosen from a
table by the session's state and the connection's wire (JSON or text).
Everything the room does goes through self.server.room; nothing here
holds its lock.
"""

import io
import ipaddress
import socket
import socketserver
import time

from .. import __version__
from . import session as life
from ..wire import text_format
from .access import PASSWORD_NOT_CHECKED_MESSAGE
from ..wire.commands import HELP_TEXT, CommandError, parse_line
from .console_digest import NO_TLS, REFUSED
from ..wire import nonblocking
from ..wire.nonblocking import shutdown_quietly, wait_readable
from .outbox import Outbox
from ..wire.protocol import (
    LEFT_REASONS,
    PASSWORD_MISSING_MESSAGE,
    ProtocolError,
    clean_text,
    decode_client_frame,
    encode,
    info_frame,
    is_blank,
)
from ..wire.names import check_name
from ..wire.rate_limit import DEFAULT_BURST
from .peer import Peer

# After a fatal error, how long the error frame gets to reach the peer
# before the socket closes (closing with unread input would reset it).
LINGER_SECONDS = 1.0

# ... and how much of the peer's further input is read and dropped meanwhile.
LINGER_MAX_BYTES = 256 * 1024

# A connection refused at accept (full, --max-per-ip) is told why within
# this, from its accept to its close: the prompt delay for its first byte,
# a TLS handshake if it starts one, the error, and the linger, all in.
GOODBYE_SECONDS = 2.0

# Leave reasons after which what was queued still goes out ("* Goodbye!",
# bye, or the welcome to a script that sent its join and then half-closed).
DRAIN_REASONS = ("quit", "kicked", "disconnected")

# Why a connection was refused, in words for the teacher's console (the
# person refused reads the error's own message).
REFUSALS_FOR_THE_TEACHER = {
    "tls_required": "it did not use encryption (TLS)",
    "tls_unavailable": "it tried to encrypt (--tls), but this server runs without --tls-cert",
    "bad_password": "wrong password",
    "name_taken": "that name, or one that looks like it, is in use",
    "bad_name": "not a valid name",
    "join_timeout": "it did not join in time (see --join-timeout)",
    "frame_too_long": "it sent a line longer than 64 KiB",
    "bad_teacher": "its teacher token or teacher password proved nothing",
    "bad_binding": ("its password proof was made for another address: it came through a relay "
                    "or port forwarding (if students reach this room through port forwarding, "
                    "start it with --tls-cert and --tls-key)"),
}

# Refusals that share a code but not a cause, told apart by the error's own words.
REFUSALS_BY_MESSAGE = {
    PASSWORD_MISSING_MESSAGE: "no password given (the room has one)",
    PASSWORD_NOT_CHECKED_MESSAGE: ("it left while its password try waited its turn "
                                   "(wrong passwords from that address are slowed down)"),
}


# What a connection has for StreamRequestHandler's rfile and wfile (see
# ChatRequestHandler.setup): one file for all, closed, so that finish()
# finds nothing to flush or close.
NO_FILE = io.BytesIO()
NO_FILE.close()


def refusal_for(answer, max_clients, max_per_ip):
    """Return (ProtocolError, words for the teacher) for the room's refusal of a connection."""
    if answer == "full":
        return (ProtocolError("server_full"),
                "the server is full (%d connections, see --max-clients)" % max_clients)
    return (ProtocolError(
        "server_full",
        "Too many connections from your computer's address (the limit is %d). "
        "Close chat windows you do not need, or ask the teacher to raise "
        "--max-per-ip." % max_per_ip),
        "%d connections from that address already (see --max-per-ip)" % max_per_ip)


def new_peer(sock, client_address, server):
    """Make the room's Peer for a connection just accepted (in the accepting thread).

    The socket becomes non-blocking here, before the room can send to it.
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setblocking(False)
    peer = Peer(Outbox(sock, server.fanout, lambda: cut_off(peer)),
                display_address(client_address[0]), on_end=server.room.stream.wake_senders)
    return peer


def cut_off(peer):
    """End a connection that has not read what it was sent (too_slow)."""
    if peer.end("too_slow"):
        peer.stop_reading()


def display_address(address):
    """Show an IPv4 client of a dual-stack socket as 192.0.2.1, not ::ffff:192.0.2.1."""
    try:
        mapped = ipaddress.ip_address(address.split("%")[0]).ipv4_mapped
    except (AttributeError, ValueError):
        return address
    return str(mapped) if mapped else address


class ChatRequestHandler(socketserver.StreamRequestHandler):
    """Serve one connection from its first byte to its close.

    The socket is non-blocking, so that any thread can write to it without
    waiting (outbox.py, fanout.py); this handler therefore reads it with poll() and
    recv() rather than through self.rfile.  The server counted the
    connection in (or refused it) when it accepted it, and hands over its
    Peer and, if refused, the refusal with its words for the teacher; a
    refused connection only hears why, within GOODBYE_SECONDS.
    """

    # What carries out each of the session's actions (method names, so that
    # a thousand connections share one table).
    ACTIONS = {
        life.SEND: "send", life.PROMPT: "write_text", life.START_TLS: "start_tls",
        life.REFUSE: "refuse", life.END: "end",
    }

    # Who handles a line, by the session's state and the connection's wire.
    LINE_HANDLERS = {
        (life.LOGGING_IN, life.JSON): "json_login",
        (life.LOGGING_IN, life.TEXT): "text_name",
        (life.PROVING, life.JSON): "json_proving",
        (life.PASSWORD, life.TEXT): "text_password",
        (life.CHATTING, life.JSON): "json_chat",
        (life.CHATTING, life.TEXT): "text_chat",
    }

    # Who handles a JSON frame, by its type, before and after the join, and
    # a text command, by its kind: method names, shared by every connection
    # (dicts of bound methods would be made per connection; docs/benchmarks.md,
    # "Figures behind the code").
    login_handlers = {
        "join": "json_join", "say": "must_join", "ping": "answer_ping",
        "pong": "nothing", "leave": "quit", "hand": "must_join", "control": "must_join",
        "info": "answer_info", "proof": "must_join",
    }
    proving_handlers = {
        "join": "must_prove", "say": "must_prove", "ping": "answer_ping",
        "pong": "nothing", "leave": "quit", "hand": "must_prove", "control": "must_prove",
        "info": "answer_info", "proof": "json_proof",
    }
    chat_handlers = {
        "join": "already_joined", "say": "json_say", "ping": "answer_ping",
        "pong": "nothing", "leave": "quit", "hand": "json_hand", "control": "json_control",
        "info": "answer_info", "proof": "already_joined",
    }
    text_commands = {
        "say": "text_say", "msg": "text_say", "who": "text_who",
        "help": "text_help", "quit": "text_quit", "hand": "text_hand",
    }

    def __init__(self, request, client_address, server, peer, refusal=None, refused_why=None):
        self.peer = peer
        self.refusal = refusal  # a ProtocolError: the room refused it at accept
        self.refused_why = refused_why
        # A refused connection's goodbye ends by then, whatever it sends.
        self.goodbye_ends = None if refusal is None else time.monotonic() + GOODBYE_SECONDS
        super().__init__(request, client_address, server)

    def setup(self):
        # As StreamRequestHandler.setup(), without its rfile and wfile: this
        # handler reads and writes the socket itself (read(), outbox.py),
        # and the two file objects would cost memory per connection, unused.
        self.connection = self.request
        # Chat latency must not wait on Nagle's algorithm.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.rfile = self.wfile = NO_FILE
        self.room = self.server.room
        self.options = self.server.options
        self.console = self.server.console
        self.tls_socket = None  # the connection once its TLS handshake is done
        self.linger = False
        self.pending_name = None
        self.attempted_name = None  # the name a join asked for, for the teacher's console
        self.accepted_password = None  # a person's password the room took (their name did not)
        self.login = None  # a challenged join's proofs (scram.ServerLogin), until its proof came
        self.claimed_teacher = False  # a challenged join: True (its token), None (to prove)
        self.goodbye_sent = False

    def handle(self):
        self.session = life.Session(
            time.monotonic(), self.options.join_timeout,
            ping_interval=self.options.ping_interval, ping_timeout=self.options.ping_timeout,
            rate=self.options.rate_limit, burst=DEFAULT_BURST,
            tls=self.server.tls is not None, refusal=self.refusal,
            prompt_name=life.PROMPT_NAME_LOGGED if self.room.logged else life.PROMPT_NAME,
            limiter=self.peer.limiter)
        self.serve()

    def finish(self):
        try:
            if self.linger:
                self.linger_close()
            elif self.peer.reason in DRAIN_REASONS:
                self.peer.outbox.wait_drained(self.linger_seconds())
            reason = self.peer.reason if self.peer.reason in LEFT_REASONS else "disconnected"
            self.room.leave(self.peer, reason)
        finally:  # the server lets go of the connection's count once this returns
            self.peer.outbox.close()
            self.say_goodbye_encrypted()
            super().finish()
            if self.tls_socket is not None:
                shutdown_quietly(self.tls_socket)
                self.tls_socket.close()  # socketserver closes only the plain socket it gave

    # --- the reading loop ---------------------------------------------

    def serve(self):
        """Read lines and run timers until the connection ends."""
        session = self.session
        while self.peer.reason is None and not session.finished:
            if self.goodbye_ends is not None and time.monotonic() >= self.goodbye_ends:
                self.peer.end("disconnected")  # a refused connection's time is up
                break
            self.run(session.expire(time.monotonic()))
            if self.peer.reason is not None or session.finished:
                break
            line = session.next_line()
            if line is not None:
                self.handle_lines(line)
            elif session.peeking:
                self.peek()
            elif session.reading:
                self.read()
            else:  # held back: wait for the next token, or for the end
                self.peer.wait_for_end(self.until_deadline())
        self.run(session.ended())

    def handle_lines(self, line):
        """Handle a line, then the others queued with it, until none is left or one ends it.

        Timers are looked at again once they are all handled (the lines of
        one read take a few milliseconds at most).  A say held back leaves
        the rest queued.
        """
        while line is not None:
            self.handle_line(line)
            line = self.session.next_line() if self.peer.reason is None else None

    def handle_line(self, line):
        """Give a line to the handler for this state and wire; a say may be held back."""
        self.peer.wire = self.session.wire  # next_line() learns it from the first line
        try:
            getattr(self, self.LINE_HANDLERS[(self.session.state, self.session.wire)])(line)
        except life.HoldBack:
            self.run(self.session.hold_back(time.monotonic()))

    def until_deadline(self):
        deadline = self.session.next_deadline()
        if self.goodbye_ends is not None:
            deadline = min(deadline or self.goodbye_ends, self.goodbye_ends)
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def linger_seconds(self):
        """Return how long the last frames may take to drain (a goodbye: what is left of it)."""
        if self.goodbye_ends is None:
            return LINGER_SECONDS
        return max(0.0, min(LINGER_SECONDS, self.goodbye_ends - time.monotonic()))

    def peek(self):
        """Look at the first byte without taking it: TLS, a program or a person?"""
        if not wait_readable(self.connection, self.until_deadline()):
            return
        first = self.take(lambda: self.connection.recv(1, socket.MSG_PEEK))
        if first:
            self.run(self.session.first_byte(first[0], time.monotonic()))

    def read(self):
        """Read what has arrived (waiting until it does, or the next timer)."""
        sock = self.connection
        pause = self.session.pause_before_read()
        if pause:
            self.peer.wait_for_end(pause)  # a drip: let its bytes gather (an end cuts it short)
        if not self.buffered():
            if self.session.holding and not wait_readable(sock, 0):
                self.session.idle(time.monotonic())  # the held-back lines have all followed
            if not wait_readable(sock, self.until_deadline()):
                return
        data = self.take(lambda: self.receive(self.session.wanted()))
        if data:
            self.run(self.session.received(data, time.monotonic()))

    def take(self, read):
        """Run a non-blocking read: its bytes, None if none came yet, b"" at the end."""
        try:
            data = read()
        except nonblocking.WOULD_BLOCK:
            return None
        except OSError:
            data = b""  # reset by the peer: the same as a close
        if not data:
            self.peer.end("disconnected")
        return data

    def run(self, actions):
        """Carry out what the session asks, in order."""
        for kind, value in actions:
            getattr(self, self.ACTIONS[kind])(value)
        if self.session.wire is not None:
            self.peer.wire = self.session.wire

    def receive(self, size):
        """Read what has arrived, without waiting; b"" once the connection is ended."""
        if self.tls_socket is None:
            return self.connection.recv(size)
        with self.peer.outbox.io_lock:  # never while the fanout thread writes to it
            if self.peer.reason is not None:
                return b""  # stop_reading() shut it: OpenSSL must not read that end
            return self.tls_socket.recv(size)

    def discard(self, size):
        """Read and drop what the peer still sends, below any TLS layer."""
        return socket.socket.recv(self.connection, size)

    def buffered(self):
        """Tell whether TLS holds decrypted bytes that poll() cannot see."""
        return self.tls_socket is not None and self.tls_socket.pending() > 0

    def start_tls(self, unused=None):
        """Run the TLS handshake, in this thread, under the join timeout."""
        sock = self.connection
        sock.settimeout(max(0.1, self.until_deadline() or 0.0))
        try:
            tls = self.server.tls.wrap_socket(sock, server_side=True)
        except OSError as exc:  # ssl.SSLError and socket.timeout are OSErrors
            self.server.digest.report(NO_TLS, self.peer.address, str(exc))
            self.run(self.session.handshake_failed(time.monotonic()))
            return
        tls.setblocking(False)
        self.connection = self.request = self.tls_socket = tls
        self.peer.outbox.encrypt(tls)
        self.run(self.session.handshake_done(time.monotonic()))

    def send(self, frame):
        """Send a frame to this connection alone, as JSON or as text."""
        if self.session.wire == life.TEXT:
            self.write_text(text_format.render_for_session(frame))
        else:
            self.write(encode(frame))

    def write_text(self, text):
        self.write((text_format.safe(text) + "\n").encode("utf-8"))

    def write(self, data):
        if self.peer.outbox.put(data):
            self.peer.outbox.flush()
        else:
            self.too_slow()

    def too_slow(self):
        """Cut the connection off: it has not read what it was sent."""
        cut_off(self.peer)

    def end(self, reason):
        """End the connection with a leave reason (a ping went unanswered)."""
        if self.peer.end(reason) and reason == "timeout":
            self.console.info("%s did not answer a ping for %g seconds"
                              % (self.peer.name, self.options.ping_timeout))

    def refuse(self, error):
        """Send a fatal error and end the connection once it has been read."""
        self.send(error.frame())
        self.log_refusal(error)
        self.peer.end(error.code)
        self.linger = True

    def log_refusal(self, error, then=""):
        """Tell the teacher's console who was refused and why.

        A connection that never gave a name may be one of a flood, and so
        may a password try that left before its turn (a guesser giving up
        on many at once): their lines go through the server's digest, which
        sums pile-ups up.
        """
        if not self.attempted_name or error.message == PASSWORD_NOT_CHECKED_MESSAGE:
            self.server.digest.report(REFUSED, self.peer.address,
                                      self.refusal_reason(error) + then)
            return
        who = "%s (%s)" % (text_format.safe_line(self.attempted_name)[:40], self.peer.address)
        self.console.info("refused %s: %s%s" % (who, self.refusal_reason(error), then))

    def refusal_reason(self, error):
        """Say in the server's log why a connection was refused."""
        if error.code == "server_full" and self.refused_why:
            return self.refused_why
        return REFUSALS_BY_MESSAGE.get(
            error.message, REFUSALS_FOR_THE_TEACHER.get(error.code, error.message))

    def linger_close(self):
        """Let the last frames reach the peer, then close without a reset."""
        sock, deadline = self.connection, time.monotonic() + self.linger_seconds()
        self.peer.outbox.wait_drained(self.linger_seconds())
        self.say_goodbye_encrypted()
        shutdown_quietly(sock, socket.SHUT_WR)  # FIN, but keep reading
        budget = LINGER_MAX_BYTES
        while budget > 0 and time.monotonic() < deadline:
            if not wait_readable(sock, deadline - time.monotonic()):
                break
            try:
                data = self.discard(min(budget, 65536))
            except nonblocking.WOULD_BLOCK:
                continue
            except OSError:
                break
            if not data:
                break
            budget -= len(data)

    def say_goodbye_encrypted(self):
        """On TLS, send close_notify (once, best effort) so the peer sees a clean end."""
        if self.tls_socket is not None and not self.goodbye_sent:
            self.goodbye_sent = True
            self.peer.outbox.close()  # nothing is sent after close_notify
            self.peer.outbox.send_close_notify()

    def nothing(self, *unused):
        """Ignore an event (a pong)."""

    # --- JSON sessions ------------------------------------------------

    def json_login(self, line):
        self.dispatch(line, self.login_handlers)

    def json_proving(self, line):
        self.dispatch(line, self.proving_handlers)

    def json_chat(self, line):
        self.dispatch(line, self.chat_handlers)

    def dispatch(self, line, handlers):
        try:
            frame = decode_client_frame(line)
            getattr(self, handlers[frame["type"]])(frame)
        except ProtocolError as error:
            if error.fatal:
                self.run(self.session.fatal(error))
            else:
                self.send(error.frame())

    def json_join(self, frame):
        """Join, or with a nonce (the shipped clients) challenge the join to prove its passwords.

        Without a nonce the passwords come in the join, as older clients
        and scripts send them.
        """
        self.attempted_name = frame["name"]
        if "nonce" in frame:
            self.challenge(frame)
            return
        teacher = self.server.teacher_keys.check(frame, self.peer.address, self.peer)
        self.room.join(self.peer, frame["name"], frame.get("password"), teacher=teacher)
        self.run(self.session.joined(time.monotonic()))

    def challenge(self, frame):
        """Ask a join with a nonce to prove each password it needs; with none to prove, join it."""
        check_name(frame["name"])  # refused at once, before any proof
        keys = self.server.teacher_keys
        self.claimed_teacher = keys.claim(frame)
        verifiers = {}
        if self.room.verifier is not None:
            verifiers["password"] = self.room.verifier
        if self.claimed_teacher is None:
            verifiers["teacher_password"] = keys.verifier
        if not verifiers:
            self.room.join(self.peer, frame["name"], teacher=self.claimed_teacher)
            self.run(self.session.joined(time.monotonic()))
            return
        from ..wire import scram
        self.login = scram.ServerLogin(frame["name"], frame["nonce"], verifiers,
                                       self.channel_binding())
        self.run(self.session.challenged(self.login.challenge(), time.monotonic()))

    def channel_binding(self):
        """Return this connection's channel binding: the certificate served, or this end's address."""
        from ..wire import scram
        if self.tls_socket is not None:
            return scram.tls_binding(self.server.tls_fingerprint)
        address, port = self.connection.getsockname()[:2]
        return scram.tcp_binding(address, port)

    def json_proof(self, frame):
        """Check a challenged join's proofs (slowed as sent passwords are), then join it."""
        login, self.login = self.login, None  # one proof per challenge
        login.take_proof(frame)
        teacher = self.claimed_teacher
        if teacher is None:
            teacher = self.server.teacher_keys.check_proof(login, self.peer.address, self.peer)
        self.room.join(self.peer, login.name, teacher=teacher, login=login)
        self.run(self.session.joined(time.monotonic()))

    def must_prove(self, frame):
        raise ProtocolError("not_joined", "Answer the challenge with a proof frame before '%s'."
                            % frame["type"])

    def json_hand(self, frame):
        self.spend_token()
        self.room.hand(self.peer, frame["up"])

    def json_control(self, frame):
        self.spend_token()
        self.room.control(self.peer, frame)

    def answer_info(self, frame):
        """Tell anyone who asks, joined or not, what the room is (info)."""
        self.send(info_frame(self.room.name, self.room.logged, self.room.has_password,
                             __version__))

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
        """Relay a member's text, after the checks every session shares.

        With no token left, raise HoldBack: the line waits, and reading
        stops, until the next token is due.
        """
        text = clean_text(text, self.options.max_text)
        if not self.session.take_token(time.monotonic()):  # spend_token(), inline: the hot path
            raise life.HoldBack()
        self.room.say(self.peer, text, to)

    def spend_token(self):
        """Take a token for a frame that changes the room (a hand, a control), as say() does.

        With none left, raise HoldBack: the frame waits, and reading
        stops, until the next token is due.
        """
        if not self.session.take_token(time.monotonic()):
            raise life.HoldBack()

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
        name = name.strip() if name is not None else None
        if not name:
            if name is not None:
                self.write_text(self.session.prompt_name)
            self.run(self.session.asked_again(time.monotonic()))
            return
        try:
            check_name(name)
        except ProtocolError as error:
            self.run(self.session.login_refused(error, time.monotonic()))
            return
        if self.room.has_password and self.accepted_password is None:
            self.pending_name = name
            self.run(self.session.password_asked(time.monotonic()))
            return
        self.text_join(name, self.accepted_password)

    def text_password(self, line):
        password = self.decode_text(line)
        if password is not None:
            self.text_join(self.pending_name, password)

    def text_join(self, name, password):
        """Join a person; a refused name or password is asked again until the join timeout."""
        try:
            self.attempted_name = name
            self.room.join(self.peer, name, password)
        except ProtocolError as error:
            if error.code == "name_taken":
                self.accepted_password = password  # the room checks it before the name
            self.log_refusal(error, "; asked again")
            self.run(self.session.login_refused(error, time.monotonic()))
            return
        self.run(self.session.joined(time.monotonic()))

    def text_chat(self, line):
        typed = self.decode_text(line)
        if typed is None or is_blank(typed):
            return
        try:
            command = parse_line(typed)
            getattr(self, self.text_commands[command.kind])(command)
        except CommandError as error:
            self.write_text("! %s" % error)
        except ProtocolError as error:
            self.send(error.frame())

    def text_say(self, command):
        self.say(command.text, command.target or None)

    def text_who(self, command):
        self.write_text(text_format.render_users(self.room.users()))

    def text_hand(self, command):
        self.spend_token()
        self.room.hand(self.peer, command.text == "up")

    def text_help(self, command):
        self.write_text(HELP_TEXT)

    def text_quit(self, command):
        self.write_text("* Goodbye!")
        self.quit()
