"""What both ends need to use non-blocking sockets, plain or TLS.

`WOULD_BLOCK` is what a non-blocking send() or recv() raises when it would
have to wait (use_tls() adds what TLS sockets raise); `wait_readable` waits for input without reading it.
`shutdown_quietly` shuts a socket down without touching its TLS layer:
ssl.SSLSocket.shutdown() throws the TLS state away, so whatever is sent
afterwards (a kicked user's `bye`) would go out unencrypted.
"""

import math
import select
import socket
import sys

# What a non-blocking plain socket raises.  A TLS socket can also want to
# read while writing and the other way round: use_tls() adds ssl's errors
# when encryption is first used.  Read it as nonblocking.WOULD_BLOCK at the
# moment of the `except`, so that it is the current one.
WOULD_BLOCK = (BlockingIOError, InterruptedError)


def use_tls():
    """Import ssl (encryption is about to be used); return it, or None without OpenSSL.

    Only then: OpenSSL, loaded by ssl (and by hashlib and hmac through
    _hashlib), adds megabytes to an idle server (bench/idle_memory.py;
    docs/benchmarks.md, "Figures behind the code"), memory a server
    without --tls-cert or --password would keep for nothing.
    From now on WOULD_BLOCK covers TLS sockets too.
    """
    global WOULD_BLOCK
    try:
        import ssl
    except ImportError:  # a Python built without OpenSSL: no TLS connections either
        return None
    WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                   ssl.SSLWantWriteError)
    return ssl


def is_tls(sock):
    """Tell whether a socket is a TLS socket (none can be before ssl is imported)."""
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(sock, ssl.SSLSocket)


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
    """Wait until a socket has input (or an error) or `timeout` seconds pass.

    A deadline just passed gives a timeout below zero: that is a look
    without waiting (select() would raise ValueError).
    """
    if timeout is not None:
        timeout = max(0.0, timeout)
    if hasattr(select, "poll"):  # no limit on descriptor numbers, unlike select()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        millis = None if timeout is None else int(math.ceil(timeout * 1000))
        return bool(poller.poll(millis))
    readable, _, _ = select.select([sock], [], [sock], timeout)
    return bool(readable)
