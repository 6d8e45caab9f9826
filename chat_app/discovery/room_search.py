"""Rooms found on this network, for the clients started without an address.

The one place the clients reach chat_app.discovery.finder: `find_nearby` runs one
search (it sends discovery datagrams, so it runs only when no address was
given), and `RoomSearch` repeats a search on a thread of its own every few
seconds and hands each result to a callback, which puts it on the window's
event queue: a search never blocks the Tk thread.  The search is a
parameter, so tests drive all of this with a fake one and no network.  The
rest are plain functions on the found rooms (chat_app.discovery.finder.FoundRoom:
room, address, port, tls, fingerprint, password, users, version, logged,
here) saying what to show and which to choose.

Anyone on the network can answer as a room, so the lists follow `find`'s
rules (`listing`): a fixed order, rooms that share a name marked with their
addresses and never chosen for the student (`preselect`), 16 fingerprint
digits; and joining an encrypted room from a list waits until the student
has compared those digits with the board (`needs_check`).
"""

import collections
import threading

from ..wire import interpreter, text_format
from .datagrams import SEARCH_PORTS
from .finder import (
    FIND_SECONDS,
    FINGERPRINT_SHOWN,
    command_address,
    digits_shown,
    find_rooms,
    in_order,
    marked,
    name_as_read,
    report,
    same_name_warnings,
    same_names,
    search_ports,
)
from ..wire.local_addresses import host_port

# Seconds between the end of one search and the start of the next: rooms
# that start or stop show within a few seconds, while the query (a few
# datagrams per local address) stays rare on the network.
REFRESH_SECONDS = 3.0

# Before an encrypted room found in a list is joined: what the student
# compares, and what they are told when the digits differ or cannot be
# compared.  The window shows CHECK_WORDS above the digits, with a button
# for each answer; the terminal asks CHECK_PROMPT.
CHECK_TITLE = "Check the fingerprint"
CHECK_WORDS = ('"%s" at %s is encrypted. Before anything is sent, compare its fingerprint '
               "with the one on the board, group by group:")
MATCH_BUTTON = "They match \u2014 join"
DIFFER_BUTTON = "They differ"
CHECK_PROMPT = "Do all %d digits match the board? Type y to join, n if not [y/N]: " % (
    FINGERPRINT_SHOWN)
NOT_YOUR_ROOM = ("Not joined, and nothing was sent to it. A fingerprint that differs from the "
                 "board means this is not your teacher's room: anyone can start a room with "
                 "any name, but not one with the teacher's fingerprint. Tell your teacher.")
CHECK_PIPED = ('"%s" at %s is encrypted, and no one at this terminal can compare its '
               "fingerprint with the board, so it was not joined. Give the digits from the "
               "board instead: %s")
# The terminal's way in without the list, what the student copies from the board ...
TYPED_JOIN = 'client --text --tls-fingerprint "DIGITS FROM THE BOARD" %s'
# ... and the words that give it.
BY_HAND_WORDS = "To join your teacher's room, type its address and fingerprint from the board: %s"


def typed_join(address):
    """Return the command that joins the room at `address` with the board's fingerprint."""
    return interpreter.command(TYPED_JOIN % address)


def by_hand():
    """Return the words that tell a student to join with the address and digits from the board."""
    return BY_HAND_WORDS % typed_join("ADDRESS")


def find_nearby(extra_ports=()):
    """Return the rooms that answer on this network: one search (chat_app.discovery.finder)."""
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
    """Return whether the room asks for a password, in a word."""
    return "password" if found.password else "open"


def encryption(found):
    """Return the start of an encrypted room's fingerprint, else whether it is encrypted."""
    if found.fingerprint:
        return digits_shown(found)
    return "encrypted" if found.tls else "not encrypted"


def room_row(found, same_name=False):
    """Return a room's row in the window's list: name, people, locks, encryption, address.

    The name is marked when another room has it (see listing).
    """
    return (marked(found, same_name), people(found), locks(found), encryption(found),
            room_key(found))


Listed = collections.namedtuple("Listed", "found key row same_name")
Listed.__doc__ = "A found room as a list shows it: its key, its row, whether its name is shared."


def listing(rooms):
    """Return the rooms as every list shows them: in finder.in_order, as Listed."""
    shared = same_names(rooms)
    listed = []
    for found in in_order(rooms):
        same_name = name_as_read(found.room) in shared
        listed.append(Listed(found, room_key(found), room_row(found, same_name), same_name))
    return listed


def numbered(rooms):
    """Return the lines of a numbered list of rooms, for the terminal, in listing order."""
    lines = []
    for number, listed in enumerate(listing(rooms), 1):
        name, count, lock, encrypted, address = listed.row
        if listed.found.fingerprint:
            encrypted = "encrypted, fingerprint begins " + encrypted
        lines.append("%d. %s" % (number, " \u2014 ".join((name, count, lock, encrypted,
                                                           address))))
    return lines


def preselect(rooms, remembered):
    """Return the room to choose before the person does, or None.

    The room joined last time (same address and port, else same name),
    else the only room found; never a room whose name another room has
    (which one is the teacher's only the board says).
    """
    shared = same_names(rooms)
    free = [found for found in in_order(rooms) if name_as_read(found.room) not in shared]
    last = host_port(remembered.get("host", ""), remembered.get("port"))
    last_name = name_as_read(remembered.get("room") or "")
    for match in (lambda found: room_key(found) == last,
                  lambda found: last_name and name_as_read(found.room) == last_name):
        chosen = [found for found in free if match(found)]
        if chosen:
            return chosen[0]
    return free[0] if len(rooms) == 1 else None


# What a refused password adds when the room chosen shares its name with another:
# anyone can start a room called "Lab 3" with a password of their own.
SAME_NAME_PASSWORD = ('Another room on this network is also called "%s": if that password is '
                      "the one on the board, this may be the wrong room. Check that its "
                      "address, %s, is the one on the board.")


def same_name_hint(found, rooms):
    """Return what to add when `found`'s password was refused and another room has its name, or ""."""
    if found is None:
        return ""
    for group in same_names(rooms).values():
        if found in group:
            return SAME_NAME_PASSWORD % (found.room, room_key(found))
    return ""


def needs_check(found):
    """Tell whether joining a found room waits for the student to compare its fingerprint.

    An encrypted room announces the fingerprint the client will pin, and
    anyone can announce one: nothing is sent to it until the student says
    the digits match the board.  A room without encryption, or without a
    fingerprint (checked against the system's CAs), has none to compare.
    """
    return bool(found.tls and found.fingerprint)


def check_words(found):
    """Return what the student reads above the digits to compare."""
    return CHECK_WORDS % (found.room, room_key(found))


def check_piped(found):
    """Return why an encrypted room was not joined (no one to compare), and what to do."""
    return CHECK_PIPED % (found.room, room_key(found), typed_join(command_address(found)))


def confirmed(answer):
    """Tell whether a typed answer to CHECK_PROMPT says yes."""
    return answer is not None and answer.strip().lower() in ("y", "yes")


def choice(answer, count):
    """Return the index chosen by a typed number from 1 to count, or None."""
    try:
        number = int(answer.strip())
    except ValueError:
        return None
    return number - 1 if 1 <= number <= count else None
