"""Finding the rooms on the network without an address.

The datagrams and their parsing (datagrams.py, no sockets), the server's
answering side (responder.py), the clients' search (finder.py) and what
the clients make of the rooms found (room_search.py).

May import: wire.
"""
