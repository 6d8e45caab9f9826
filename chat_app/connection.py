"""A client's connection to the server: connect, join, send and receive frames.

Shared by the clients.  Failures are raised as ConnectError (or JoinRefused)
with a message written for the person at the keyboard.
"""

import socket
import threading

from .protocol import MAX_SERVER_FRAME_BYTES, ProtocolError, encode, parse_object

# How long to wait for the server to accept the connection and to answer
# the join.  A server on the same network answers in milliseconds.
CONNECT_TIMEOUT = 5.0


class ConnectError(Exception):
    """The connection failed or was lost; str() says why, for a person."""


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

    @classmethod
    def open(cls, host, port, timeout=CONNECT_TIMEOUT):
        """Connect, or raise ConnectError saying what went wrong."""
        try:
            sock = socket.create_connection((host, port), timeout)
        except OSError as exc:
            raise ConnectError(describe_connect_error(host, port, exc))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    def join(self, name, password=None):
        """Send join and return the welcome; raise JoinRefused or ConnectError."""
        frame = {"type": "join", "name": name}
        if password is not None:
            frame["password"] = password
        self.send(frame)
        while True:
            reply = self.receive()
            if reply is None:
                raise ConnectError("The server closed the connection without answering.")
            if reply.get("type") == "welcome":
                self._sock.settimeout(None)
                return reply
            if reply.get("type") == "error":
                raise JoinRefused(str(reply.get("code")), str(reply.get("message")))

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
                line = self._reader.readline(MAX_SERVER_FRAME_BYTES + 1)
            except socket.timeout:
                raise ConnectError("The server did not answer within %g seconds."
                                   % CONNECT_TIMEOUT)
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
