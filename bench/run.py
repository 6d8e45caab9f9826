"""Run a named fan-out workload against chat_app and its peers; print a table.

    python3 bench/run.py W1                 # chat_app, ngircd, miniircd in turn
    python3 bench/run.py all                # W1 to W5, one table each
    python3 bench/run.py W2 --servers chat_app,ngircd
    python3 bench/run.py W3 --python ~/.pyenv/versions/3.8.20/bin/python
    python3 bench/run.py W2 --repeat 3      # 3 runs, order turning; median [min-max]
    python3 bench/run.py knee               # the W2 shape at rising rates: who keeps up
    python3 bench/run.py W2 --processes 1   # the load generator in one process, not two

Every server is started fresh on 127.0.0.1 for each run and stopped after
it; with --repeat the order of the servers turns by one each repetition.
The output starts with the command and the machine, so a pasted report
says where it came from; see bench/README.md for what each column means.
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import knee  # noqa: E402
from loadgen import WIRES, Load  # noqa: E402
from servers import REFERENCES, SERVERS, chat_app_from  # noqa: E402
from workers import MAX_PROCESSES, run_split  # noqa: E402
from summary import (RANGE_DASH, command_line, describe_machine, rotation,  # noqa: E402
                     spread_table, summarise)

WORKLOADS = {
    "W1": dict(clients=50, senders=10, rate=200, duration=10,
               about="a busy classroom: latency"),
    "W2": dict(clients=50, senders=10, rate=16000, duration=5,
               about="saturation: throughput"),
    "W3": dict(clients=1000, senders=50, rate=100, duration=5,
               about="a big hall: scale and memory"),
    "W4": dict(clients=21, stalled=1, senders=10, rate=1000, duration=15, size=450,
               about="~450-byte messages, one client never reads: a stalled reader"),
    "W5": dict(clients=2000, senders=50, rate=20, duration=10,
               about="many connections"),
    "smoke": dict(clients=5, senders=2, rate=50, duration=1,
                  about="a few clients for a second: does the generator work"),
}

# The knee climbs with this workload's shape; only the rate and duration change.
KNEE_SHAPE = "W2"
# Repetitions: each is a full run of every server; past this is a mistyped number.
MAX_REPEAT = 20
# How the command line names this script when main() is called with arguments.
RUN_PY = "bench/run.py"
# The load generator's processes.  At W2 it needs more than one core
# (bench/README.md, "The generator in several processes").
DEFAULT_PROCESSES = 2

# (heading, figure, format of one value): the single-run table's columns,
# and the lines of the repeated runs' table.
COLUMNS = [
    ("server", "server", "{}"),
    ("join s", "join_seconds", "{:.2f}"),
    ("sent", "sent", "{}"),
    ("delivered", "deliveries", "{}"),
    ("deliv/s", "deliveries_per_second", "{:,.0f}"),
    ("p50 ms", "p50_ms", "{:.2f}"),
    ("p90 ms", "p90_ms", "{:.2f}"),
    ("p99 ms", "p99_ms", "{:.2f}"),
    ("max ms", "max_ms", "{:.1f}"),
    ("lost", "lost", "{}"),
    ("dup", "duplicated", "{}"),
    ("reord", "reordered", "{}"),
    ("CPU us/deliv", "cpu_us_per_delivery", "{:.2f}"),
    ("switches/msg", "switches_per_message", "{:.1f}"),
    ("peak RSS MiB", "peak_rss_mib", "{:.1f}"),
    ("loadgen CPU", "loadgen_cpu", "{:.0%}"),
    ("loadgen max", "loadgen_cpu_max", "{:.0%}"),
]

# Figures summarised over repetitions in the JSON (the table's, and the generator's own).
SUMMARY_KEYS = [key for _, key, _ in COLUMNS[1:]] + ["loadgen_wait", "sent_late", "sent_held"]

def run_one(server_class, workload, python, log, processes=1):
    """Run a workload once on a fresh server, the load in `processes` processes; return figures."""
    server = server_class(python)
    server.start()
    load = None
    try:
        settings = dict(clients=workload["clients"], senders=workload["senders"],
                        rate=workload["rate"], duration=workload["duration"],
                        size=workload.get("size", 64), stalled=workload.get("stalled", 0))
        address = ("127.0.0.1", server.port)
        marks, switches = {}, {}

        def on_phase(phase):
            marks[phase] = server.cpu_seconds()
            switches[phase] = server.context_switches()

        processes = min(processes, settings["clients"])
        if processes > 1:
            figures = run_split(processes, server.wire, address, settings, on_phase)
        else:
            load = Load(WIRES[server.wire](), address, **settings)
            figures = load.run(on_phase)
        figures["server"] = server.name
        cpu = marks["done"] - marks["send"]
        figures["server_cpu_seconds"] = cpu
        figures["cpu_us_per_delivery"] = (cpu / figures["deliveries"] * 1e6
                                          if figures["deliveries"] else float("nan"))
        figures["switches_per_message"] = ((switches["done"] - switches["send"]) / figures["sent"]
                                           if figures["sent"] else float("nan"))
        figures["peak_rss_mib"] = server.peak_rss_mib()
        figures["server_threads"] = server.threads()
        figures["alive"] = server.process.poll() is None
        return figures
    finally:
        if load is not None:
            load.close_all()
        server.stop()


def cell(key, spec, figures):
    try:
        return spec.format(figures[key])
    except (TypeError, ValueError, KeyError):
        return "-"


def print_table(rows, out=sys.stdout):
    header = [name for name, _, _ in COLUMNS]
    body = [[cell(key, spec, row) for _, key, spec in COLUMNS] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.rjust(w) for h, w in zip(header, widths))
    out.write(line + "\n" + "-" * len(line) + "\n")
    for r in body:
        out.write("  ".join(c.rjust(w) for c, w in zip(r, widths)) + "\n")


def main(argv=None):
    script = sys.argv[0] if argv is None else RUN_PY
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS) + ["all", "knee"],
                        help="a workload, all of W1 to W5, or knee (the W2 shape at rising rates)")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="comma-separated, from: %s (default: all but floor)"
                        % ", ".join(dict(SERVERS, **REFERENCES)))
    parser.add_argument("--before", metavar="DIR",
                        help="also run chat_app's server from the tree in DIR (the commit "
                             "before a change), as the server 'before', in turn with the others")
    parser.add_argument("--python", default=None,
                        help="the Python that runs chat_app's server (default: this one)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run everything N times, the servers' order turning each time; "
                             "report median [min-max] (default 1)")
    parser.add_argument("--processes", type=int, default=DEFAULT_PROCESSES, metavar="N",
                        help="run the load generator's clients in N processes, 1 to %d "
                             "(default %%(default)s)" % MAX_PROCESSES)
    parser.add_argument("--json", metavar="FILE",
                        help="also write the figures as JSON ({workload} in FILE: one file each)")
    knee_options = parser.add_argument_group("knee")
    knee_options.add_argument("--start", type=int, default=knee.DEFAULT_START, metavar="RATE",
                              help="first rate, msg/s (default %(default)s)")
    knee_options.add_argument("--factor", type=float, default=knee.DEFAULT_FACTOR,
                              help="each rate is the last times this (default %(default)s)")
    knee_options.add_argument("--max-rate", type=int, default=knee.DEFAULT_MAX_RATE,
                              metavar="RATE", help="highest rate tried, msg/s (default %(default)s)")
    knee_options.add_argument("--max-steps", type=int, default=knee.DEFAULT_MAX_STEPS,
                              metavar="N", help="most rates tried (default %(default)s)")
    knee_options.add_argument("--step-seconds", type=float, default=knee.DEFAULT_STEP_SECONDS,
                              metavar="S", help="sending time of a step (default %(default)s)")
    knee_options.add_argument("--max-minutes", type=float, default=knee.DEFAULT_MAX_MINUTES,
                              metavar="M", help="the climb stops after this long, finished "
                                                "or not (default %(default)s)")
    options = parser.parse_args(argv)
    names = [name.strip() for name in options.servers.split(",") if name.strip()]
    known = dict(SERVERS, **REFERENCES)
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error("unknown server %s; choose from %s" % (", ".join(unknown), ", ".join(known)))
    SERVERS.update((name, REFERENCES[name]) for name in names if name in REFERENCES)
    if options.before:
        SERVERS["before"] = chat_app_from(options.before)
        names.append("before")
    if not 1 <= options.repeat <= MAX_REPEAT:
        parser.error("--repeat takes 1 to %d" % MAX_REPEAT)
    if not 1 <= options.processes <= MAX_PROCESSES:
        parser.error("--processes takes 1 to %d" % MAX_PROCESSES)
    options.command = command_line([script] + argv, sys.executable)
    options.machine = describe_machine()
    print("command: " + options.command)
    print("machine: " + options.machine)
    if options.workload == "knee":
        return run_knee(names, options, parser)
    if options.workload != "all":
        return run_workload(options.workload, names, options)
    results = [run_workload(name, names, options) for name in ("W1", "W2", "W3", "W4", "W5")]
    return max(results)


def generator_words(processes):
    return "load generator in %d process%s" % (processes, "" if processes == 1 else "es")


def raise_file_limit(workload):
    """Let this process hold two descriptors per client (its end, and a spare) and some."""
    need = 2 * workload["clients"] + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def run_noted(name, workload, options, notes, label):
    """Run one server once; add what went wrong to `notes`; return its row or None."""
    try:
        row = run_one(SERVERS[name], workload, options.python, print, options.processes)
    except (OSError, RuntimeError) as error:
        notes.append("%s failed: %s" % (label, error))
        return None
    if row["stalled_left"]:
        notes.append("%s: the stalled client was disconnected; the others were told: %s"
                     % (label, ", ".join(row["stalled_left"])))
    elif workload.get("stalled"):
        notes.append("%s: the stalled client was NOT disconnected" % label)
    if row["errors"]:
        notes.append("%s: %s" % (label, "; ".join(row["errors"])))
    if not row["alive"]:
        notes.append("%s: the server process died during the run" % label)
    limit = knee.generator_limit(row)
    if limit:
        notes.append("%s: %s; these figures measure the generator as much as %s"
                     % (label, limit, name))
    return row


def run_workload(name, names, options):
    """Run one workload against each named server, --repeat times; print its table."""
    workload = WORKLOADS[name]
    raise_file_limit(workload)
    print("\n%s: %d clients, %d senders, %d msg/s offered for %g s (%s); %s" % (
        name, workload["clients"], workload["senders"], workload["rate"],
        workload["duration"], workload["about"], generator_words(options.processes)))
    notes = []
    present = []
    for server in names:
        why = SERVERS[server].missing()
        if why:
            notes.append("%s skipped: %s" % (server, why))
        else:
            present.append(server)
    rows, orders = [], []
    for turn in range(options.repeat):
        order = rotation(present, turn)
        orders.append(order)
        if options.repeat > 1:
            print("  repetition %d of %d: %s" % (turn + 1, options.repeat, ", ".join(order)))
        for server in order:
            print("  running %s ..." % server, flush=True)
            label = server if options.repeat == 1 else "%s (repetition %d)" % (server, turn + 1)
            row = run_noted(server, workload, options, notes, label)
            if row is not None:
                row["repetition"] = turn + 1
                rows.append(row)
    print()
    if options.repeat == 1:
        print_table(rows)
    else:
        print("median [min%smax] over %d repetitions; one figure where all agree"
              % (RANGE_DASH, options.repeat))
        for line in spread_table(rows, COLUMNS, present, options.repeat):
            print(line)
    for note in notes:
        print("note: " + note)
    if options.json:
        path = options.json.replace("{workload}", name)
        with open(path, "w") as out:
            json.dump({"workload": name, "settings": workload, "command": options.command,
                       "machine": options.machine, "repeat": options.repeat, "orders": orders,
                       "rows": rows, "summary": summarise(rows, SUMMARY_KEYS),
                       "notes": notes}, out, indent=1)
    return 0 if rows else 1


def run_knee(names, options, parser):
    """Climb the knee ladder --repeat times; print each step and each server's knee."""
    shape = dict(WORKLOADS[KNEE_SHAPE], duration=options.step_seconds)
    raise_file_limit(shape)
    try:
        rates = knee.ladder(options.start, options.factor, options.max_rate, options.max_steps)
    except ValueError as error:
        parser.error(str(error))
    clients = shape["clients"]
    present = [name for name in names if not SERVERS[name].missing()]
    for name in names:
        if name not in present:
            print("note: %s skipped: %s" % (name, SERVERS[name].missing()))
    print("\nknee: the %s shape (%d clients, %d senders, %d-byte messages), %g s a step, "
          "each on a fresh server;" % (KNEE_SHAPE, clients, shape["senders"],
                                      shape.get("size", 64), options.step_seconds))
    print("rates %s msg/s (x %g, at most %s msg/s and %d steps)" % (
        ", ".join("{:,}".format(rate) for rate in rates), options.factor,
        "{:,}".format(options.max_rate), options.max_steps))
    print("sustained = nothing lost, p99 <= %g ms, deliveries/s >= %.0f%% of rate x %d; the "
          "generator (%s) is the limit when one of its processes uses >= %.0f%% of a core "
          "or > %.0f%% of messages go late"
          % (knee.P99_LIMIT_MS, 100 * knee.THROUGHPUT_SHARE, clients - 1,
             generator_words(options.processes), 100 * knee.GENERATOR_CPU_LIMIT,
             100 * knee.GENERATOR_LATE_LIMIT))
    deadline = time.monotonic() + 60 * options.max_minutes

    def run_step(name, rate):
        step = dict(shape, rate=rate)
        try:
            figures = run_one(SERVERS[name], step, options.python, print, options.processes)
        except (OSError, RuntimeError) as error:
            figures = {"server": name, "error": "the run failed: %s" % error}
        return figures

    def report(name, verdict, figures):
        print(knee.step_line(verdict, figures), flush=True)

    outcomes, record = [], []
    for turn in range(options.repeat):
        if time.monotonic() > deadline:
            print("\nnote: --max-minutes %g spent: repetitions %d to %d were not run"
                  % (options.max_minutes, turn + 1, options.repeat))
            break
        order = rotation(present, turn)
        print("\nrepetition %d of %d, first order: %s" % (turn + 1, options.repeat,
                                                         ", ".join(order)))
        print(knee.step_header())
        steps, stopped = knee.climb(order, rates, run_step, clients, report, deadline)
        results = {name: knee.outcome(steps[name], clients) for name in order}
        outcomes.append(results)
        print("stopped: " + stopped)
        for name in present:
            print("  " + knee.outcome_words(name, results[name], rates[0], stopped))
        record.append({"order": order, "stopped": stopped, "outcomes": results,
                       "steps": {name: steps[name] for name in order}})
    if len(outcomes) > 1:
        print("\nknee over %d repetitions, median [min%smax]:" % (len(outcomes), RANGE_DASH))
        for line in knee.knee_summary(outcomes, present):
            print("  " + line)
    if options.json:
        with open(options.json.replace("{workload}", "knee"), "w") as out:
            json.dump({"workload": "knee", "settings": shape, "rates": rates,
                       "command": options.command, "machine": options.machine,
                       "repeat": options.repeat, "repetitions": record}, out, indent=1)
    return 0 if present else 1


if __name__ == "__main__":
    sys.exit(main())
