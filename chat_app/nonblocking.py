"""What both ends need to use non-blocking sockets, plain or TLS.

`WOULD_BLOCK` is what a non-blocking send() or recv() raises when it would
have to wait; `wait_readable` waits for input without reading it.
`shutdown_quietly` shuts a socket down without touching its TLS layer:
ssl.SSLSocket.shutdown() throws the TLS state away, so whatever is sent
afterwards (a kicked user's `bye`) would go out unencrypted.
"""

import math
import select
import socket

try:
    import ssl
except ImportError:  # a Python built without OpenSSL: no TLS connections either
    ssl = None

# A TLS socket can want to read while writing and the other way round.
WOULD_BLOCK = (BlockingIOError, InterruptedError) + (
    (ssl.SSLWantReadError, ssl.SSLWantWriteError) if ssl else ())


def shutdown_quietly(sock, how=socket.SHUT_RDWR):
    """Shut a socket down (both ways by default: its reader wakes up); ignore errors.

    On a TLS socket only the TCP connection is shut; the TLS layer stays,
    so frames still queued go out encrypted.
    """
    try:
        socket.socket.shutdown(sock, how)
    except (OSError, TypeError):
        pass  # already closed or reset (or detached): the reader wakes up either way


def wait_readable(sock, timeout):
    """Wait until a socket has input (or an error) or `timeout` seconds pass."""
    if hasattr(select, "poll"):  # no limit on descriptor numbers, unlike select()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        millis = None if timeout is None else max(0, int(math.ceil(timeout * 1000)))
        return bool(poller.poll(millis))
    readable, _, _ = select.select([sock], [], [sock], timeout)
    return bool(readable)
