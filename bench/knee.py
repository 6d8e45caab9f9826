"""The knee: the highest offered rate each server sustains, and who was the limit.

The rate climbs a geometric ladder (start, start × factor, ...) up to a
maximum rate and a maximum number of steps.  At each rate every server
still climbing runs one step, in an order that turns by one each step, so
that drift of a shared machine hits them alike.  A step is sustained when
nothing was lost, p99 ≤ 100 ms and the deliveries per second reach 95 % of
the offered rate × (clients − 1).  A server drops out at its first step
that is not sustained, or at the first step where the load generator was
the limit (one of its processes at 90 % of a core or more, or more than
1 % of the messages queued 10 ms or more after their time): from there on a failure
would be the generator's, and a success says only that the server is at
least that fast.  The decisions are pure functions of a step's figures;
`climb` drives the steps through a callable, so tests need no sockets.
"""

import time

from summary import format_spread, rotation

# What "sustained" means (issue 13): p99 within a tenth of a second ...
P99_LIMIT_MS = 100.0
# ... and the deliveries per second within 5 % of what was offered.
THROUGHPUT_SHARE = 0.95

# Each of the generator's processes is one Python loop: when any of them
# uses 90 % of a core, its own loop is what delays that share's messages,
# and the server's figures no longer say much.  (Their sum says how much
# of the machine the generator took, not whether one of them was full.)
GENERATOR_CPU_LIMIT = 0.90
# Share of the scheduled messages it queued late (loadgen.LATE_SECONDS) or
# never because it was busy or had no core: past 1 % the offered load was
# not what the ladder says.
GENERATOR_LATE_LIMIT = 0.01
# When it also waited this share of the time for a CPU (its run queue
# delay), the words say the machine was busy: it had no core to run on.
GENERATOR_WAIT_NOTED = 0.10

DEFAULT_START = 2000  # msg/s: every server here keeps up with this easily
DEFAULT_FACTOR = 1.25  # a step of 25 %: the knee is known within a quarter
DEFAULT_MAX_RATE = 64000  # msg/s: 3.1 M deliveries/s, above any server here
DEFAULT_MAX_STEPS = 16  # 2000 × 1.25^15 ≈ 57,000 msg/s: the ladder fits
DEFAULT_STEP_SECONDS = 3.0  # long enough for a backlog to show in p99
DEFAULT_MAX_MINUTES = 30.0  # the whole climb stops here, finished or not


def ladder(start, factor, max_rate, max_steps):
    """Return the rates to try: start × factor^k, rounded, rising, ≤ max_rate, ≤ max_steps."""
    if start <= 0 or factor <= 1.0:
        raise ValueError("the ladder needs a start above 0 and a factor above 1")
    rates = []
    rate = float(start)
    while rate <= max_rate and len(rates) < max_steps:
        if not rates or int(round(rate)) > rates[-1]:
            rates.append(int(round(rate)))
        rate *= factor
    return rates


def offered_deliveries(rate, clients):
    """Return the deliveries per second a rate asks for: every other member gets each message."""
    return rate * (clients - 1)


def shortfalls(figures, rate, clients):
    """Return why a step was not sustained, as [(kind, words)]; [] when it was."""
    found = []
    if figures.get("error"):
        found.append(("error", figures["error"]))
        return found
    if figures.get("lost"):
        found.append(("lost", "lost %s" % "{:,}".format(figures["lost"])))
    p99 = figures.get("p99_ms")
    if p99 is None:
        found.append(("p99", "nothing delivered"))
    elif p99 > P99_LIMIT_MS:
        found.append(("p99", "p99 %s ms > %g ms" % ("{:,.0f}".format(p99), P99_LIMIT_MS)))
    offered = offered_deliveries(rate, clients)
    got = figures.get("deliveries_per_second") or 0.0
    if got < THROUGHPUT_SHARE * offered:
        found.append(("throughput", "throughput %s/s < %.0f%% of %s/s offered" % (
            "{:,.0f}".format(got), 100 * THROUGHPUT_SHARE, "{:,.0f}".format(offered))))
    return found


def generator_limit(figures):
    """Return why the load generator was the limit in a step, or None if it was not."""
    busiest = figures.get("loadgen_cpu_max", figures.get("loadgen_cpu"))
    processes = figures.get("loadgen_processes", 1)
    scheduled = figures.get("scheduled") or 0
    late = figures.get("sent_late") or 0
    if busiest is not None and busiest >= GENERATOR_CPU_LIMIT and processes > 1:
        why = "a load generator process used %.0f%% of a core (its %d processes %.0f%%)" % (
            100 * busiest, processes, 100 * (figures.get("loadgen_cpu") or 0))
    elif busiest is not None and busiest >= GENERATOR_CPU_LIMIT:
        why = "the load generator used %.0f%% of a core" % (100 * busiest)
    elif scheduled and late > GENERATOR_LATE_LIMIT * scheduled:
        why = "the load generator queued %.1f%% of the messages late or never" % (
            100.0 * late / scheduled)
    else:
        return None
    wait = figures.get("loadgen_wait")
    if wait is not None and wait >= GENERATOR_WAIT_NOTED:
        why += "; it waited for a CPU %.0f%% of the time: the machine was busy" % (100 * wait)
    return why


def judge(figures, rate, clients):
    """Return a step's verdict: sustained or not, why, and whether the generator was the limit."""
    why = shortfalls(figures, rate, clients)
    return {"rate": rate, "offered": offered_deliveries(rate, clients),
            "sustained": not why, "why": [words for _, words in why],
            "generator": None if figures.get("error") else generator_limit(figures)}


def climb(names, rates, run_step, clients, report=lambda name, step, figures: None,
          deadline=None, clock=time.monotonic):
    """Run the ladder for every server; return {name: [step verdicts]} and why it stopped.

    `run_step(name, rate)` returns a step's figures (a dict, with "error"
    when the run itself failed).  A server drops out after its first step
    not sustained or limited by the generator.
    """
    steps = {name: [] for name in names}
    climbing = list(names)
    for number, rate in enumerate(rates):
        if not climbing:
            return steps, "every server dropped out"
        for name in rotation(climbing, number):
            if deadline is not None and clock() > deadline:
                return steps, "the time budget ran out at %s msg/s" % "{:,}".format(rate)
            figures = run_step(name, rate)
            verdict = judge(figures, rate, clients)
            verdict["figures"] = figures
            steps[name].append(verdict)
            report(name, verdict, figures)
            if not verdict["sustained"] or verdict["generator"]:
                climbing.remove(name)
    if climbing:
        return steps, "the ladder ended at %s msg/s" % "{:,}".format(rates[-1] if rates else 0)
    return steps, "every server dropped out"


def outcome(steps, clients):
    """Return what one server's steps show: its knee, its first failure and the limit."""
    sustained = [step for step in steps if step["sustained"]]
    best = sustained[-1]["rate"] if sustained else None
    last = steps[-1] if steps else None
    result = {"steps": len(steps), "sustained_rate": best,
              "sustained_deliveries": offered_deliveries(best, clients) if best else None,
              "failed_rate": None, "failed_why": [], "generator_rate": None,
              "generator_why": None}
    if last is None:
        return result
    if last["generator"]:
        result["generator_rate"] = last["rate"]
        result["generator_why"] = last["generator"]
    if not last["sustained"]:
        result["failed_rate"] = last["rate"]
        result["failed_why"] = last["why"]
    return result


def rate_words(rate):
    return "{:,} msg/s".format(rate)


def outcome_words(name, result, start, stop_reason):
    """Return one line saying what a server sustained and what stopped it."""
    if result["sustained_rate"] is None:
        best = "sustained nothing from %s up" % rate_words(start)
    else:
        best = "sustained %s (%s deliveries/s)" % (
            rate_words(result["sustained_rate"]),
            "{:,}".format(result["sustained_deliveries"]))
    if result["generator_rate"] is not None:
        return ("%s: %s; at ≥ %s the load generator was the limit, not %s: %s%s"
                % (name, best, rate_words(result["generator_rate"]), name,
                   result["generator_why"],
                   "; the step also fell short: " + ", ".join(result["failed_why"])
                   if result["failed_why"] else ""))
    if result["failed_rate"] is not None:
        return "%s: %s; first failed at %s: %s" % (
            name, best, rate_words(result["failed_rate"]), ", ".join(result["failed_why"]))
    return "%s: %s; never failed: %s, so its knee is higher" % (name, best, stop_reason)


STEP_COLUMNS = [
    ("rate msg/s", lambda v, f: "{:,}".format(v["rate"])),
    ("offered deliv/s", lambda v, f: "{:,.0f}".format(v["offered"])),
    ("server", lambda v, f: f.get("server", "?")),
    ("deliv/s", lambda v, f: "{:,.0f}".format(f.get("deliveries_per_second") or 0)),
    ("p99 ms", lambda v, f: "-" if f.get("p99_ms") is None else "{:.1f}".format(f["p99_ms"])),
    ("lost", lambda v, f: "{}".format(f.get("lost", "-"))),
    ("CPU us/deliv", lambda v, f: "-" if not f.get("cpu_us_per_delivery")
     else "{:.2f}".format(f["cpu_us_per_delivery"])),
    ("loadgen CPU", lambda v, f: "-" if f.get("loadgen_cpu") is None
     else "{:.0%}".format(f["loadgen_cpu"])),
    ("busiest", lambda v, f: "-" if f.get("loadgen_cpu_max") is None
     else "{:.0%}".format(f["loadgen_cpu_max"])),
    ("loadgen wait", lambda v, f: "-" if f.get("loadgen_wait") is None
     else "{:.0%}".format(f["loadgen_wait"])),
    ("sent", lambda v, f: "-" if not f.get("scheduled")
     else "{:.1%}".format(float(f.get("sent", 0)) / f["scheduled"])),
    ("late", lambda v, f: "-" if not f.get("scheduled")
     else "{:.1%}".format(float(f.get("sent_late", 0)) / f["scheduled"])),
    ("verdict", lambda v, f: ("sustained" if v["sustained"] else "NOT: " + ", ".join(v["why"]))
     + ("; generator-limited" if v["generator"] else "")),
]
STEP_WIDTHS = [10, 15, 8, 11, 9, 9, 12, 11, 7, 12, 6, 6, 0]


def step_header():
    return "  ".join(title.rjust(width) if width else title
                     for (title, _), width in zip(STEP_COLUMNS, STEP_WIDTHS))


def step_line(verdict, figures):
    """Return one line of the running log of steps."""
    return "  ".join(show(verdict, figures).rjust(width) if width else show(verdict, figures)
                     for (_, show), width in zip(STEP_COLUMNS, STEP_WIDTHS))


def knee_summary(outcomes, names):
    """Return lines: per server, the sustained rate over repetitions as median [min–max].

    `outcomes` is a list (one per repetition) of {name: outcome}.  A server
    that sustained nothing counts as 0 msg/s in that repetition; one that
    ran no step there (the time budget was spent) does not count.
    """
    lines = []
    for name in names:
        results = [rep[name] for rep in outcomes if rep.get(name, {}).get("steps", 1)]
        rates = [r["sustained_rate"] or 0 for r in results]
        limited = sum(1 for r in results if r["generator_rate"] is not None)
        failed = [r["failed_rate"] for r in results if r["failed_rate"] is not None
                  and r["generator_rate"] is None]
        line = "%s: sustained %s msg/s over %d repetition%s" % (
            name, format_spread("{:,.0f}", rates), len(results), "" if len(results) == 1 else "s")
        if failed:
            line += "; first failure at %s msg/s" % format_spread("{:,.0f}", failed)
        if limited:
            line += ("; in %d of %d the load generator was the limit, not %s: "
                     "there its knee is at least the figure shown" % (limited, len(results), name))
        unfailed = sum(1 for r in results
                       if r["failed_rate"] is None and r["generator_rate"] is None)
        if unfailed:
            line += ("; in %d of %d the climb ended before it failed: its knee is higher"
                     % (unfailed, len(results)))
        lines.append(line)
    return lines
