"""The --log file's records: their fields, the older files' names, the size words.

A log holds one JSON object a line: the frames the room sent (messages,
announcements and notices of the room's rules, joins, leaves, deletions,
clearings, hands) and the server's own records (the snapshot of the rules
and hands that starts each file, rule changes, a source cut from the log
and what it left out, the stop), built here (docs/protocol.md, "The log").
RECORD_FIELDS says what each record must and may hold; the server's log
(relay/history_log.py) writes and reloads them, the transcript
(transcript/) reads them back, and both check a line by these tables.
The log's older files are PATH.1, PATH.2 ... (rotated_path), and its sizes
are said and read in one way (format_size, parse_size).  Nothing here does
I/O.
"""

import re

from .protocol import MAX_SERVER_FRAME_BYTES

NUMBER = (int, float)

# The Unix times a record may have: from 1970 (Windows shows no earlier
# local time) to the year 3000 (nor any later one); a time outside is no
# server's clock.
SHOWN_TIMES = (0, 32503680000)

# The records a log holds, with the fields each must have and the optional
# ones a reader uses (a field that is null counts as absent, as in the
# protocol).  `saved_state` and `rule` are the server's note of the room's
# rules and hands for a restart (the rule's notice shows it): known, so a
# transcript never warns about them, and never shows them.
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

# The logged records that belong in a restarted room's history, and the
# fields each must have.  Private messages (with "to") and notices of a room
# change (with "about") are logged but not history, nor are joins and leaves.
HISTORY_FIELDS = {kind: RECORD_FIELDS[kind]["required"] for kind in ("message", "notice")}


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


def rotated_path(path, number):
    """Return the name of the number-th older log file: PATH.1 is the newest."""
    return "%s.%d" % (path, number)


# --- sizes, as --log-max-size takes them and the console says them -------------

# The units a size may have (powers of 1024; no unit: bytes).
SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
SIZE_PATTERN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*", re.IGNORECASE)


def parse_size(text):
    """Return the bytes in a size such as 100M, 1G, 500K or 2048; raise ValueError."""
    found = SIZE_PATTERN.fullmatch(text)
    if not found:
        raise ValueError("not a size: %r" % text)
    return int(float(found.group(1)) * SIZE_UNITS[found.group(2).upper()])


def format_size(size):
    """Return a size as a person writes it: 100M, 64K, 1G, or bytes."""
    for unit in ("G", "M", "K"):
        if size and size % SIZE_UNITS[unit] == 0:
            return "%d%s" % (size // SIZE_UNITS[unit], unit)
    return "%d bytes" % size


# --- records only the log holds ---------------------------------------------

# The longest line the server writes to its log, and so the longest line a
# reader of the log must take whole (the transcript; the reload reads any).
# The longest records, a snapshot of the room's state (saved_state) and the
# `stopped` record, name at most what a welcome's head does, and are cut to
# fit as it is (protocol.fit_lists).
MAX_LOG_LINE_BYTES = MAX_SERVER_FRAME_BYTES

# What a snapshot or a stopped record too long for a log line leaves out:
# the newest raised hands; the names of those who joined last.
SNAPSHOT_CUTS = (("hands", "more_hands", True),)
STOPPED_CUTS = (("names", "more_names", True),)


def rule_record(action, fields, time):
    """A teacher changed a rule: the control's action and what it set, for the log.

    The log's record of the rules is the snapshot that starts each file
    and the rule records after it (moderation.Rules.replay).
    """
    record = {"type": "rule", "action": action}
    record.update(fields)
    record["time"] = time
    return record


def log_cut_record(address, size, time):
    """The log keeps nothing more from `address` this run: it wrote its share, `size` bytes."""
    return {"type": "log_cut", "address": address, "bytes": size, "time": time}


def log_left_out_record(address, records, size, time):
    """How much from `address` the log has left out since its cut: `records` of `size` bytes."""
    return {"type": "log_left_out", "address": address, "records": records, "bytes": size,
            "time": time}


def kick_record(name, reason, time):
    """The teacher removed `name`, saying `reason` (which only they and the log see)."""
    return {"type": "kick", "name": name, "reason": reason, "time": time}


def stopped_record(names, time):
    """The server stopped with these members in the room: they all left then."""
    return {"type": "stopped", "names": names, "time": time}
