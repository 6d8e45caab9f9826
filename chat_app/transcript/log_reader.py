"""Read a --log file back as records, for transcripts.

A log holds one JSON object a line, each checked against the log's record
format (wire/records.py: RECORD_FIELDS); a line that is torn (the server was
stopped while writing it), foreign or edited by hand into something else is
skipped with a warning naming the file and its line number, so that one bad line
never costs the rest of the lesson.  Nothing here prints: warnings are
returned as sentences for the caller to show.
"""

from ..wire.protocol import ProtocolError, parse_object
from ..wire.records import MAX_LOG_LINE_BYTES, problem

# The longest line read as a record: the longest the server writes (a
# snapshot with a room's hands, say).  A longer line is not the server's and
# is skipped without holding it in memory.
MAX_RECORD_BYTES = MAX_LOG_LINE_BYTES

# How much of an over-long line is read at a time while skipping it.
SKIP_CHUNK_BYTES = 64 * 1024

# Why an unreadable last line without a line end was skipped.
TORN_WORDS = "it was cut off (the server stopped while writing it)"


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
