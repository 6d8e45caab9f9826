"""One run's figures from the tallies of the generator's processes.

Each process (bench/workers.py; or the one Load of a single-process run)
returns a tally of its share of the clients: counts to add up, every
latency it measured, and per healthy receiver the next SEQ it expected
and the gaps it saw from each sender.  Losses are counted only here,
where every sender's true sent count is known, whichever process sent
it.  The generator's CPU is reported twice: the sum over the processes
(how much of the machine the generator took, as a share of one core) and
the busiest process's share, which is what says the generator is the
limit (bench/knee.py).  Pure functions: no sockets, no processes.
"""

import array


def total(tallies, key):
    return sum(tally[key] for tally in tallies)


def lost_messages(receivers, sent_by):
    """Return the messages healthy receivers never got.

    `receivers` is [(index, next_seq per sender, gaps per sender or None)];
    `sent_by` is {sender number: messages it sent}.  A receiver is missing
    its gaps and everything after the last SEQ it got; a sender is not a
    receiver of its own messages.
    """
    lost = 0
    for index, next_seq, gaps in receivers:
        for number, sent in sent_by.items():
            if number == index:
                continue
            lost += (gaps[number] if gaps else 0) + max(0, sent - (next_seq[number] - 1))
    return lost


def percentiles(latencies, shares):
    """Return {share: latency in ms} over every latency (microseconds), None if there are none."""
    ordered = sorted(latencies)
    if not ordered:
        return dict.fromkeys(shares)
    return {p: ordered[min(len(ordered) - 1, int(p * len(ordered)))] / 1000.0 for p in shares}


def known(values):
    return [value for value in values if value is not None]


def merge(tallies):
    """Return one run's figures (the columns of bench/run.py) from the processes' tallies."""
    sent_by = {}
    for tally in tallies:
        sent_by.update(tally["sent_by"])
    receivers = [receiver for tally in tallies for receiver in tally["receivers"]]
    latencies = array.array("q")
    for tally in tallies:
        latencies.extend(tally["latencies"])
    deliveries = total(tallies, "deliveries")
    points = percentiles(latencies, (0.50, 0.90, 0.99, 1.0))
    starts = known(tally["first_send"] for tally in tallies)
    ends = known(tally["last_delivery"] for tally in tallies)
    span = (max(ends) - min(starts)) / 1e6 if starts and ends else 0.0
    departures = [gone for tally in tallies for gone in tally["departures"]]
    stalled = {name for tally in tallies for name in tally["stalled"]}
    cpus = known(tally["cpu"] for tally in tallies)
    waits = known(tally["wait"] for tally in tallies)
    drains = known(tally["cpu_with_drain"] for tally in tallies)
    return {
        "clients": total(tallies, "clients"),
        "join_seconds": max(tally["join_seconds"] for tally in tallies),
        "sent": sum(sent_by.values()),
        "expected": sum(sent_by.values()) * (len(receivers) - 1),
        "scheduled": total(tallies, "scheduled"),
        "sent_late": total(tallies, "sent_late"),
        "sent_held": total(tallies, "sent_held"),
        "deliveries": deliveries,
        "deliveries_per_second": deliveries / span if span > 0 else 0.0,
        "p50_ms": points[0.50],
        "p90_ms": points[0.90],
        "p99_ms": points[0.99],
        "max_ms": points[1.0],
        "lost": lost_messages(receivers, sent_by),
        "duplicated": total(tallies, "duplicated"),
        "reordered": total(tallies, "reordered"),
        "stalled_left": sorted({reason for name, reason in departures if name in stalled}),
        "others_left": sorted({"%s: %s" % gone for gone in departures if gone[0] not in stalled}),
        "errors": [error for tally in tallies for error in tally["errors"]][:5],
        "loadgen_processes": len(tallies),
        # Shares of one core while sending: all processes together, and the busiest.
        "loadgen_cpu": sum(cpus) if len(cpus) == len(tallies) else None,
        "loadgen_cpu_max": max(cpus) if cpus else None,
        "loadgen_cpu_each": [tally["cpu"] for tally in tallies],
        "loadgen_cpu_with_drain": sum(drains) if len(drains) == len(tallies) else None,
        # The share of the sending time the process that waited most waited for a CPU.
        "loadgen_wait": max(waits) if waits else None,
    }
