"""Find the chat rooms on this machine's networks: `chat.pyz find` and the join form.

The query (discovery.QUERY_BYTES) goes from a UDP socket bound to each
local IPv4 address to that network's directed broadcast address and to
255.255.255.255 (a socket bound to an address sends even the limited
broadcast out of that address's adapter, so a VPN or an adapter holding
the default route cannot swallow it, and a lab without a default route
still works), and from 127.0.0.1 to 127.0.0.1, on every port asked.  It
is sent twice, because a datagram can be lost; the answers, one
datagram each sent back by unicast, are read until the time is up.  A
room is listed once per address it answered from.  One address failing
(no route, an address gone) never stops the others.  The work is
bounded: a fixed number of datagrams, the timeout.

Anyone on the network can answer, so the list is built not to be gamed
(the same rules serve the clients' lists, chat_app.discovery.room_search): rooms
come in an order that nothing a room claims but its name can change
(in_order), rooms that share a name are marked with their addresses
(same_names), and an encrypted room shows as many fingerprint digits as
a pin needs (FINGERPRINT_SHOWN).  The answers' strings arrive cleaned
(discovery.parse_answer).
"""

import collections
import ipaddress
import select
import socket
import sys
import textwrap
import time

from . import datagrams as discovery
from ..wire import interpreter, text_format, tls
from ..wire.ignorable import is_default_ignorable
from ..wire.interfaces import LIMITED_BROADCAST, local_interfaces
from ..wire.local_addresses import host_port
from ..wire.names import name_key
from ..wire.protocol import DEFAULT_PORT

FoundRoom = collections.namedtuple(
    "FoundRoom", "room address port tls fingerprint password users version logged here",
    defaults=(False, False))  # logged: the server keeps a log (False from older servers)
FoundRoom.__doc__ = ("A room that answered: its answer's fields, the address it answered from, "
                     "and whether that address is this computer's own (`here`).")

# How long `find` listens: answers on a LAN come within milliseconds; this
# leaves room for a busy Wi-Fi and for the second query.
FIND_SECONDS = 1.5

# When the query is sent again (seconds after the first), in case one was lost.
REPEAT_AFTER = 0.5

# A machine with more addresses than this is asked from the first ones only:
# the number of datagrams `find` sends stays bounded.
MAX_SENDERS = 16

# At most this many answers are read between two looks at the clock, so a
# flood of them cannot keep `find` past its timeout ...
MAX_READS_AT_ONCE = 64

# ... and at most this many rooms are kept: more than any school has, and a
# bound on what forged answers can make `find` hold and print.
MAX_ROOMS = 200

LOOPBACK = "127.0.0.1"

# The fingerprint digits shown wherever a student compares a room's with the
# board (find, the window's list, the terminal client's): as many as a
# typed pin needs, in groups of four as the banner shows them.  Anyone can
# answer with a fingerprint; making a certificate whose fingerprint starts
# with 16 chosen digits is out of reach, while 8 took seconds
# (docs/security.md).  The client pins all the digits announced.
FINGERPRINT_SHOWN = tls.MIN_PIN_DIGITS

# How a room is marked when another room has the same name (as people read
# it: see name_as_read), before the name so that no narrow column hides it;
# and what the student is told to do about it.
SAME_NAME_MARK = "[same name]"
SAME_NAME_WORDS = ('More than one room is called "%s" (%s). Anyone can start a room with any '
                   "name: ask your teacher which address is on the board, and choose the room "
                   "at that address.")

# macOS sends 255.255.255.255 out of the default route's adapter whatever
# address the socket is bound to, unless the socket is tied to its adapter
# with this option (<netinet/in.h>); Linux and Windows send it out of the
# bound address's adapter by themselves.
IP_BOUND_IF = 25

Sender = collections.namedtuple("Sender", "bind targets device")
Sender.__doc__ = ("Where one socket is bound (and its adapter's name, or None), and the "
                  "addresses it sends the query to.")


def senders(interfaces):
    """Return the Senders for these local Interfaces, and one for this machine itself."""
    planned, seen = [], set()
    for interface in interfaces:
        if interface.address in seen or len(planned) == MAX_SENDERS:
            continue  # an address listed twice (an alias) asks once
        seen.add(interface.address)
        targets = [LIMITED_BROADCAST]
        if interface.broadcast and interface.broadcast != LIMITED_BROADCAST:
            targets.insert(0, interface.broadcast)
        planned.append(Sender(interface.address, tuple(targets), interface.name or None))
    planned.append(Sender(LOOPBACK, (LOOPBACK,), None))
    return planned


def search_ports(ports, extra_ports):
    """Return the ports to ask, each once, in order."""
    result = []
    for port in tuple(ports) + tuple(extra_ports):
        if port not in result:
            result.append(port)
    return result


def found_room(source, data, here=False):
    """Return the FoundRoom an answer from `source` holds, or None if it is no answer.

    `here`: the source is one of this computer's addresses.

    A TLS room's fingerprint must be hexadecimal digits: it goes into the
    command a student copies.
    """
    fields = discovery.parse_answer(data)
    if fields is None:
        return None
    fingerprint = fields["fingerprint"]
    if fingerprint is not None:
        try:
            fingerprint = tls.parse_fingerprint(fingerprint)
        except tls.TlsError:
            return None
    fields["fingerprint"] = fingerprint
    return FoundRoom(address=source, here=here, **fields)


class Answers:
    """The rooms found so far, each once (by address and port), in the order found.

    `local`: this computer's addresses (loopback ones are in any case).
    `ports`: the ports asked.  A server answers from its own port, the one
    its answer names (docs/protocol.md, *Discovery*), so an answer counts
    only from the port it names, and only if that port was asked: one
    machine can list at most as many rooms as there are ports asked, never
    fill the list with rooms on ports no one asked for.
    """

    def __init__(self, local=(), ports=discovery.SEARCH_PORTS):
        self._rooms = collections.OrderedDict()
        self._local = frozenset(local)
        self._ports = frozenset(ports)

    def add(self, source, data):
        """Take one datagram received from `source` (address, port); return a new FoundRoom or None."""
        address, port = source[:2]
        if port not in self._ports:
            return None
        room = found_room(address, data, address in self._local or _is_loopback(address))
        if room is None or room.port != port or (room.address, room.port) in self._rooms \
                or len(self._rooms) >= MAX_ROOMS:
            return None
        self._rooms[(room.address, room.port)] = room
        return room

    def rooms(self):
        return list(self._rooms.values())


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def tie_to_adapter(sock, device, platform=sys.platform):
    """On macOS, make the limited broadcast leave by the adapter the socket is bound on."""
    if platform != "darwin" or not device:
        return
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_BOUND_IF, socket.if_nametoindex(device))
    except OSError:
        pass  # an alias's name: the directed broadcast still reaches that network


def open_sockets(plan):
    """Return [(socket, targets)] for the plan's Senders that could be bound."""
    opened = []
    for sender in plan:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            tie_to_adapter(sock, sender.device)
            sock.bind((sender.bind, 0))
            sock.setblocking(False)
        except OSError:
            sock.close()  # the address went away since it was listed
            continue
        opened.append((sock, sender.targets))
    return opened


def send_queries(opened, ports):
    """Send the query from each socket to each of its targets on each port; return how many went."""
    sent = 0
    for sock, targets in opened:
        for target in targets:
            for port in ports:
                try:
                    sock.sendto(discovery.QUERY_BYTES, (target, port))
                    sent += 1
                except OSError:
                    pass  # no route from this address, a firewall: the others still ask
    return sent


def _read_ready(sock, answers):
    """Read the datagrams waiting on a socket (MAX_READS_AT_ONCE at most) into answers."""
    for _ in range(MAX_READS_AT_ONCE):
        try:
            data, source = sock.recvfrom(discovery.MAX_ANSWER_BYTES + 1)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # Windows reports a port-unreachable this way: nothing to read
        answers.add(source, data)


def find_rooms(timeout=FIND_SECONDS, ports=discovery.SEARCH_PORTS, extra_ports=(),
               sockets=None, clock=time.monotonic):
    """Ask this machine's networks for rooms for `timeout` seconds; return the FoundRooms.

    `sockets`, for tests: [(socket, targets)] to use instead of one bound
    socket per local address (they are closed at the end, as ours are).
    """
    if sockets is None:
        plan = senders(local_interfaces())
        opened, local = open_sockets(plan), [sender.bind for sender in plan]
    else:
        opened, local = list(sockets), []
    asked = search_ports(ports, extra_ports)
    answers = Answers(local, asked)
    started = clock()
    sends = [started, started + REPEAT_AFTER] if REPEAT_AFTER < timeout else [started]
    try:
        while True:
            now = clock()
            if sends and now >= sends[0]:
                sends.pop(0)
                send_queries(opened, asked)
            deadline = started + timeout
            if now >= deadline or not opened:
                break
            wake = min([deadline] + sends[:1])
            ready, _, _ = select.select([sock for sock, _ in opened], [], [],
                                        max(0.0, wake - now))
            for sock in ready:
                _read_ready(sock, answers)
    finally:
        for sock, _ in opened:
            sock.close()
    return answers.rooms()


def name_as_read(name):
    """Return a room's name as people read it: case, spacing and invisible characters aside."""
    visible = "".join(ch for ch in name if not is_default_ignorable(ch))
    return " ".join(name_key(visible).split())


def _address_order(address):
    try:
        return 0, int(ipaddress.ip_address(address))
    except ValueError:
        return 1, address


def in_order(rooms):
    """Return found rooms in the order they are listed: by name as read, address, port.

    Nothing else a room claims (how many people it has) decides its place,
    nor does when its answer came: a fake room cannot push itself up.
    """
    return sorted(rooms, key=lambda found: (name_as_read(found.room),
                                            _address_order(found.address), found.port))


def same_names(rooms):
    """Return {name as read: [rooms]} for each name more than one room has, in list order.

    This computer's room, answering from each of its addresses, is one
    room: only one program can have its port.
    """
    groups = collections.OrderedDict()
    for found in in_order(rooms):
        groups.setdefault(name_as_read(found.room), []).append(found)
    return collections.OrderedDict(
        (name, group) for name, group in groups.items()
        if len({(None if found.here else found.address, found.port) for found in group}) > 1)


def same_name_warnings(rooms):
    """Return, for each name more than one room has, what the student should do."""
    warnings = []
    for group in same_names(rooms).values():
        places = [host_port(found.address, found.port) for found in group]
        warnings.append(SAME_NAME_WORDS % (group[0].room, "at %s and %s" % (
            ", ".join(places[:-1]), places[-1])))
    return warnings


def marked(found, same_name):
    """Return a room's name as a list shows it: marked when another room has the name."""
    return "%s %s" % (SAME_NAME_MARK, found.room) if same_name else found.room


def digits_shown(found):
    """Return the start of a found room's fingerprint that a student compares with the board."""
    return tls.grouped(found.fingerprint, FINGERPRINT_SHOWN)


def command_address(found):
    """Return a found room's address as a command line takes it (its port, unless the default)."""
    return host_port(found.address, None if found.port == DEFAULT_PORT else found.port)


def join_command(found):
    """Return the exact command that joins a found room."""
    flags = ""
    if found.tls:
        flags = "--tls "
        if found.fingerprint:
            flags += '--tls-fingerprint "%s" ' % tls.grouped(found.fingerprint)
    return interpreter.command("client %s%s" % (flags, command_address(found)))


# --- what `chat.pyz find` prints --------------------------------------------

NOTHING_FOUND = """\
No chat room answered within {seconds:g} seconds (asked: ports {ports}).
Ask your teacher whether the chat is started, then type the address from the
board (this works even when the room is not listed):
  {client} ADDRESS
For the teacher, if the room should be listed:
  - the server is running ({server}), not with --no-discovery;
  - its computer's firewall lets the question in and the answer out:
      Windows: when Windows asks, allow Python on private networks (or in
               Windows Defender Firewall > Allow an app, tick Python, Private);
      macOS:   System Settings > Network > Firewall: allow incoming connections
               for Python;
      Linux:   sudo ufw allow 1234 (this opens TCP and UDP; use the server's port);
  - the students' computers are on the same network (the same Wi-Fi or lab)."""


def ports_words(ports):
    """Return the ports asked, as people read them: 1234 to 1243, 5000."""
    ports = sorted(set(ports))
    runs, start = [], None
    for index, port in enumerate(ports):
        if start is None:
            start = port
        if index + 1 == len(ports) or ports[index + 1] != port + 1:
            runs.append(str(start) if start == port else "%d to %d" % (start, port))
            start = None
    return ", ".join(runs)


# `find`'s warnings are wrapped to this width, their next lines indented.
REPORT_WIDTH = 78


def describe(found, same_name=False):
    """Return the lines that show one found room to a student (marked if its name is shared)."""
    people = text_format.people(found.users)
    encryption = "encrypted (TLS)" if found.tls else "not encrypted"
    password = "password needed" if found.password else "no password"
    lines = ["%s  (%s)" % (text_format.safe_line(marked(found, same_name)), people),
             "    at %s port %d, %s, %s" % (found.address, found.port, password, encryption)]
    if found.fingerprint:
        lines.append("    fingerprint begins %s: compare it with the teacher's board"
                     % digits_shown(found))
    lines.append("    join:  %s" % join_command(found))
    return lines


def report(rooms, seconds, ports):
    """Return (exit status, text) for `chat.pyz find`: 0 with the rooms, 1 with advice."""
    if not rooms:
        return 1, NOTHING_FOUND.format(seconds=seconds, ports=ports_words(ports),
                                       client=interpreter.command("client"),
                                       server=interpreter.command("server"))
    heading = "Found 1 room:" if len(rooms) == 1 else "Found %d rooms:" % len(rooms)
    lines = [heading]
    for warning in same_name_warnings(rooms):
        lines.extend([""] + textwrap.wrap("! " + warning, REPORT_WIDTH, subsequent_indent="  "))
    shared = same_names(rooms)
    for found in in_order(rooms):
        lines.append("")
        lines.extend(describe(found, name_as_read(found.room) in shared))
    return 0, "\n".join(lines)


def run(options):
    """Run `chat.pyz find`: list the rooms that answer; return the exit status."""
    extra = options.port or ()
    ports = search_ports(discovery.SEARCH_PORTS, extra)
    rooms = find_rooms(options.timeout, discovery.SEARCH_PORTS, extra)
    status, text = report(rooms, options.timeout, ports)
    print(text)
    return status
