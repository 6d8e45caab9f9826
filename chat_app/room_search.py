"""Rooms found on this network, for the clients started without an address.

The one place the clients reach chat_app.finder: `find_nearby` runs one
search (it sends discovery datagrams, so it runs only when no address was
given), and `RoomSearch` repeats a search on a thread of its own every few
seconds and hands each result to a callback, which puts it on the window's
event queue: a search never blocks the Tk thread.  The search is a
parameter, so tests drive all of this with a fake one and no network.  The
rest are plain functions on the found rooms (chat_app.finder.FoundRoom:
room, address, port, tls, fingerprint, password, users, version) saying
what to show and which to choose.
"""

import threading

from . import text_format
from .discovery import SEARCH_PORTS
from .finder import FIND_SECONDS, FINGERPRINT_SHOWN, find_rooms, report, search_ports
from .local_addresses import host_port
from .tls import grouped

# Seconds between the end of one search and the start of the next: rooms
# that start or stop show within a few seconds, while the query (a few
# datagrams per local address) stays rare on the network.
REFRESH_SECONDS = 3.0

# Fingerprint digits shown beside an encrypted room, as `find` shows them.
SHOWN_DIGITS = FINGERPRINT_SHOWN


def find_nearby(extra_ports=()):
    """Return the rooms that answer on this network: one search (chat_app.finder)."""
    return find_rooms(extra_ports=tuple(extra_ports))


def nothing_found(extra_ports=()):
    """Return what `chat.pyz find` says when no room answers (the finder's words)."""
    return report([], FIND_SECONDS, search_ports(SEARCH_PORTS, extra_ports))[1]


class RoomSearch:
    """Search again and again off the calling thread until stopped.

    `search()` returns a list of found rooms; `deliver(rooms, problem)` gets
    each result (problem: None, or why the search failed, an OSError's
    words) on the search thread, so it must only hand it on (a queue).
    """

    def __init__(self, search, deliver, every=None):
        self.search = search
        self.deliver = deliver
        self.every = REFRESH_SECONDS if every is None else every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="room search", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        """Search no more; a search under way ends on its own, its result dropped."""
        self._stopped.set()

    def _run(self):
        while not self._stopped.is_set():
            try:
                rooms, problem = list(self.search()), None
            except OSError as exc:
                rooms, problem = [], str(exc)
            if self._stopped.is_set():
                return
            self.deliver(rooms, problem)
            self._stopped.wait(self.every)


def room_key(found):
    """Return the address the room is known by (one row per address and port)."""
    return host_port(found.address, found.port)


def people(found):
    """Return how many have joined, in words."""
    return text_format.people(found.users)


def locks(found):
    """Return the room's locks in words: password, and encrypted with the fingerprint's start."""
    marks = []
    if found.password:
        marks.append("password")
    if found.tls:
        digits = grouped(found.fingerprint, SHOWN_DIGITS) if found.fingerprint else ""
        marks.append("encrypted %s" % digits if digits else "encrypted")
    return ", ".join(marks) or "open"


def room_row(found):
    """Return a room's row in the list: name, people, locks, address."""
    return (found.room, people(found), locks(found), room_key(found))


def numbered(rooms):
    """Return the lines of a numbered list of rooms, for the terminal."""
    return ["%d. %s" % (number, " \u2014 ".join(room_row(found)))
            for number, found in enumerate(rooms, 1)]


def preselect(rooms, remembered):
    """Return the room to choose before the person does, or None.

    The room joined last time (same address and port, else same name),
    else the only room found.
    """
    last = host_port(remembered.get("host", ""), remembered.get("port"))
    for match in (lambda found: room_key(found) == last,
                  lambda found: found.room == remembered.get("room")):
        chosen = [found for found in rooms if match(found)]
        if chosen:
            return chosen[0]
    return rooms[0] if len(rooms) == 1 else None


def choice(answer, count):
    """Return the index chosen by a typed number from 1 to count, or None."""
    try:
        number = int(answer.strip())
    except ValueError:
        return None
    return number - 1 if 1 <= number <= count else None
