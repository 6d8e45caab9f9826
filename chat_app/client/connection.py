"""A client's connection to the server: connect, join, send and receive frames.

Shared by the clients.  Failures are raised as ConnectError (or JoinRefused)
with a message written for the person at the keyboard.  A join never
carries a password: it proves the room and teacher passwords, and takes the
welcome only once the room has proven them too (scram.ClientLogin).
"""

import select
import socket
import threading
import time

from ..wire import nonblocking
from .chat_state import NOT_THE_ROOM
from ..wire.protocol import (
    MAX_SERVER_FRAME_BYTES,
    PASSWORD_MISSING_MESSAGE,
    PROVEN_SECRETS,
    ProtocolError,
    encode,
    parse_object,
)
from ..wire.tls import TlsError, fingerprint

# How long to wait for the server to accept the connection and to answer
# the join.  A server on the same network answers in milliseconds.
CONNECT_TIMEOUT = 5.0

# A password that waits its turn (password_wait) extends that wait by the
# seconds the server names, believed up to this: fifty tries in one line
# wait six minutes; a longer figure is a broken or hostile server.
MAX_PASSWORD_WAIT = 900.0


# An info probe (the join form asks whether a typed address's room is
# recorded) waits this long for the connection and the answer: a server on
# the same network answers in milliseconds, and the form must not wait.
INFO_WAIT = 2.0

# ... and reads at most this many frames for the answer: an older server
# answers `info` with an error, and a greeting line may come first.
INFO_FRAMES = 4


class ConnectError(Exception):
    """The connection failed or was lost; str() says why, for a person."""


class RoomChanged(ConnectError):
    """The room is no longer encrypted, or shows another certificate (`change`: tls.CHANGES)."""

    def __init__(self, message, change):
        ConnectError.__init__(self, message)
        self.change = change


class JoinRefused(Exception):
    """The server refused the join; `code` and `message` come from its error."""

    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


def describe_connect_error(host, port, exc):
    """Explain a failed connection attempt in words a student understands."""
    where = "%s port %d" % (host, port)
    if isinstance(exc, ConnectionRefusedError):
        return ("Nothing is listening at %s. Check the address and port the server printed, "
                "and that the server is running." % where)
    if isinstance(exc, socket.timeout):
        return ("%s did not answer within %g seconds. Check the address, and that the "
                "server computer's firewall allows port %d." % (where, CONNECT_TIMEOUT, port))
    if isinstance(exc, socket.gaierror):
        return ("Cannot find the computer '%s'. Check the address the server printed."
                % host)
    return "Cannot connect to %s: %s." % (where, exc.strerror or exc)


class ServerConnection:
    """One TCP connection to a chat server, framed as JSON lines."""

    def __init__(self, sock):
        self._sock = sock
        self._reader = sock.makefile("rb")
        self._send_lock = threading.Lock()
        self._timeout = self._first_timeout = sock.gettimeout()

    @staticmethod
    def open(host, port, timeout=CONNECT_TIMEOUT, tls=None):
        """Connect (and encrypt, with a tls.ClientTls), or raise ConnectError saying why not."""
        try:
            sock = socket.create_connection((host, port), timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls is None:
                return ServerConnection(sock)
            try:
                return TlsServerConnection(tls.wrap(sock, host, port))
            except TlsError as exc:
                sock.close()
                if exc.change is not None:
                    raise RoomChanged("Not connected: %s" % exc, exc.change)
                raise ConnectError("Not connected: %s" % exc)
        except OSError as exc:
            raise ConnectError(describe_connect_error(host, port, exc))

    def join(self, name, password=None, waiting=None, fields=None):
        """Send join, prove the passwords the room asks for, and return the welcome.

        Raise JoinRefused or ConnectError.  Neither the room password nor a
        teacher password in `fields` (more join fields: a teacher's
        teacher_token, or teacher_password from teacher_id.proof) is ever
        sent: the join proves them (scram.py).  A room that cannot prove
        them in turn is refused (JoinRefused NOT_THE_ROOM); so is one that
        wants the password itself.  A room password the room asks for and
        the person has not given is bad_password (PASSWORD_MISSING_MESSAGE),
        nothing sent.  A password that must wait its turn (password_wait)
        makes the answer wait longer, by the seconds the server names;
        `waiting(message, seconds)` is told so.
        """
        from ..wire import scram
        fields = dict(fields or {})
        secrets = {secret: fields.pop(secret, None) for secret in PROVEN_SECRETS}
        secrets["password"] = password
        login = scram.ClientLogin(name, secrets, lambda: self.binding)
        self.send(dict(fields, type="join", name=name, **login.join_fields()))
        try:
            return self._answer(login, waiting)
        except scram.NotTheRoom as failed:
            raise JoinRefused(NOT_THE_ROOM, str(failed))

    def _answer(self, login, waiting):
        """Read the join's answers until its welcome; prove what a challenge asks."""
        while True:
            reply = self.receive()
            if reply is None:
                raise ConnectError("The server closed the connection without answering.")
            kind = reply.get("type")
            if kind == "welcome":
                login.check_welcome(reply)
                self._wait_forever()
                return reply
            if kind == "challenge":
                if login.needs_password(reply):  # nothing sent: the person is asked
                    raise JoinRefused("bad_password", PASSWORD_MISSING_MESSAGE)
                self.send(login.proof(reply))
            elif kind == "error":
                code = str(reply.get("code"))
                if code == "bad_password" and not login.challenged and login.has_password:
                    raise JoinRefused(NOT_THE_ROOM, PASSWORD_WANTED)
                raise JoinRefused(code, str(reply.get("message")))
            elif kind == "password_wait":
                seconds = password_wait_seconds(reply)
                self._wait_longer(seconds)
                if waiting is not None:
                    waiting(str(reply.get("message") or ""), seconds)

    @property
    def binding(self):
        """Return the channel binding: the server's address and port as this end reached them."""
        from ..wire import scram
        address, port = self._sock.getpeername()[:2]
        return scram.tcp_binding(address, port)

    def send(self, frame):
        """Send one frame; return False if the connection is gone."""
        data = encode(frame)
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError:
                return False
        return True

    def receive(self):
        """Return the next frame, or None once the server has closed.

        Lines that are not JSON objects (a prompt meant for people) are
        skipped, as the protocol asks of clients.
        """
        while True:
            try:
                line = self._readline(MAX_SERVER_FRAME_BYTES + 1)
            except socket.timeout:
                raise ConnectError("The server did not answer within %g seconds."
                                   % self._timeout)
            except OSError as exc:
                raise ConnectError("the connection failed (%s)" % (exc.strerror or exc))
            if not line:
                return None
            if len(line) > MAX_SERVER_FRAME_BYTES and not line.endswith(b"\n"):
                raise ConnectError("the server sent a line longer than %d bytes"
                                   % MAX_SERVER_FRAME_BYTES)
            try:
                return parse_object(line.rstrip(b"\r\n"))
            except ProtocolError:
                continue

    def _readline(self, limit):
        return self._reader.readline(limit)

    def _wait_forever(self):
        self._sock.settimeout(None)  # joined: from now on the server may be quiet

    def _wait_longer(self, seconds):
        """Wait for each answer `seconds` longer than at first (a password waits its turn)."""
        if self._first_timeout is not None:
            self._timeout = self._first_timeout + seconds
            self._sock.settimeout(self._timeout)

    def shutdown(self):
        """Wake a thread blocked reading this connection; it then sees the end."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed or reset: the reader is awake either way

    def close(self):
        try:
            self._reader.close()
            self._sock.close()
        except OSError:
            pass  # closing a broken socket can fail; it is closed either way


class TlsServerConnection(ServerConnection):
    """The same over TLS, where reading and writing must not overlap.

    OpenSSL forbids one connection to read in one thread while another
    writes, and the clients read in one thread and write in another.  So
    the socket is non-blocking, waiting happens outside the lock, and
    every recv() and send() holds the lock.
    """

    def __init__(self, sock):
        self._sock = sock
        self._send_lock = threading.Lock()
        self._buffer = bytearray()
        self._certificate = fingerprint(sock.getpeercert(binary_form=True))
        self._timeout = self._first_timeout = sock.gettimeout()
        sock.setblocking(False)

    def send(self, frame):
        view = memoryview(encode(frame))
        while view:
            with self._send_lock:
                try:
                    sent = self._sock.send(view)
                except nonblocking.WOULD_BLOCK:
                    sent = 0
                except OSError:
                    return False
            view = view[sent:]
            if view and not sent:
                _wait_ready(self._sock, write=True, timeout=1.0)
        return True

    def _readline(self, limit):
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched)
            if end >= 0:
                line = bytes(self._buffer[:end + 1])
                del self._buffer[:end + 1]
                return line
            searched = len(self._buffer)
            if searched > limit:
                return bytes(self._buffer)  # receive() reports it as too long
            with self._send_lock:
                pending = self._sock.pending()
            if not pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise socket.timeout("timed out")
                if not _wait_ready(self._sock, write=False, timeout=remaining):
                    continue
            with self._send_lock:
                try:
                    chunk = self._sock.recv(65536)
                except nonblocking.WOULD_BLOCK:
                    continue
            if not chunk:
                line = bytes(self._buffer)  # the end: a last line without "\n", or b""
                self._buffer.clear()
                return line
            self._buffer += chunk

    @property
    def binding(self):
        """Return the channel binding: the certificate the server showed."""
        from ..wire import scram
        return scram.tls_binding(self._certificate)

    def _wait_forever(self):
        self._timeout = None

    def _wait_longer(self, seconds):
        if self._first_timeout is not None:
            self._timeout = self._first_timeout + seconds

    def close(self):
        try:
            self._sock.close()
        except OSError:
            pass  # closing a broken socket can fail; it is closed either way


def probe_info(host, port, tls=None, timeout=INFO_WAIT):
    """Ask a server what its room is before joining; return its info frame, or None.

    Connect, send {"type": "info"}, read the answer, close.  Any failure
    (nothing listening, an older server that knows no info, a wrong
    fingerprint) is None: the form then simply says nothing about it.
    """
    try:
        connection = ServerConnection.open(host, port, timeout, tls)
    except ConnectError:
        return None
    try:
        connection.send({"type": "info"})
        for _ in range(INFO_FRAMES):
            frame = connection.receive()
            if frame is None or frame.get("type") == "error":
                return None
            if frame.get("type") == "info":
                return frame
        return None
    except ConnectError:
        return None
    finally:
        connection.close()


# Why a room that answers a join with a password in it with "needs a
# password" is refused: it wants the password itself, as only an older
# chat_app or a fake does (NOT_THE_ROOM's message).
PASSWORD_WANTED = ("it asked for the password itself instead of proving that it knows it, as "
                   "only a fake room or an older chat.pyz does")


def password_wait_seconds(frame):
    """Return the seconds a password_wait frame names (0 if none), at most MAX_PASSWORD_WAIT."""
    seconds = frame.get("seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds != seconds:
        return 0.0
    return float(min(max(seconds, 0), MAX_PASSWORD_WAIT))


def _wait_ready(sock, write, timeout):
    """Wait until the socket can be read (or written); False after `timeout` seconds."""
    try:
        if write:
            ready = select.select([], [sock], [sock], timeout)
        else:
            ready = select.select([sock], [], [sock], timeout)
    except (OSError, ValueError):
        return True  # closed meanwhile: the next recv() or send() says so
    return any(ready)
