"""Transcripts: a lesson's --log file (or the frames a window received) as a record.

The API, used by `chat.pyz transcript` and by the teacher's window:

    records, warnings = read_log(path)   # dicts shaped as the protocol's frames
    text = render(records, "html", private=False, title=None)
    replaced = save(path, text, "html")  # whole or not at all, in the format's encoding

Reading checks each line (log_reader.py, by wire/records.py), lesson.py
decides what the record shows and counts the summary, and each format only
lays it out (formats.py, html.py), chosen from FORMATS.
"""

import collections
import os
import stat
import sys

from ..wire import interpreter
from ..wire.records import rotated_path
from .formats import render_csv, render_md, render_txt
from .html import render_html
from .lesson import Lesson
from .log_reader import iter_log, read_log

__all__ = ["FORMATS", "EXTENSIONS", "read_log", "render", "save", "format_for", "run"]

Format = collections.namedtuple("Format", "render encoding words")

# Each format: how it is laid out, how its file is encoded, what it is in
# words.  CSV files start with a byte order mark ("utf-8-sig"): without it
# Excel reads UTF-8 as the local code page and garbles every accent, while
# LibreOffice, Numbers, Google Sheets and Python's csv module (encoding
# "utf-8-sig") take it in their stride.
FORMATS = collections.OrderedDict([
    ("html", Format(render_html, "utf-8", "one web page, HTML")),
    ("md", Format(render_md, "utf-8", "Markdown")),
    ("csv", Format(render_csv, "utf-8-sig", "a table for spreadsheets, CSV")),
    ("txt", Format(render_txt, "utf-8", "plain text")),
])

# The format an -o file's extension asks for (compared in lower case).
EXTENSIONS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md",
              ".csv": "csv", ".txt": "txt"}

# Without --format, and without an -o whose extension says one.
DEFAULT_FORMAT = "txt"

# Skipped lines told one by one; a file that is not a log at all would
# otherwise bury the terminal under one warning a line.
MAX_WARNINGS_SHOWN = 20

# Tries at a free name for the temporary file (random, so one nearly always does).
TEMP_NAME_TRIES = 10

PREFIX = "chat_app: "


def format_for(path):
    """Return the format a file name's extension asks for, or None."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


def render(records, fmt, private=False, title=None):
    """Return the transcript of records (dicts as frames, in order) in a format of FORMATS.

    Private messages are left out unless `private`; records a transcript
    does not show (saved_state, room_state, ...) or cannot read are passed
    over.  Raise ValueError for a format not in FORMATS.
    """
    if fmt not in FORMATS:
        raise ValueError("no transcript format %r: choose one of %s" % (fmt, ", ".join(FORMATS)))
    return FORMATS[fmt].render(Lesson(records, private, title))


def _temporary_file(target):
    """Create and open a new file beside `target`; return (its path, its descriptor).

    Made with mode 0666 less the umask, as any new file, never over
    another (O_EXCL).
    """
    directory, base = os.path.split(target)
    for _ in range(TEMP_NAME_TRIES):  # os.urandom, not secrets: that loads OpenSSL
        temp = os.path.join(directory, ".%s.%s.tmp" % (base, os.urandom(4).hex()))
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError("no free name for a temporary file in %s" % (directory or "."))


def save(path, text, fmt):
    """Write a transcript to `path` in its format's encoding; return True if it replaced a file.

    The file is written beside the target under another name and then
    renamed over it, so `path` holds the old transcript or the new one,
    never half of one; a replaced file keeps its permissions.  Raise
    OSError when it cannot be written (nothing is left behind then).
    """
    target = os.path.realpath(path)  # through a symbolic link, to the file it names
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    data = text.encode(FORMATS[fmt].encoding)
    temp, descriptor = _temporary_file(target)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        try:
            os.remove(temp)
        except OSError:
            pass
        raise
    return mode is not None


# --- chat.pyz transcript -------------------------------------------------------

def _say(text):
    sys.stderr.write(PREFIX + text + "\n")


def _warn_skipped(warnings):
    for warning in warnings[:MAX_WARNINGS_SHOWN]:
        _say(warning)
    if len(warnings) > MAX_WARNINGS_SHOWN:
        _say("... and %d more lines were skipped." % (len(warnings) - MAX_WARNINGS_SHOWN))


def _read(options):
    """Return the Lesson in the log, having said what was skipped; None (after saying why) if none.

    The log is read as it goes, never held whole: a term's log of 100 MB
    becomes a transcript without a record list beside the lesson.
    """
    path, warnings = options.log, []
    try:
        lesson = Lesson(iter_log(path, warnings), options.private,
                        "Chat transcript: %s" % os.path.basename(path))
    except OSError as exc:
        _say("cannot read the log %s (%s). Give the file the server was started with, as in "
             "'%s'." % (path, exc.strerror or exc, interpreter.command("server --log FILE")))
        return None
    _warn_skipped(warnings)
    if not lesson.records:
        why = ("none of its %d lines is a chat record" % len(warnings) if warnings
               else "it is empty")
        _say("%s holds nothing to make a transcript of: %s. Give the file that "
             "'%s' wrote." % (path, why, interpreter.command("server --log FILE")))
        return None
    if os.path.exists(rotated_path(path, 1)):
        _say("%s holds the part of this log written before it (the server starts a new file "
             "at --log-max-size): make a transcript of it too for what came earlier."
             % rotated_path(path, 1))
    return lesson


def _is_the_log(output, log):
    try:
        return os.path.samefile(output, log)
    except OSError:
        return False


def _chosen_format(options):
    """Return (format, a note on how it was chosen or "")."""
    if options.format:
        return options.format, ""
    if options.output is None:
        return DEFAULT_FORMAT, ""
    fmt = format_for(options.output)
    if fmt:
        return fmt, ""
    return DEFAULT_FORMAT, (" (the name does not end in %s, so plain text; --format "
                            "chooses another)" % ", ".join(sorted(EXTENSIONS)))


def _write(options, fmt, how, lesson):
    """Write the transcript to -o; return the exit status, having said what happened."""
    if _is_the_log(options.output, options.log):
        _say("-o %s is the log itself: writing there would replace the lesson's record. "
             "Give another name, for example lesson.html." % options.output)
        return 2
    try:
        replaced = save(options.output, FORMATS[fmt].render(lesson), fmt)
    except OSError as exc:
        _say("cannot write the transcript to %s (%s); nothing was written. Choose a folder you "
             "can write to, or close the file if another program has it open."
             % (options.output, exc.strerror or exc))
        return 1
    _say("wrote %s, %s%s: %s.%s" % (
        options.output, FORMATS[fmt].words, how, lesson.span_words(),
        " It replaced the file that was there." if replaced else ""))
    return 0


def run(options):
    """Run `chat.pyz transcript`; return the exit status."""
    lesson = _read(options)
    if lesson is None:
        return 1
    fmt, how = _chosen_format(options)
    if options.output is None:
        text = FORMATS[fmt].render(lesson)
        sys.stdout.write(text.replace("\r\n", "\n"))  # the console makes its own line ends
    else:
        status = _write(options, fmt, how, lesson)
        if status:
            return status
    if lesson.private_left_out:
        _say("%s; add --private to include them." % lesson.left_out_words())
    return 0
