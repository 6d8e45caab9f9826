"""A stand-in for chat_app.discovery.finder's answers, for the tests only: no network.

The clients take their search as a parameter (chat_app.discovery.room_search), so the
tests give them FakeSearch, which answers what the test says.  The real
search runs only inside a lab of network namespaces (test_noaddress.py).
"""

import collections
import threading

from helpers import LOOPBACK

# The fields of chat_app.discovery.finder.FoundRoom, in its order.
FoundRoom = collections.namedtuple(
    "FoundRoom", "room address port tls fingerprint password users version logged here")


def found(room, port, address=LOOPBACK, tls=False, fingerprint=None, password=False, users=0,
          logged=False, here=False):
    """Return a room as the finder reports it."""
    return FoundRoom(room, address, port, tls, fingerprint, password, users, "test", logged,
                     here)


class FakeSearch:
    """The finder's search, answering the rooms the test gives; counts the searches."""

    def __init__(self, *rooms):
        self.lock = threading.Lock()
        self.rooms = list(rooms)
        self.searches = 0

    def answer(self, *rooms):
        with self.lock:
            self.rooms = list(rooms)

    def __call__(self):
        with self.lock:
            self.searches += 1
            return list(self.rooms)
