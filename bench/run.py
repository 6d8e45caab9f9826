"""Run a named fan-out workload against chat_app and its peers; print a table.

    python3 bench/run.py W1                 # chat_app, ngircd, miniircd in turn
    python3 bench/run.py all                # W1 to W5, one table each
    python3 bench/run.py W2 --servers chat_app,ngircd
    python3 bench/run.py W3 --python ~/.pyenv/versions/3.8.20/bin/python

Every server is started fresh on 127.0.0.1 for each workload and stopped
after it; see bench/README.md for what each column means.
"""

import argparse
import json
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loadgen import WIRES, Load  # noqa: E402
from servers import SERVERS  # noqa: E402

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

COLUMNS = [
    ("server", "{server}"),
    ("join s", "{join_seconds:.2f}"),
    ("sent", "{sent}"),
    ("delivered", "{deliveries}"),
    ("deliv/s", "{deliveries_per_second:,.0f}"),
    ("p50 ms", "{p50_ms:.2f}"),
    ("p90 ms", "{p90_ms:.2f}"),
    ("p99 ms", "{p99_ms:.2f}"),
    ("max ms", "{max_ms:.1f}"),
    ("lost", "{lost}"),
    ("dup", "{duplicated}"),
    ("reord", "{reordered}"),
    ("CPU us/deliv", "{cpu_us_per_delivery:.2f}"),
    ("peak RSS MiB", "{peak_rss_mib:.1f}"),
    ("loadgen CPU", "{loadgen_cpu:.0%}"),
]


def run_one(server_class, workload, python, log):
    server = server_class(python)
    server.start()
    load = None
    try:
        load = Load(WIRES[server.wire](), ("127.0.0.1", server.port),
                    clients=workload["clients"], senders=workload["senders"],
                    rate=workload["rate"], duration=workload["duration"],
                    size=workload.get("size", 64), stalled=workload.get("stalled", 0))
        marks = {}

        def on_phase(phase):
            marks[phase] = server.cpu_seconds()

        figures = load.run(on_phase)
        figures["server"] = server.name
        cpu = marks["done"] - marks["send"]
        figures["server_cpu_seconds"] = cpu
        figures["cpu_us_per_delivery"] = (cpu / figures["deliveries"] * 1e6
                                          if figures["deliveries"] else float("nan"))
        figures["peak_rss_mib"] = server.peak_rss_mib()
        figures["server_threads"] = server.threads()
        figures["alive"] = server.process.poll() is None
        return figures
    finally:
        if load is not None:
            load.close_all()
        server.stop()


def cell(template, figures):
    try:
        return template.format(**figures)
    except (TypeError, ValueError, KeyError):
        return "-"


def print_table(rows, out=sys.stdout):
    header = [name for name, _ in COLUMNS]
    body = [[cell(template, row) for _, template in COLUMNS] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.rjust(w) for h, w in zip(header, widths))
    out.write(line + "\n" + "-" * len(line) + "\n")
    for r in body:
        out.write("  ".join(c.rjust(w) for c, w in zip(r, widths)) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS) + ["all"])
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="comma-separated, from: %s" % ", ".join(SERVERS))
    parser.add_argument("--python", default=None,
                        help="the Python that runs chat_app's server (default: this one)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the figures as JSON ({workload} in FILE: one file each)")
    options = parser.parse_args(argv)
    names = [name.strip() for name in options.servers.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVERS]
    if unknown:
        parser.error("unknown server %s; choose from %s" % (", ".join(unknown), ", ".join(SERVERS)))
    if options.workload != "all":
        return run_workload(options.workload, names, options)
    results = [run_workload(name, names, options) for name in ("W1", "W2", "W3", "W4", "W5")]
    return max(results)


def run_workload(name, names, options):
    """Run one workload against each named server; print its table."""
    workload = WORKLOADS[name]
    need = 2 * workload["clients"] + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    print("\n%s: %d clients, %d senders, %d msg/s offered for %g s (%s)" % (
        name, workload["clients"], workload["senders"], workload["rate"],
        workload["duration"], workload["about"]))
    rows, notes = [], []
    for name in names:
        why = SERVERS[name].missing()
        if why:
            notes.append("%s skipped: %s" % (name, why))
            continue
        print("  running %s ..." % name, flush=True)
        try:
            row = run_one(SERVERS[name], workload, options.python, print)
        except (OSError, RuntimeError) as error:
            notes.append("%s failed: %s" % (name, error))
            continue
        rows.append(row)
        if row["stalled_left"]:
            notes.append("%s: the stalled client was disconnected; the others were told: %s"
                         % (name, ", ".join(row["stalled_left"])))
        elif workload.get("stalled"):
            notes.append("%s: the stalled client was NOT disconnected" % name)
        if row["errors"]:
            notes.append("%s: %s" % (name, "; ".join(row["errors"])))
        if not row["alive"]:
            notes.append("%s: the server process died during the run" % name)
        if row["loadgen_cpu"] > 0.9:
            notes.append("%s: the load generator used %.0f%% of a core: it may be the bottleneck"
                         % (name, 100 * row["loadgen_cpu"]))
    print()
    print_table(rows)
    for note in notes:
        print("note: " + note)
    if options.json:
        path = options.json.replace("{workload}", name)
        with open(path, "w") as out:
            json.dump({"workload": name, "settings": workload, "rows": rows,
                       "notes": notes}, out, indent=1)
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
