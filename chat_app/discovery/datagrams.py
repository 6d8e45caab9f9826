"""Discovery's datagrams: the query a student's program sends, the room's answer.

A query is one UDP datagram holding the JSON object {"type": "discover"}
(other keys ignored), sent to the server's port number; the answer is one
datagram back to the query's source address and port.  No sockets here:
the server's responder and `chat.pyz find` both use these words, so the
two ends cannot drift apart.  docs/protocol.md, *Discovery*, is the contract.
"""

import json

from ..wire.protocol import DEFAULT_PORT
from ..wire.text_format import safe_line

QUERY_TYPE = "discover"
ANSWER_TYPE = "room"

# What `find` sends.
QUERY_BYTES = b'{"type":"discover"}'

# A query longer than this is not a query: no answer (a datagram is read
# whole, so this is also what the responder reads at most, plus one byte).
MAX_QUERY_BYTES = 1024

# An answer never passes this: it fits any network's datagram unfragmented,
# and bounds what a forged query can make the server send (with the rate
# limit per source, the amplification bound in docs/security.md).
MAX_ANSWER_BYTES = 512

# The longest room name: it fits a window title and the room list, and
# leaves the answer far below its 512 bytes.  The server cuts --room to it,
# and a finder cuts any answer's name to it too.
MAX_ROOM_CHARS = 60

# The longest any other string of an answer is kept (the version, and any
# field a later server adds): the fingerprint as AB:CD:... (95) fits.
MAX_STRING_CHARS = 100

# The ports `find` asks: the default and the nine the server suggests when
# the default is taken (server.PORT_SUGGESTIONS).
SEARCH_PORTS = tuple(range(DEFAULT_PORT, DEFAULT_PORT + 10))

# The answer's fields and their types, in the order they are sent.
ANSWER_FIELDS = (
    ("room", str), ("port", int), ("tls", bool), ("fingerprint", (str, type(None))),
    ("password", bool), ("users", int), ("version", str),
)

# Fields newer servers add, and what an answer without them means: `logged`
# (the server keeps a log, --log) is False from an older server.
OPTIONAL_ANSWER_FIELDS = (("logged", bool, False),)


def is_query(data):
    """Tell whether a received datagram is a discovery query."""
    return _object_of_type(data, MAX_QUERY_BYTES, QUERY_TYPE) is not None


def answer_bytes(room, port, tls, fingerprint, password, users, version, logged=False):
    """Return the answer datagram, the room's name cut short if it must be."""
    fields = {"type": ANSWER_TYPE, "room": room, "port": port, "tls": tls,
              "fingerprint": fingerprint, "password": password, "users": users,
              "version": version, "logged": logged}
    data = _encode(fields)
    while len(data) > MAX_ANSWER_BYTES and fields["room"]:
        over = len(data) - MAX_ANSWER_BYTES
        fields["room"] = fields["room"][:max(0, len(fields["room"]) - max(1, over // 6))]
        data = _encode(fields)
    return data


def parse_answer(data):
    """Return a received answer as a dict of its fields, or None if it is not one.

    Anyone on the network can answer, so every string is untrusted text and
    comes out cleaned (see shown_string): whatever shows it, a terminal or a
    window, gets no escape codes, line breaks or direction tricks.
    """
    obj = _object_of_type(data, MAX_ANSWER_BYTES, ANSWER_TYPE)
    if obj is None:
        return None
    for key, kind in ANSWER_FIELDS:
        value = obj.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return None
    if not 0 < obj["port"] < 65536 or obj["users"] < 0:
        return None
    answer = {key: obj[key] for key, _ in ANSWER_FIELDS}
    for key, kind, missing in OPTIONAL_ANSWER_FIELDS:
        value = obj.get(key, missing)
        answer[key] = value if isinstance(value, kind) else missing
    return {key: shown_string(key, value) if isinstance(value, str) else value
            for key, value in answer.items()}


def shown_string(key, text):
    """Return an answer's string field as it may be shown: one clean line, cut short.

    As text_format.safe_line: no control characters (ESC, BEL, C1: no
    escape sequence reaches a terminal), no bidi controls or direction
    marks, no line break; and runs of spaces become one.
    """
    limit = MAX_ROOM_CHARS if key == "room" else MAX_STRING_CHARS
    return " ".join(safe_line(text).split())[:limit].strip()


def _object_of_type(data, limit, kind):
    """Return a datagram's JSON object if it fits the limit and has this type, else None."""
    if len(data) > limit:
        return None
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) and obj.get("type") == kind else None


def _encode(fields):
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
