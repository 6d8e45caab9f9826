"""Repeated runs: the servers' turn order, and figures as median [min–max].

A figure that several repetitions measured is shown as its median with the
smallest and largest value beside it, `783,881 [770,012–790,100]`; when
every repetition gave the same value only that value is shown (`0`).  A
repetition that gave no value for a figure (a server that failed, a
latency with no delivery) is left out of that figure, and the table says
how many repetitions each server completed.  Pure functions: no sockets,
no processes; the machine description reads /proc and platform only.
"""

import datetime
import math
import os
import platform
import shlex
import statistics

RANGE_DASH = "\u2013"  # en dash, as in "770,012–790,100"


def rotation(names, turn):
    """Return the server order for repetition `turn`: the list turned left by `turn`."""
    names = list(names)
    if not names:
        return names
    shift = turn % len(names)
    return names[shift:] + names[:shift]


def measured(values):
    """Return the values that are numbers (no None, no NaN)."""
    return [v for v in values
            if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))]


def spread(values):
    """Return {median, min, max, runs} over the measured values, or None if there are none."""
    numbers = measured(values)
    if not numbers:
        return None
    middle = statistics.median(numbers)
    if all(isinstance(v, int) for v in numbers) and float(middle).is_integer():
        middle = int(middle)  # a count stays a count: 50, not 50.0
    return {"median": middle, "min": min(numbers),
            "max": max(numbers), "runs": len(numbers)}


def format_spread(spec, values):
    """Return `median [min–max]` formatted by `spec` ("{:,.0f}"), one value if all agree."""
    figures = spread(values)
    if figures is None:
        return "-"
    low, middle, high = (spec.format(figures[k]) for k in ("min", "median", "max"))
    if low == high:
        return middle
    return "%s [%s%s%s]" % (middle, low, RANGE_DASH, high)


def summarise(rows, keys):
    """Return {server: {key: spread}} over the raw rows of every repetition."""
    by_server = {}
    for row in rows:
        by_server.setdefault(row["server"], []).append(row)
    return {server: dict({key: spread([row.get(key) for row in server_rows]) for key in keys},
                         repetitions=len(server_rows))
            for server, server_rows in by_server.items()}


def spread_table(rows, columns, servers, repeat):
    """Return the lines of a table: one line per figure, one column per server.

    `columns` is [(header, key, spec)] as for the single-run table; the
    first (the server's name) heads the table instead of being a figure.
    """
    by_server = {name: [row for row in rows if row["server"] == name] for name in servers}
    shown = [name for name in servers if by_server[name]]
    header = ["figure"] + shown
    body = [["runs"] + ["%d of %d" % (len(by_server[name]), repeat) for name in shown]]
    for title, key, spec in columns[1:]:
        body.append([title] + [format_spread(spec, [row.get(key) for row in by_server[name]])
                               for name in shown])
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]

    def join(line):
        return "  ".join([line[0].ljust(widths[0])] +
                         [text.rjust(width) for text, width in zip(line[1:], widths[1:])])

    title = join(header)
    return [title, "-" * len(title)] + [join(line) for line in body]


def command_line(argv, executable):
    """Return the command as typed again: the interpreter, the script and its arguments."""
    return " ".join(shlex.quote(part) for part in [executable] + list(argv))


def cpu_model(cpuinfo_text):
    """Return the first 'model name' (x86) or 'Model'/'Hardware' (ARM) in /proc/cpuinfo text."""
    for field in ("model name", "Model", "Hardware", "cpu model"):
        for line in cpuinfo_text.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == field and value.strip():
                return value.strip()
    return "unknown CPU"


def describe_machine(read=lambda path: open(path).read()):
    """Return one line: date (UTC), cores, CPU model, Python, kernel and load average."""
    try:
        model = cpu_model(read("/proc/cpuinfo"))
    except OSError:
        model = "unknown CPU"
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "load average unknown"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "%s; %s cores (nproc), %s; Python %s; %s %s; %s at start" % (
        date, usable, model, platform.python_version(), platform.system(),
        platform.release(), load)
