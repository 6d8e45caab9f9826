"""Read a --log file back as records, for transcripts.

A log holds one JSON object a line: the frames the room sent (messages,
announcements and notices of the room's rules, joins, leaves, deletions,
clearings, hands) and the server's own records (the snapshot of the rules
and hands that starts each file, rule changes, a source cut from the log
and what it left out, the stop).  Each line is
checked against RECORD_FIELDS; a line that is torn (the server was stopped
while writing it), foreign or edited by hand into something else is skipped
with a warning naming the file and its line number, so that one bad line
never costs the rest of the lesson.  Nothing here prints: warnings are
returned as sentences for the caller to show.
"""

from ..wire.protocol import MAX_LOG_LINE_BYTES, ProtocolError, parse_object

# The longest line read as a record: the longest the server writes (a
# snapshot with a room's hands, say).  A longer line is not the server's and
# is skipped without holding it in memory.
MAX_RECORD_BYTES = MAX_LOG_LINE_BYTES

# How much of an over-long line is read at a time while skipping it.
SKIP_CHUNK_BYTES = 64 * 1024

NUMBER = (int, float)

# The Unix times a record may have: from 1970 (Windows shows no earlier
# local time) to the year 3000 (nor any later one); a time outside is no
# server's clock.
SHOWN_TIMES = (0, 32503680000)

# Why an unreadable last line without a line end was skipped.
TORN_WORDS = "it was cut off (the server stopped while writing it)"

# The records a transcript knows, with the fields each must have and the
# optional ones it uses (a field that is null counts as absent, as in the
# protocol).  `saved_state` and `rule` are the server's note of the room's
# rules and hands for a restart (the rule's notice shows it): known, so
# never warned about, and never shown.
RECORD_FIELDS = {
    "message": {"required": (("id", int), ("from", str), ("text", str), ("time", NUMBER)),
                "optional": (("to", str), ("teacher", bool))},
    "notice": {"required": (("id", int), ("text", str), ("time", NUMBER)),
               "optional": (("about", str),)},
    "joined": {"required": (("name", str), ("time", NUMBER)),
               "optional": (("teacher", bool),)},
    "left": {"required": (("name", str), ("time", NUMBER), ("reason", str)),
             "optional": ()},
    "deleted": {"required": (("id", int), ("time", NUMBER)), "optional": ()},
    "cleared": {"required": (("time", NUMBER),), "optional": ()},
    "hand": {"required": (("name", str), ("up", bool), ("time", NUMBER)),
             "optional": (("left", str),)},
    "hands_lowered": {"required": (("count", int), ("time", NUMBER)), "optional": ()},
    "saved_state": {"required": (("time", NUMBER),), "optional": ()},
    "rule": {"required": (("action", str), ("time", NUMBER)), "optional": ()},
    "kick": {"required": (("name", str), ("reason", str), ("time", NUMBER)), "optional": ()},
    "stopped": {"required": (("time", NUMBER),),
                "optional": (("names", list), ("more_names", int))},
    "log_cut": {"required": (("address", str), ("bytes", int), ("time", NUMBER)),
                "optional": ()},
    "log_left_out": {"required": (("address", str), ("records", int), ("bytes", int),
                                  ("time", NUMBER)), "optional": ()},
}


def _kind_ok(value, kind):
    """Tell whether a JSON value is of a field's kind (true and false are no numbers)."""
    if kind is bool:
        return isinstance(value, bool)
    return isinstance(value, kind) and not isinstance(value, bool)


def _time_ok(value):
    """Tell whether a record's time is one every computer can show as a local date."""
    return SHOWN_TIMES[0] <= value < SHOWN_TIMES[1]  # NaN is neither


def problem(record):
    """Return why a record cannot be shown, in words, or None when it can."""
    if not isinstance(record, dict):
        return "not a JSON object"
    kind = record.get("type")
    fields = RECORD_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        return ("a record of unknown type %r (not written by chat_app's server, or by a "
                "newer version)" % (kind,))
    for key, wanted in fields["required"]:
        if not _kind_ok(record.get(key), wanted):
            return "a %s record without a valid %r field" % (kind, key)
    for key, wanted in fields["optional"]:
        if record.get(key) is not None and not _kind_ok(record[key], wanted):
            return "a %s record whose %r field is of the wrong kind" % (kind, key)
    if not _time_ok(record["time"]):
        return "a %s record whose time is not a date" % kind
    return None


def _lines(handle):
    """Yield (line number, bytes or None when over-long) for each line of a binary file."""
    number = 0
    while True:
        line = handle.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest, a chunk at a time
                line = handle.readline(SKIP_CHUNK_BYTES)
            yield number, None
        else:
            yield number, line


def _parse(line):
    """Return (record, None) from one line, or (None, why it is skipped)."""
    if line is None:
        return None, ("longer than any line the server writes (%d KiB)"
                      % (MAX_RECORD_BYTES // 1024))
    try:
        record = parse_object(line.rstrip(b"\r\n"))
    except ProtocolError as exc:
        if not line.endswith(b"\n"):  # only the last line can lack its end
            return None, TORN_WORDS
        return None, exc.message.rstrip(".")
    why = problem(record)
    return (None, why) if why else (record, None)


def iter_log(path, warnings):
    """Yield the records of a --log file as they are read, in the order written.

    For each line skipped, a sentence naming the file, the line number and
    why is appended to `warnings`; blank lines are passed over silently.
    Raise OSError when the file cannot be opened or read.
    """
    with open(path, "rb") as handle:
        for number, line in _lines(handle):
            if line is not None and not line.strip():
                continue
            record, why = _parse(line)
            if record is None:
                warnings.append("%s, line %d, was skipped: %s%s."
                                % (path, number, why[:1].upper(), why[1:]))
            else:
                yield record


def read_log(path):
    """Return (records, warnings) from a --log file: see iter_log."""
    warnings = []
    return list(iter_log(path, warnings)), warnings
