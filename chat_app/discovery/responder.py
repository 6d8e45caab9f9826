"""Discovery's server side: answer `find`'s queries on UDP, on the TCP port's number.

Two parts.  `Decider` does no I/O: given a datagram, its source address and
the time, it returns the answer's bytes or None, and counts why.  Its
rules, cheapest first: a datagram over discovery.MAX_QUERY_BYTES, a source
that is not private, link-local or loopback (an IPv4-mapped IPv6 source is
judged as its IPv4 address), a source the server's --host would not reach,
anything but a query, and a source already answered ANSWER_RATE times a
second (a token bucket per source address, and one for all sources).

`Responder` is the thread: one UDP socket bound to every IPv4 address (a
socket bound to one unicast address misses broadcasts on Linux), so the
--host choice is applied by the Decider instead (`reach_of`).  It reads a
datagram at a time, sends the answer by unicast to the query's source,
and never holds the room's lock while sending: the answer's live figures
come from `figures()`, which reads counts only.  Nothing it receives can
stop it: an unexpected fault is counted and logged once.
"""

import collections
import ipaddress
import selectors
import socket
import threading
import time
import traceback

from . import datagrams as discovery
from ..wire.rate_limit import RateLimiter

# Answers to one source address: about 20 a second, 20 at once.  `find`
# asks each port twice in 1.5 s, so a student never comes near it; a burst
# of 500 forged queries gets 20 answers, plus 20 for each second it lasts.
ANSWER_RATE = 20.0
ANSWER_BURST = 20

# Answers to all sources together: a flood from many (forged) addresses
# still makes the server send at most this many, MAX_ANSWER_BYTES each.
TOTAL_ANSWER_RATE = 200.0
TOTAL_ANSWER_BURST = 200

# How many source addresses keep their own bucket; the longest unheard is
# forgotten first, so the table's memory is bounded whatever arrives.
MAX_SOURCES = 1024

# What --host reaches, for the Decider (see reach_of).
EVERYONE = "everyone"  # no --host, or a wildcard address
THIS_COMPUTER = "this computer"  # --host 127.0.0.1, ::1, localhost
SUBNET = "subnet"  # --host a unicast IPv4 address: its /24 and this computer

# A specific --host's neighbours are guessed as its /24: a classroom's
# usual network, and no interface lookups in the server.
SUBNET_PREFIX = 24

# Why a datagram got no answer (or did): the Decider's counts.
TOO_BIG = "too big"
NOT_LOCAL = "source not on a local network"
OUT_OF_REACH = "source out of --host's reach"
NOT_A_QUERY = "not a query"
RATE_LIMITED = "rate limited"
ANSWERED = "answered"


def local_source(address):
    """Return the ip_address of a source that may be answered, or None.

    Private, link-local and loopback addresses may (as Python's ipaddress
    says); an IPv4-mapped IPv6 address is judged as its IPv4 address.
    """
    ip = _ip(address)
    if ip is None:
        return None
    if ip.is_private or ip.is_link_local or ip.is_loopback:
        return ip
    return None


def reach_of(bound_address):
    """Return (reach, network) for the address the TCP server listens on.

    None when discovery cannot serve it: an IPv6 address other than ::1,
    since discovery's answers leave from an IPv4 address that such a
    server does not listen on.
    """
    ip = _ip(bound_address)
    if ip is None:
        return None
    if ip.is_unspecified:
        return EVERYONE, None
    if ip.is_loopback:
        return THIS_COMPUTER, None
    if ip.version == 4:
        return SUBNET, ipaddress.ip_network("%s/%d" % (ip, SUBNET_PREFIX), strict=False)
    return None


def _ip(address):
    """Return an address's ip_address (an IPv4-mapped one as IPv4; no %scope), or None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    return ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped is not None else ip


def _in_reach(ip, reach, network):
    if reach == EVERYONE or ip.is_loopback:
        return True
    return reach == SUBNET and ip.version == 4 and ip in network


class Decider:
    """Decide, without I/O, what each received datagram gets.

    `figures()` returns answer_bytes' keyword arguments as they are now
    (room, port, tls, fingerprint, password, users, version); it is called
    only for a query that will be answered.
    """

    def __init__(self, figures, reach=EVERYONE, network=None, clock=time.monotonic):
        self._figures = figures
        self._reach = reach
        self._network = network
        self._clock = clock
        self._buckets = collections.OrderedDict()  # source ip -> RateLimiter, newest last
        self._total = RateLimiter(TOTAL_ANSWER_RATE, TOTAL_ANSWER_BURST, clock=clock)
        self.counts = collections.Counter()

    def sources(self):
        """Return how many source addresses have a bucket now (at most MAX_SOURCES)."""
        return len(self._buckets)

    def decide(self, data, source, now=None):
        """Return the answer to `data` from `source` ((host, port, ...)), or None."""
        if now is None:
            now = self._clock()
        why, answer = self._judge(data, source[0], now)
        self.counts[why] += 1
        return answer

    def _judge(self, data, host, now):
        if len(data) > discovery.MAX_QUERY_BYTES:
            return TOO_BIG, None
        ip = local_source(host)
        if ip is None:
            return NOT_LOCAL, None
        if not _in_reach(ip, self._reach, self._network):
            return OUT_OF_REACH, None
        if not discovery.is_query(data):
            return NOT_A_QUERY, None
        if not (self._bucket(ip, now).allow(now) and self._total.allow(now)):
            return RATE_LIMITED, None
        return ANSWERED, discovery.answer_bytes(**self._figures())

    def _bucket(self, ip, now):
        bucket = self._buckets.pop(ip, None)
        if bucket is None:
            if len(self._buckets) >= MAX_SOURCES:
                self._buckets.popitem(last=False)  # the longest unheard source
            bucket = RateLimiter(ANSWER_RATE, ANSWER_BURST, clock=self._clock, now=now)
        self._buckets[ip] = bucket
        return bucket


class Responder:
    """The UDP socket and its thread; `stop()` ends the thread and closes the socket."""

    def __init__(self, port, decide, console):
        """Bind UDP `port` on every IPv4 address; raise OSError if it cannot be had.

        `console` (the server's terminal.console.Console) is told of a fault.
        """
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # Not SO_REUSEADDR: for UDP it would let a second server share
            # the port and take some of the queries.  On Windows, refuse
            # to share it as the TCP side does.
            if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            self._sock.bind(("0.0.0.0", port))
        except BaseException:
            self._sock.close()
            raise
        self._decide = decide
        self.console = console
        self._wake_reader, self._wake_writer = socket.socketpair()
        # A selector, not select(): a server with many connections may have
        # descriptors past select's limit (Linux: 1024).
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        self.faults = 0  # unexpected errors caught; the first is logged
        self.send_failures = 0  # answers the system would not send (counted, not logged)
        self._thread = threading.Thread(target=self._serve, name="discovery", daemon=True)

    @property
    def port(self):
        return self._sock.getsockname()[1]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Wake the thread, wait for it to end, and close the sockets."""
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass  # already woken
        if self._thread.is_alive():
            self._thread.join()
        self._selector.close()
        for sock in (self._sock, self._wake_reader, self._wake_writer):
            sock.close()

    def _serve(self):
        while True:
            ready = [key.fileobj for key, _ in self._selector.select()]
            if self._wake_reader in ready:
                return
            try:
                self._answer_one()
            except Exception:
                self._fault()

    def _answer_one(self):
        try:
            data, source = self._sock.recvfrom(discovery.MAX_QUERY_BYTES + 1)
        except OSError:
            # Windows reports an earlier answer's "port unreachable" here.
            self.send_failures += 1
            return
        answer = self._decide(data, source)
        if answer is None:
            return
        try:
            self._sock.sendto(answer, source)
        except OSError:  # no route back, buffers full, a firewall: that asker gets nothing
            self.send_failures += 1

    def _fault(self):
        self.faults += 1
        if self.faults == 1:
            self.console.error("discovery: a datagram caused an unexpected error; it was ignored "
                               "and discovery goes on (this is said once). Please report this "
                               "with the lines below:\n%s" % traceback.format_exc().rstrip())
