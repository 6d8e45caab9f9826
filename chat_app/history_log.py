"""The --log file: room events as JSON lines, and the history reloaded from it.

Each room message, announcement, join and leave is appended as the same JSON line the
clients receive, written straight to the operating system (no user-space
buffer), so a server that is killed loses nothing it already relayed.  At
start the newest messages and announcements are read back from the end of the file, block by
block, so a log that has grown all term still loads at once.
"""

import json
import os

# How much of the file to read per step when looking for the last lines.
READ_BLOCK_BYTES = 64 * 1024


# The logged frames that belong in history, and the fields each must have.
# Private messages (with "to") are never logged; joins and leaves are
# logged but not part of history.
HISTORY_FIELDS = {
    "message": (("id", int), ("from", str), ("text", str), ("time", (int, float))),
    "notice": (("id", int), ("text", str), ("time", (int, float))),
}


def _as_history_entry(record):
    """Return a logged room message or announcement fit for the welcome, or None."""
    if not isinstance(record, dict) or "to" in record:
        return None
    fields = HISTORY_FIELDS.get(record.get("type"))
    if fields and all(isinstance(record.get(key), kind) for key, kind in fields):
        return record
    return None


def _tail_lines(handle, size):
    """Yield whole lines from the end of an open binary file, newest first."""
    position = size
    carry = b""
    while position > 0:
        step = min(READ_BLOCK_BYTES, position)
        position -= step
        handle.seek(position)
        block = handle.read(step) + carry
        lines = block.split(b"\n")
        carry = lines.pop(0)
        for line in reversed(lines):
            yield line
    if carry:
        yield carry


class HistoryLog:
    """An append-only JSON-lines log of one room."""

    def __init__(self, path):
        """Open (or create) the log; raise OSError when that is impossible."""
        self.path = path
        self._file = open(path, "ab+", buffering=0)
        self.write_error = None

    def load(self, count):
        """Return (entries, last_id, warnings) from the end of the log.

        `entries` are the newest `count` room messages and announcements,
        oldest first; `last_id` is the highest id among them (both are
        numbered from one counter; 0 for an empty log).  A cut-off last
        line (the server was killed mid-write) is skipped with a warning
        and the next append starts on a fresh line.
        """
        warnings = []
        size = os.fstat(self._file.fileno()).st_size
        if size == 0:
            return [], 0, warnings
        self._file.seek(size - 1)
        torn = self._file.read(1) != b"\n"
        entries, last_id, skipped = [], 0, 0
        lines = _tail_lines(self._file, size)
        for index, line in enumerate(lines):
            if index == 0:
                if not torn:
                    continue  # the empty piece after the final newline
                warnings.append(
                    "The last line of %s was cut off (the server stopped while writing it); "
                    "it was skipped." % self.path
                )
                continue
            if not line.strip():
                continue
            try:
                record = _as_history_entry(json.loads(line.decode("utf-8")))
            except (ValueError, UnicodeDecodeError):
                skipped += 1
                continue
            if record is None:
                continue
            last_id = max(last_id, record["id"])
            entries.append(record)
            if len(entries) >= max(count, 1):
                break
        if skipped:
            warnings.append("%d unreadable line(s) in %s were skipped." % (skipped, self.path))
        if torn:
            self._write(b"\n")
        entries.reverse()
        return entries[len(entries) - count:] if count else [], last_id, warnings

    def append(self, line):
        """Write one encoded frame line; return an error text once it fails."""
        return self._write(line)

    def _write(self, data):
        try:
            self._file.write(data)
        except OSError as exc:
            if self.write_error is None:
                self.write_error = str(exc)
                return self.write_error
            return None
        self.write_error = None
        return None

    def close(self):
        self._file.close()
