"""The window's log when full: a message found again by two marks, or by a tag of its own.

    python3 bench/tk_log.py              # 3 runs, alternating; median [min-max]
    python3 bench/tk_log.py --runs 5

Needs a display (under Xvfb: `xvfb-run python3 bench/tk_log.py`).  Each
run fills a Tk Text with window/chat_view.py's MAX_LOG_LINES messages, then
times drawing DRAWN more, each followed by the trim that keeps the log at
MAX_LOG_LINES lines (chat_view.ChatView does the same), once with two
marks per message (chat_view.MESSAGE_MARKS, what the window does) and once
with a tag per message (what it did before).  The figure is the Tk
thread's wall time per drawn line, in milliseconds: the Text calls of
drawing and trimming, and one redraw at the end.
"""

import argparse
import collections
import os
import statistics
import sys
import time
import tkinter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from chat_app.window.chat_view import MAX_LOG_LINES, MESSAGE_MARKS  # noqa: E402

DRAWN = 500
LINE = "[12:00] <amy> a line of a busy lesson, about as long as most\n"


def _marks(log, number):
    start, end = (mark % number for mark in MESSAGE_MARKS)
    log.mark_set(start, "end-1c")
    log.mark_gravity(start, "left")
    log.insert("end", LINE)
    log.mark_set(end, "end-1c")
    log.mark_gravity(end, "left")


def _forget_marks(log, shown):
    """Unset the marks of messages the trim dropped whole (their end mark is at 1.0)."""
    while shown and log.compare(MESSAGE_MARKS[1] % shown[0], "<=", "1.0"):
        log.mark_unset(*(mark % shown.popleft() for mark in MESSAGE_MARKS))


def _tag(log, number):
    log.insert("end", LINE, ("message%d" % number,))


def run_once(root, find_by):
    """Return ms per line drawn and trimmed into a full log, messages found by `find_by`."""
    log = tkinter.Text(root)
    log.pack()
    shown = collections.deque()
    for number in range(MAX_LOG_LINES):
        find_by(log, number)
        shown.append(number)
    root.update()
    start = time.perf_counter()
    for number in range(MAX_LOG_LINES, MAX_LOG_LINES + DRAWN):
        find_by(log, number)
        shown.append(number)
        lines = int(log.index("end-1c").split(".")[0])
        if lines > MAX_LOG_LINES:
            log.delete("1.0", "%d.0" % (lines - MAX_LOG_LINES + 1))
            if find_by is _marks:
                _forget_marks(log, shown)
    root.update_idletasks()
    took = time.perf_counter() - start
    log.destroy()
    return took * 1000 / DRAWN


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    root = tkinter.Tk()
    figures = {"marks": [], "tags": []}
    for unused in range(options.runs):  # the two ways take turns in every run
        figures["marks"].append(run_once(root, _marks))
        figures["tags"].append(run_once(root, _tag))
    root.destroy()
    print("ms per line drawn and trimmed in a full log (%d lines), %d runs: median [min-max]"
          % (MAX_LOG_LINES, options.runs))
    for way, values in figures.items():
        print("  %-5s %.3f [%.3f-%.3f]" % (way, statistics.median(values), min(values), max(values)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
