"""The --log file: room events as JSON lines, and the history reloaded from it.

Each room message, announcement, join and leave is appended as the same JSON
line the clients receive, by the log writer's thread (log_writer.py), never
under the room's lock.  Every append leaves whole lines or nothing: when the
disk fills in the middle of a line, the file is cut back to the end of its
last whole line and the caller keeps the rest to try again.  A log that
would pass its maximum size becomes PATH.1 (PATH.1 becomes PATH.2, and so on
up to ROTATED_LOGS_KEPT, the oldest being removed) and a new PATH begins.
A log file deleted or replaced while the server runs is noticed at the next
write (one stat() per batch of lines) and a new one is started at PATH.

Each file starts with a snapshot of the room's rules and hands, a
`saved_state` record (`snapshot`, the room's, gives it), written before the
first line of each server run and of each new file; after it the log holds
only what changed (moderation.REPLAYS).  So no record grows with the room's
past: a snapshot holds at most the hands of those in the room.

At start the newest messages and announcements are read back from the end
of PATH, block by block, and from PATH.1, PATH.2 ... while PATH alone has too
few, so a log that has grown all term still loads at once.  History stops at
the newest `cleared` record and leaves out the ids `deleted` records name.
The newest snapshot is looked for further back, line starts only, once
history is complete; the rules and hands are that snapshot with every
change after it replayed in order, reading forward from it to the end.
(Logs of earlier versions have a snapshot after each change: they load the
same way.)  Private messages (with "to") are logged but never history.
"""

import errno
import json
import os
import shutil
import stat

from ..wire.records import HISTORY_FIELDS, format_size, rotated_path
from .moderation import REPLAYS, Rules
from ..terminal.console import QUIET

# How much of the file to read per step when looking for the last lines.
READ_BLOCK_BYTES = 64 * 1024

# --log-max-size when not given: a term of ordinary lessons fits in one file,
# while a flood of the longest messages (2 MB/s) still takes a minute to fill it.
DEFAULT_MAX_SIZE = 100 * 1024 * 1024

# The smallest --log-max-size but 0 (never start a new file).  Anything
# smaller is most likely a unit left out ("100" meant as 100M) and would
# start a new file every few messages, soon removing the history.
MIN_MAX_SIZE = 64 * 1024

# Older files kept besides PATH: PATH.1 (the newest) to PATH.9.  The log then
# takes at most ten times --log-max-size (1 GiB by default) however long it runs.
ROTATED_LOGS_KEPT = 9

# How a saved_state line starts (the room encodes it compactly, `type`
# first): past the history, only lines that start so are looked at, so a big
# log is looked through quickly for its newest snapshot.
SAVED_STATE_START = b'{"type":"saved_state"'

# How the lines that change the rules and hands start: on the way from the
# snapshot to the end, only these are decoded.
STATE_STARTS = tuple(('{"type":"%s"' % kind).encode("ascii") for kind in REPLAYS)

# Of those, the ones that can raise a hand or set a rule: a log with none of
# them and no snapshot (one from before hands and rules) has nothing to replay.
SETTING_STARTS = (b'{"type":"hand"', b'{"type":"rule"')

# What the console says when the log file changed under the server's feet.
REOPENED = {
    "deleted": "the log file %s was deleted or moved while the server ran: it was written "
               "again there, with everything it held, and the room's events go on into it.",
    "replaced": "the log file %s was replaced by another file while the server ran: the "
                "room's events from now on are added to the new one.",
}


def _as_history_entry(record):
    """Return a logged room message or announcement fit for the welcome, or None."""
    if not isinstance(record, dict) or "to" in record or "about" in record:
        return None
    fields = HISTORY_FIELDS.get(record.get("type"))
    if fields and all(isinstance(record.get(key), kind) for key, kind in fields):
        return record
    return None


def _tail_lines(handle, size):
    """Yield (offset, line) for whole lines from the end of an open binary file, newest first."""
    position = size
    carry = b""
    while position > 0:
        step = min(READ_BLOCK_BYTES, position)
        position -= step
        handle.seek(position)
        block = handle.read(step) + carry
        lines = block.split(b"\n")
        carry = lines.pop(0)
        end = position + len(block)
        for line in reversed(lines):
            end -= len(line)
            yield end, line
            end -= 1  # its newline
    if carry:
        yield 0, carry


def _lines_from(handle, offset):
    """Yield the lines of an open binary file from `offset` to its end as it is now.

    Only as far as its size says: a device that reads on for ever
    (/dev/full, /dev/zero) has none.
    """
    left = os.fstat(handle.fileno()).st_size - offset
    handle.seek(offset)
    while left > 0:
        line = handle.readline(left)
        if not line:
            return
        left -= len(line)
        yield line


def _record_id(record):
    """Return the id of a numbered record (a message or notice, private too), or None."""
    id_ = record.get("id")
    if record.get("type") in HISTORY_FIELDS and isinstance(id_, int) and not isinstance(id_, bool):
        return id_
    return None


class _Reading:
    """History, the last id and the rules gathered from the end of the log files, newest first."""

    def __init__(self, wanted):
        self.wanted = wanted
        self.entries = []
        self.last_id = 0
        self.numbered = False  # the newest numbered record was seen: last_id is known
        self.cleared = False  # a cleared record was seen: older messages are not history
        self.cleared_through = None  # the newest cleared record's last id removed, if it says
        self.deleted = set()  # the ids deleted records name
        self.snapshot_at = None  # (file number, offset) of the newest saved_state line
        self.settings = False  # a line that raises a hand or sets a rule was seen
        self.files = []  # the numbers of the files read (0: PATH), newest first
        self.warnings = []

    @property
    def history_done(self):
        """Tell whether history and the last id need no older line."""
        return (self.cleared or len(self.entries) >= self.wanted) and self.numbered

    @property
    def done(self):
        return self.history_done and self.snapshot_at is not None

    def take(self, record):
        """Take one record, newer ones having been taken before."""
        if not isinstance(record, dict):
            return
        kind = record.get("type")
        id_ = _record_id(record)
        if id_ is not None:
            self.last_id = max(self.last_id, id_)
            self.numbered = True
        if self.cleared or len(self.entries) >= self.wanted:
            return
        if kind == "cleared":
            self.cleared = True
            through = record.get("through")
            if isinstance(through, int) and not isinstance(through, bool):
                self.cleared_through = through
        elif kind == "deleted" and isinstance(record.get("id"), int):
            self.deleted.add(record["id"])
        else:
            entry = _as_history_entry(record)
            if entry is not None and entry["id"] not in self.deleted:
                self.entries.append(entry)

    def read(self, handle, path, cut_off, number):
        """Take entries from the end of file `number`; `cut_off`: its last line was cut off."""
        self.files.append(number)
        size = os.fstat(handle.fileno()).st_size
        lines = _tail_lines(handle, size)
        # The piece after the final newline: empty, unless the server
        # stopped in the middle of a line (then ended by a newline at open).
        last = next(lines, (0, b""))[1]
        if last or cut_off:
            if cut_off and not last:
                next(lines, None)
            self.warnings.append("The last line of %s was cut off (the server stopped while "
                                 "writing it); it was skipped." % path)
        skipped = 0
        for offset, line in lines:
            if self.done:
                break
            if line.startswith(SAVED_STATE_START):
                if self.snapshot_at is None:  # the newest
                    self.snapshot_at = (number, offset)
                continue
            self.settings = self.settings or line.startswith(SETTING_STARTS)
            if not line.strip() or self.history_done:
                continue
            try:
                self.take(json.loads(line.decode("utf-8")))
            except (ValueError, UnicodeDecodeError):
                skipped += 1
        if skipped:
            self.warnings.append("%d unreadable line(s) in %s were skipped." % (skipped, path))


class _Stopped(Exception):
    """A write failed after `kept` bytes of whole lines reached the file."""

    def __init__(self, kept, error):
        super().__init__(kept, error)
        self.kept = kept
        self.error = error


class HistoryLog:
    """An append-only JSON-lines log of one room, in files of at most `max_size` bytes."""

    def __init__(self, path, max_size=0, console=QUIET):
        """Open (or create) the log; raise OSError when that is impossible.

        `max_size` 0: one file that is never rotated.  `console` (a
        terminal.console.Console) is told of rotation and a file that changed.
        """
        self.path = path
        self.max_size = max_size
        self.console = console
        self._file = None
        self.saved_state = None  # the rules and hands the log leaves, once load() found any
        self.cleared_through = None  # the last id the newest clear removed, once load() found it
        # Called by the thread that writes, for the encoded snapshot line that
        # starts each file (the room's); None: files start with none.
        self.snapshot = None
        self.snapshot_due = True  # the next line written is the first of a run, or of a file
        self._cut_off = self._open()

    def _open(self):
        """Open PATH for appending; return True if its last line was cut off."""
        handle = open(self.path, "ab+", buffering=0)
        status = os.fstat(handle.fileno())
        self._file = handle
        self._identity = (status.st_dev, status.st_ino)
        self._regular = stat.S_ISREG(status.st_mode)  # not /dev/full or a pipe
        self._end = status.st_size  # the end of the last whole line written
        self._fresh = not self._end  # the file holds nothing, or only its snapshot
        cut_off = False
        if self._regular and self._end:
            handle.seek(self._end - 1)
            cut_off = handle.read(1) != b"\n"
        self._needs_newline = cut_off  # written before the next line, never merged with it
        return cut_off

    def load(self, count):
        """Return (entries, last_id, warnings) from the end of the log.

        `entries` are the newest `count` room messages and announcements
        after the newest `cleared` record, less those deleted, oldest first,
        read from PATH and then from PATH.1, PATH.2 ... while there are too
        few; `last_id` is the highest id given (messages, private ones too,
        and notices are numbered from one counter; 0 for an empty log).
        The rules and hands the log leaves (the newest snapshot, and every
        change after it) are left in `self.saved_state` as a saved_state
        record (None when the log holds none), and the last id the newest
        clear removed in `self.cleared_through` (or None).  A cut-off last
        line (the server was killed mid-write) is skipped with a warning
        and the next append starts on a fresh line.
        """
        reading = _Reading(max(count, 1))  # one, to find the last id even for --history 0
        reading.read(self._file, self.path, self._cut_off, 0)
        number = 1
        while not reading.done and number <= ROTATED_LOGS_KEPT:
            older = rotated_path(self.path, number)
            try:
                with open(older, "rb") as handle:
                    reading.read(handle, older, False, number)
            except FileNotFoundError:
                break
            number += 1
        entries = reading.entries[:count]
        entries.reverse()
        if reading.snapshot_at is not None or reading.settings:
            self.saved_state = self._replay(reading.snapshot_at or (reading.files[-1], 0))
        self.cleared_through = reading.cleared_through
        return entries, reading.last_id, reading.warnings

    def _file_path(self, number):
        return rotated_path(self.path, number) if number else self.path

    def _replay(self, start):
        """Return the rules and hands from file and offset `start` on, as a saved_state record.

        Reading forward to the end of PATH, every line that changes them
        (STATE_STARTS) is replayed in order; None if there was none.
        """
        rules, last = Rules(), None
        number, offset = start
        for number in range(number, -1, -1):
            try:
                with open(self._file_path(number), "rb") as handle:
                    for line in _lines_from(handle, offset):
                        if not line.startswith(STATE_STARTS) or not line.endswith(b"\n"):
                            continue  # not a change, or the cut-off last line
                        try:
                            record = json.loads(line.decode("utf-8"))
                        except (ValueError, UnicodeDecodeError):
                            continue  # counted as unreadable by the reading, if it got there
                        rules.replay(record)
                        last = record
            except FileNotFoundError:
                pass  # removed meanwhile by hand: the newer files still count
            offset = 0
        if last is None:
            return None
        return rules.saved_state(last.get("time"))

    def write(self, lines):
        """Append encoded lines (each ending in a newline) in order.

        Return (how many of them are now in the file, the OSError that
        stopped the rest or None).  A failed write is cut back to the last
        whole line, so the file never holds part of one.
        """
        done, data = 0, b""
        try:
            self._check_file()
            if self._needs_newline:
                self._append(b"\n")
                self._needs_newline = False
            while done < len(lines):
                if self.snapshot_due:
                    self._write_snapshot(lines[done])
                count = self._fitting(lines, done)
                if not count:
                    self._rotate()
                    continue
                data = b"".join(lines[done:done + count])
                self._append(data)
                self._fresh = False
                done += count
                data = b""
        except _Stopped as stopped:
            return done + data.count(b"\n", 0, stopped.kept), stopped.error
        except OSError as exc:
            return done, exc
        return done, None

    def _write_snapshot(self, first):
        """Write the room's snapshot before `first`, the next line; raise as _append.

        When the two would take the file past --log-max-size, a new file
        begins with them.
        """
        if self.snapshot is not None:
            line = self.snapshot()
            if not self._fresh and self._past_limit(len(line) + len(first)):
                self._rotate()
            self._append(line)
        self.snapshot_due = False

    def _past_limit(self, size):
        """Tell whether `size` more bytes would take the file past --log-max-size."""
        return bool(self.max_size) and self._regular and self._end + size > self.max_size

    def _append(self, data):
        """Write whole lines at the end; raise _Stopped after cutting back a partial write."""
        sent = 0
        with memoryview(data) as view:
            try:
                while sent < len(data):
                    step = os.write(self._file.fileno(), view[sent:])
                    if not step:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    sent += step
            except OSError as exc:
                kept = data.rfind(b"\n", 0, sent) + 1
                if sent > kept:
                    self._cut_back(sent - kept)
                self._end += kept
                raise _Stopped(kept, exc)
        self._end += sent

    def _cut_back(self, piece):
        """Remove the last `piece` bytes, part of a line a failed write left at the end."""
        try:
            if not self._regular:
                raise OSError(errno.ESPIPE, "not a regular file")
            fd = self._file.fileno()
            os.ftruncate(fd, os.fstat(fd).st_size - piece)  # the true end, whoever changed it
        except OSError:
            self._needs_newline = True  # the piece stays, alone on its line

    def _fitting(self, lines, start):
        """Return how many lines from `start` on fit in the current file (0: rotate first)."""
        if not self.max_size or not self._regular:
            return len(lines) - start
        space = self.max_size - self._end
        count = 0
        for index in range(start, len(lines)):
            space -= len(lines[index])
            if space < 0:
                break
            count += 1
        if not count and self._fresh:
            return 1  # a line longer than the limit gets a file of its own (with its snapshot)
        return count

    def _rotate(self):
        """Make PATH the newest older file, PATH.1, and begin a new PATH."""
        self._file.close()  # first: Windows renames no open file
        self._file = None
        try:
            self._shift_older_files()
            os.replace(self.path, rotated_path(self.path, 1))
        except OSError as exc:
            self.console.error("cannot start a new log file after %s reached --log-max-size %s "
                               "(%s): it grows on from now on. Check that its folder can be "
                               "written, then restart the server."
                               % (self.path, format_size(self.max_size), exc.strerror or exc))
            self.max_size = 0
        else:
            self.console.info("the log file %s reached --log-max-size %s: it was renamed %s and "
                              "a new one begins (a restart reloads the history across the files)"
                              % (self.path, format_size(self.max_size),
                                 rotated_path(self.path, 1)))
        self.snapshot_due = True
        self._open()  # if this fails, the next write tries again

    def _shift_older_files(self):
        """Rename PATH.1 ... to PATH.2 ..., removing the oldest kept one."""
        oldest = rotated_path(self.path, ROTATED_LOGS_KEPT)
        try:
            os.remove(oldest)
        except FileNotFoundError:
            pass
        else:
            self.console.info("removed %s, the oldest log file: --log-max-size keeps %s and %d "
                              "older files. Copy them elsewhere to keep more of the transcript."
                              % (oldest, self.path, ROTATED_LOGS_KEPT))
        for number in range(ROTATED_LOGS_KEPT - 1, 0, -1):
            try:
                os.replace(rotated_path(self.path, number), rotated_path(self.path, number + 1))
            except FileNotFoundError:
                pass

    def _check_file(self):
        """Open PATH again if it is not the file being written (deleted or replaced)."""
        if self._file is None:
            self._open()
            return
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            reason = "deleted"
        except OSError:
            return  # cannot tell (no right to look): go on with the open file
        else:
            if (status.st_dev, status.st_ino) == self._identity:
                self._end = status.st_size  # as it is, were it emptied by hand meanwhile
                return
            reason = "replaced"
            self.snapshot_due = True  # another file: it holds no snapshot of this room
        old, self._file = self._file, None
        try:
            if reason == "deleted":
                self._write_again(old)
        finally:
            old.close()
        self.console.error(REOPENED[reason] % self.path)
        self._open()

    def _write_again(self, old):
        """Put back at PATH what a deleted (or moved) log held: the server still has it open."""
        try:
            with open(self.path, "xb") as new:  # "x": never over a file someone just put there
                old.seek(0)
                shutil.copyfileobj(old, new, READ_BLOCK_BYTES)
        except FileExistsError:
            pass  # another file took the place meanwhile: append to it, as to a replaced one
        except OSError as exc:
            self.console.error("could not write the deleted log file %s again (%s): the room's "
                               "events from now on go to a new one; the earlier history will not "
                               "be reloaded at a restart." % (self.path, exc.strerror or exc))

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
