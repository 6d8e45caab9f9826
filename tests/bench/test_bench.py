"""The benchmark: the load generator's accounting, repeated runs and the knee.

No timing is asserted here (docs/benchmarks.md has the figures); these
tests check that the generator runs and counts losses, duplicates,
reordering and its own lateness correctly, so that a clean table means a
clean run; that the figures of several generator processes merge into
the figures of one run; that repeated runs turn the servers' order and report medians
with min and max; and that the knee decides sustained, not sustained and
generator-limited as bench/README.md says, from made-up figures.
"""

import io
import json
import os
import re
import socket
import subprocess
import sys

import pytest

from helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))

from knee import (climb, judge, knee_summary, ladder, outcome, outcome_words,  # noqa: E402
                  step_header, step_line)
from loadgen import ChatAppWire, IrcWire, Load, due_by, share  # noqa: E402
from merge import merge  # noqa: E402
from run import print_table  # noqa: E402
from summary import cpu_model, describe_machine, format_spread, rotation, spread_table  # noqa: E402
from workers import Workers, joins_in_flight, run_split  # noqa: E402

SHARES = {"cpu": 0.0, "cpu_with_drain": 0.0, "wait": None}


def light_run(port):
    """Five clients, two of them sending 40 messages a second for a second; return the figures."""
    load = Load(ChatAppWire(), ("127.0.0.1", port), clients=5, senders=2, rate=40, duration=1.0)
    try:
        figures = load.run()
    finally:
        load.close_all()
    assert figures["sent"] >= 30
    assert figures["expected"] == figures["sent"] * 4  # everyone but the sender
    assert figures["deliveries"] == figures["expected"]
    assert (figures["lost"], figures["duplicated"], figures["reordered"]) == (0, 0, 0)
    return figures


@pytest.mark.system
def test_a_short_run_against_chat_app_loses_and_reorders_nothing(make_server):
    figures = light_run(make_server("--rate-limit", "0").port)
    assert figures["errors"] == []
    assert figures["p50_ms"] is not None and figures["p50_ms"] <= figures["max_ms"]


@pytest.mark.system
def test_the_floor_relay_runs_beside_the_servers_and_loses_nothing_at_a_light_load():
    from servers import FloorRelay
    server = FloorRelay()
    server.start()
    try:
        light_run(server.port)
    finally:
        server.stop()


def test_the_floor_is_run_only_when_named():
    from run import main
    with pytest.raises(SystemExit):
        main(["W1", "--servers", "nosuch"])
    help_text = io.StringIO()
    with pytest.raises(SystemExit):
        sys.stdout, saved = help_text, sys.stdout
        try:
            main(["--help"])
        finally:
            sys.stdout = saved
    assert "from: chat_app, ngircd, miniircd, floor (default: all but floor)" in \
        " ".join(help_text.getvalue().split())


@pytest.mark.system
@pytest.mark.parametrize("processes", [1, 2])
def test_a_stalled_client_is_reported_as_cut_off(make_server, processes):
    server = make_server("--rate-limit", "0")
    settings = dict(clients=3, senders=1, rate=1000, duration=2.5, size=3900, stalled=1)
    if processes == 2:  # the stalled client u2 is in the first process, its sender too
        figures = run_split(2, "chat_app", ("127.0.0.1", server.port), settings)
        assert figures["loadgen_processes"] == 2
    else:
        load = Load(ChatAppWire(), ("127.0.0.1", server.port), **settings)
        try:
            figures = load.run()
        finally:
            load.close_all()
    assert figures["stalled_left"] == ["too_slow"]
    assert figures["errors"] == []
    assert (figures["lost"], figures["duplicated"], figures["reordered"]) == (0, 0, 0)


def message(sender, seq):
    return b'{"type":"message","text":"bench %d %d 0 xx"}\n' % (sender, seq)


def counted(*seqs):
    """Feed the receiver messages from the sender with these SEQs; return the figures."""
    load = Load(ChatAppWire(), ("127.0.0.1", 9), clients=2, senders=1, rate=1, duration=1)
    load.count(load.clients[1], b"".join(message(0, seq) for seq in seqs), 10 ** 6)
    load.clients[0].sent = 5
    return merge([load.tally(0.0, SHARES)])


def test_the_generator_counts_what_a_faulty_server_would_do():
    clean = counted(1, 2, 3, 4, 5)
    assert (clean["lost"], clean["duplicated"], clean["reordered"]) == (0, 0, 0)
    faulty = counted(1, 3, 2, 2, 5)  # 2 late, 2 twice, 4 never
    assert (faulty["lost"], faulty["duplicated"], faulty["reordered"]) == (1, 1, 1)
    assert faulty["deliveries"] == 5
    assert counted(1, 2)["lost"] == 3  # the last three never came


@pytest.mark.system
def test_error_frames_from_the_server_are_reported(make_server):
    server = make_server("--rate-limit", "0", "--max-text", "10")
    load = Load(ChatAppWire(), ("127.0.0.1", server.port), clients=2, senders=1,
                rate=10, duration=0.3)
    try:
        figures = load.run()
    finally:
        load.close_all()
    assert figures["lost"] == figures["sent"] > 0
    assert "text_too_long" in figures["errors"][0]


def test_own_messages_echoed_by_chat_app_are_not_counted():
    load = Load(ChatAppWire(), ("127.0.0.1", 9), clients=2, senders=1, rate=1, duration=1)
    load.count(load.clients[0], message(0, 1), 10 ** 6)
    assert load.deliveries == 0


def test_irc_wire_joins_answers_pings_and_sees_quits():
    wire = IrcWire()
    assert wire.login("u1") == b"NICK u1\r\nUSER u1 0 * :bench\r\n"
    assert wire.on_login_line(b":srv 001 u1 :Welcome") == (b"JOIN #bench\r\n", False)
    assert wire.on_login_line(b":srv 366 u1 #bench :End of NAMES list") == (b"", True)
    assert wire.answer(b"PING :srv") == b"PONG :srv\r\n"
    assert wire.departure(b":u3!~u3@host QUIT :SendQ exceeded") == ("u3", "SendQ exceeded")
    assert wire.departure(b":u3!~u3@host PRIVMSG #bench :QUIT now") is None
    try:
        wire.on_login_line(b":srv 433 * u1 :Nickname already in use")
    except RuntimeError as error:
        assert "433" in str(error)
    else:
        raise AssertionError("a refused nick must stop the run")


def run_bench(*args):
    """Run bench/run.py with these arguments; return its result, failing if it failed."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py")] + list(args),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.system
def test_run_repeats_and_prints_medians_for_chat_app(tmp_path):
    out = tmp_path / "figures.json"
    result = run_bench("smoke", "--servers", "chat_app", "--repeat", "2", "--json", str(out))
    lines = result.stdout.splitlines()
    assert lines[0].endswith("bench/run.py smoke --servers chat_app --repeat 2 --json "
                             + str(out))
    assert lines[1].startswith("machine: ") and "cores (nproc)" in lines[1]
    assert "repetition 2 of 2: chat_app" in result.stdout
    assert re.search(r"^runs +2 of 2$", result.stdout, re.M)
    assert re.search(r"^lost +0$", result.stdout, re.M)  # every repetition lost nothing
    figures = json.loads(out.read_text())
    assert [row["repetition"] for row in figures["rows"]] == [1, 2]
    assert figures["summary"]["chat_app"]["lost"] == {"median": 0, "min": 0, "max": 0, "runs": 2}
    assert figures["summary"]["chat_app"]["repetitions"] == 2


@pytest.mark.system
def test_knee_climbs_against_chat_app_and_says_what_it_sustained(tmp_path):
    out = tmp_path / "knee.json"
    result = run_bench("knee", "--servers", "chat_app", "--start", "100", "--max-steps", "1",
                       "--step-seconds", "0.5", "--json", str(out))
    assert "rates 100 msg/s" in result.stdout
    steps = json.loads(out.read_text())["repetitions"][0]["steps"]["chat_app"]
    assert [step["rate"] for step in steps] == [100]
    assert steps[0]["figures"]["lost"] == 0
    assert "chat_app: sustained 100 msg/s (4,900 deliveries/s)" in result.stdout \
        or "chat_app: sustained nothing" in result.stdout  # a busy machine may miss p99


# --- repeated runs: order and figures (pure) -------------------------------

def test_the_order_turns_so_no_server_always_goes_first():
    names = ["chat_app", "ngircd", "miniircd"]
    assert [rotation(names, turn) for turn in range(4)] == [
        ["chat_app", "ngircd", "miniircd"], ["ngircd", "miniircd", "chat_app"],
        ["miniircd", "chat_app", "ngircd"], ["chat_app", "ngircd", "miniircd"]]
    assert rotation([], 2) == []


def test_a_figure_is_its_median_with_min_and_max_beside_it():
    assert format_spread("{:,.0f}", [790100, 770012, 783881]) == "783,881 [770,012–790,100]"
    assert format_spread("{}", [0, 0, 0]) == "0"  # all agree: one figure
    assert format_spread("{}", [0, 12, 0]) == "0 [0–12]"  # one loss shows as the max
    assert format_spread("{}", [80000, 79999]) == "79999.5 [79999–80000]"
    assert format_spread("{:.2f}", [None, 1.0, float("nan"), 3.0]) == "2.00 [1.00–3.00]"
    assert format_spread("{:.2f}", [None]) == "-"
    assert format_spread("{:.0%}", [0.5, 0.55, 0.6]) == "55% [50%–60%]"


def test_the_repeated_table_has_a_line_per_figure_and_a_column_per_server():
    rows = [dict(server="chat_app", lost=0, deliveries_per_second=783881.2),
            dict(server="chat_app", lost=0, deliveries_per_second=770012.0),
            dict(server="chat_app", lost=3, deliveries_per_second=790100.0),
            dict(server="ngircd", lost=0, deliveries_per_second=777417.0)]
    columns = [("server", "server", "{}"), ("deliv/s", "deliveries_per_second", "{:,.0f}"),
               ("lost", "lost", "{}")]
    lines = spread_table(rows, columns, ["chat_app", "ngircd", "miniircd"], repeat=3)
    assert lines[0].split() == ["figure", "chat_app", "ngircd"]  # miniircd gave nothing
    assert lines[2].split() == ["runs", "3", "of", "3", "1", "of", "3"]
    assert lines[3].split() == ["deliv/s", "783,881", "[770,012–790,100]", "777,417"]
    assert lines[4].split() == ["lost", "0", "[0–3]", "0"]


def test_the_single_run_table_keeps_its_columns():
    out = io.StringIO()
    print_table([dict(server="chat_app", deliveries_per_second=783881.4, lost=0,
                      loadgen_cpu=0.55)], out)
    header, rule, line = out.getvalue().splitlines()
    assert header.split()[:4] == ["server", "join", "s", "sent"]
    assert line.split()[0] == "chat_app" and "783,881" in line.split() and "55%" in line


def test_the_machine_line_names_the_cpu_model():
    assert cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert cpu_model("Hardware\t: BCM2835\n") == "BCM2835"
    line = describe_machine(read=lambda path: "model name : Test CPU\n")
    assert "Test CPU" in line and "Python" in line and "UTC" in line


# --- the knee's decisions (pure) -------------------------------------------

def step(**changes):
    """Figures of a clean W2-shaped step at 2000 msg/s, changed as asked."""
    figures = dict(server="chat_app", lost=0, p99_ms=5.0, deliveries_per_second=97000.0,
                   loadgen_cpu=0.40, loadgen_wait=0.0, scheduled=6000, sent_late=0)
    figures.update(changes)
    return figures


def test_a_step_is_sustained_only_without_loss_slow_p99_or_missing_throughput():
    assert judge(step(), 2000, 50)["sustained"]
    assert judge(step(p99_ms=100.0), 2000, 50)["sustained"]  # the bound itself holds
    assert judge(step(deliveries_per_second=0.95 * 98000), 2000, 50)["sustained"]
    assert judge(step(lost=12), 2000, 50)["why"] == ["lost 12"]
    assert judge(step(p99_ms=289.4), 2000, 50)["why"] == ["p99 289 ms > 100 ms"]
    assert judge(step(deliveries_per_second=90000.0), 2000, 50)["why"] == [
        "throughput 90,000/s < 95% of 98,000/s offered"]
    assert judge(step(p99_ms=None, deliveries_per_second=0.0), 2000, 50)["why"][0] == \
        "nothing delivered"
    failed = judge({"server": "miniircd", "error": "the run failed: refused"}, 2000, 50)
    assert (failed["sustained"], failed["why"], failed["generator"]) == (
        False, ["the run failed: refused"], None)


def test_the_generator_is_the_limit_at_90_percent_cpu_or_one_percent_late():
    assert judge(step(), 2000, 50)["generator"] is None
    assert judge(step(loadgen_cpu=0.89, sent_late=60), 2000, 50)["generator"] is None
    assert judge(step(loadgen_cpu=0.90), 2000, 50)["generator"] == \
        "the load generator used 90% of a core"
    two = dict(loadgen_processes=2, loadgen_cpu=1.5)  # 150 % of a core in all is not the rule
    assert judge(step(loadgen_cpu_max=0.89, **two), 2000, 50)["generator"] is None
    assert judge(step(loadgen_cpu_max=0.92, **two), 2000, 50)["generator"] == \
        "a load generator process used 92% of a core (its 2 processes 150%)"
    late = judge(step(sent_late=61, loadgen_wait=0.25), 2000, 50)
    assert late["sustained"] and late["generator"] == (
        "the load generator queued 1.0% of the messages late or never; "
        "it waited for a CPU 25% of the time: the machine was busy")


def test_a_step_line_shows_the_generators_share_sent_and_late():
    figures = step(server="ngircd", sent=5990, sent_late=61, loadgen_cpu=0.7,
                   loadgen_cpu_max=0.4)
    words = step_line(judge(figures, 2000, 50), figures).split()
    assert words[:3] == ["2,000", "98,000", "ngircd"]
    assert words[7:] == ["70%", "40%", "0%", "99.8%", "1.0%", "sustained;", "generator-limited"]
    headings = re.split(r"\s{2,}", step_header().strip())
    assert headings[7:12] == ["loadgen CPU", "busiest", "loadgen wait", "sent", "late"]


def test_the_ladder_is_geometric_and_bounded_in_rate_and_steps():
    assert ladder(2000, 1.25, 5000, 10) == [2000, 2500, 3125, 3906, 4883]
    assert ladder(2000, 1.25, 10 ** 9, 4) == [2000, 2500, 3125, 3906]
    assert ladder(1, 1.1, 3, 10) == [1, 2, 3]  # rounding never repeats a rate
    for start, factor in ((2000, 1.0), (0, 2.0)):
        try:
            ladder(start, factor, 5000, 10)
        except ValueError:
            continue
        raise AssertionError("a ladder that never climbs must be refused")


def test_the_climb_alternates_drops_servers_and_credits_no_one_for_the_generator():
    calls = []

    def run_step(name, rate):
        calls.append((rate, name))
        if name == "chat_app" and rate >= 4000:
            return step(server=name, p99_ms=289.0, deliveries_per_second=rate * 49.0)
        if name == "ngircd" and rate >= 3000:
            return step(server=name, deliveries_per_second=rate * 49.0, loadgen_cpu=0.94)
        return step(server=name, deliveries_per_second=rate * 49.0)

    names = ["chat_app", "ngircd", "miniircd"]
    steps, stopped = climb(names, [2000, 3000, 4000, 5000], run_step, clients=50)
    assert calls == [(2000, "chat_app"), (2000, "ngircd"), (2000, "miniircd"),
                     (3000, "ngircd"), (3000, "miniircd"), (3000, "chat_app"),
                     (4000, "chat_app"), (4000, "miniircd"),
                     (5000, "miniircd")]
    assert stopped == "the ladder ended at 5,000 msg/s"
    chat_app, ngircd, miniircd = (outcome(steps[name], 50) for name in names)
    assert (chat_app["sustained_rate"], chat_app["failed_rate"]) == (3000, 4000)
    assert outcome_words("chat_app", chat_app, 2000, stopped) == (
        "chat_app: sustained 3,000 msg/s (147,000 deliveries/s); "
        "first failed at 4,000 msg/s: p99 289 ms > 100 ms")
    assert (ngircd["sustained_rate"], ngircd["generator_rate"]) == (3000, 3000)
    assert "at ≥ 3,000 msg/s the load generator was the limit, not ngircd: the load " \
        "generator used 94% of a core" in outcome_words("ngircd", ngircd, 2000, stopped)
    assert outcome_words("miniircd", miniircd, 2000, stopped).endswith(
        "never failed: the ladder ended at 5,000 msg/s, so its knee is higher")


def test_the_climb_stops_when_its_time_is_up():
    ticks = iter(range(100))
    steps, stopped = climb(["chat_app", "ngircd"], [2000, 3000],
                           lambda name, rate: step(server=name, deliveries_per_second=rate * 49.0),
                           clients=50, deadline=2, clock=lambda: next(ticks))
    assert stopped == "the time budget ran out at 3,000 msg/s"
    assert [len(steps[name]) for name in ("ngircd", "chat_app")] == [2, 1]  # ngircd led at 3,000


def test_the_knee_over_repetitions_is_a_median_with_min_and_max():
    def result(rate, failed=None, generator=None):
        return dict(sustained_rate=rate, failed_rate=failed, generator_rate=generator)

    outcomes = [{"chat_app": result(3906, failed=4883), "ngircd": result(24414, generator=24414)},
                {"chat_app": result(3125, failed=3906), "ngircd": result(19531, failed=24414)},
                {"chat_app": result(None, failed=2000), "ngircd": result(24414, generator=24414)}]
    chat_app, ngircd = knee_summary(outcomes, ["chat_app", "ngircd"])
    assert chat_app == ("chat_app: sustained 3,125 [0–3,906] msg/s over 3 repetitions; "
                        "first failure at 3,906 [2,000–4,883] msg/s")
    assert ngircd.startswith("ngircd: sustained 24,414 [19,531–24,414] msg/s")
    assert "in 2 of 3 the load generator was the limit, not ngircd" in ngircd
    assert "climb ended" not in ngircd
    unrun = dict(result(None), steps=0)  # the time budget was spent before its turn
    (miniircd,) = knee_summary([{"miniircd": result(56843)}, {"miniircd": unrun}], ["miniircd"])
    assert miniircd == ("miniircd: sustained 56,843 msg/s over 1 repetition; in 1 of 1 "
                        "the climb ended before it failed: its knee is higher")


# --- the generator's own lateness (pure) -------------------------------------

def test_lateness_is_the_generators_unless_the_server_stopped_reading():
    load = Load(ChatAppWire(), ("127.0.0.1", 9), clients=3, senders=2, rate=10, duration=1)
    assert [due_by(t, 5.0, 0.5) for t in (0.0, 0.099, 0.1, 0.3, 0.31)] == [0, 0, 1, 2, 2]
    busy, paused = load.clients[:2]
    load.count_late(busy, 3)
    paused.held = True
    load.count_late(paused, 2)
    assert (load.late, load.held, paused.held) == (3, 2, False)
    busy.sent = 3
    load.count_late(busy, 3)  # nothing new behind
    assert load.late == 3


def test_the_generators_shares_are_of_the_wall_time_between_two_readings():
    before = {"cpu": 1.0, "wait": None, "wall": 10.0}
    after = {"cpu": 1.9, "wait": 0.5, "wall": 11.0}
    assert abs(share(before, after, "cpu") - 0.9) < 1e-9
    assert share(before, after, "wait") is None  # no /proc/self/schedstat: unknown, not 0
    assert share(before, before, "cpu") is None


# --- the generator in several processes --------------------------------------

def tally(**changes):
    """A process's tally of nothing much, changed as asked."""
    counts = dict(clients=0, join_seconds=0.5, sent_by={}, receivers=[], stalled=[],
                  scheduled=0, sent_late=0, sent_held=0, deliveries=0, latencies=[],
                  duplicated=0, reordered=0, departures=[], errors=[], first_send=None,
                  last_delivery=None, cpu=0.5, cpu_with_drain=0.4, wait=0.0)
    counts.update(changes)
    return counts


def test_losses_are_counted_against_what_the_sender_sent_in_another_process():
    # 4 clients, senders 0 and 1; process 0 holds clients 0 and 2, process 1 clients 1 and 3.
    # Sender 0 sent 5, sender 1 sent 4.  Client 2 got all of 0's and 1's first three;
    # client 3 missed 0's SEQ 2 (a gap) and 1's last two; client 0 got 1's 1..4;
    # client 1 got 0's 1..5.
    first = tally(clients=2, join_seconds=0.75, sent_by={0: 5},
                  receivers=[(0, [1, 5], None), (2, [6, 4], None)],
                  scheduled=5, sent_late=1, deliveries=12, latencies=[1000] * 12,
                  duplicated=1, first_send=10 * 10 ** 6, last_delivery=11 * 10 ** 6,
                  departures=[("u3", "too_slow")], errors=["u2: closed by the server"],
                  cpu=0.60, cpu_with_drain=0.5, wait=0.02)
    second = tally(clients=2, stalled=[], sent_by={1: 4},
                   receivers=[(1, [6, 1], None), (3, [6, 3], [1, 0])],
                   scheduled=5, sent_held=1, deliveries=10, latencies=[3000] * 10,
                   reordered=2, first_send=10 * 10 ** 6 + 300, last_delivery=12 * 10 ** 6,
                   cpu=0.95, cpu_with_drain=0.8, wait=0.25)
    figures = merge([first, second])
    assert (figures["sent"], figures["scheduled"], figures["sent_late"],
            figures["sent_held"]) == (9, 10, 1, 1)
    assert figures["lost"] == 1 + 1 + 2  # client 2: 1's 4th; client 3: a gap, 1's 3rd and 4th
    assert figures["expected"] == 9 * 3
    assert (figures["deliveries"], figures["duplicated"], figures["reordered"]) == (22, 1, 2)
    assert figures["deliveries_per_second"] == 22 / 2.0  # first send to last delivery
    assert (figures["p50_ms"], figures["p99_ms"], figures["max_ms"]) == (1.0, 3.0, 3.0)
    assert figures["join_seconds"] == 0.75
    assert figures["others_left"] == ["u3: too_slow"] and figures["stalled_left"] == []
    assert figures["errors"] == ["u2: closed by the server"]
    assert figures["loadgen_processes"] == 2
    assert abs(figures["loadgen_cpu"] - 1.55) < 1e-9 and figures["loadgen_cpu_max"] == 0.95
    assert figures["loadgen_wait"] == 0.25  # the process that waited most
    assert abs(figures["loadgen_cpu_with_drain"] - 1.3) < 1e-9


def test_one_process_merges_to_its_own_figures_and_the_stalled_departure_is_named():
    lone = tally(clients=3, sent_by={0: 2}, stalled=["u2"], receivers=[(0, [1], None),
                                                                       (1, [3], None)],
                 departures=[("u2", "too_slow")], cpu=None, wait=None)
    figures = merge([lone])
    assert (figures["lost"], figures["expected"], figures["p99_ms"]) == (0, 2, None)
    assert figures["stalled_left"] == ["too_slow"] and figures["others_left"] == []
    assert (figures["loadgen_cpu"], figures["loadgen_cpu_max"]) == (None, None)


def test_shares_of_the_clients_keep_every_senders_number_and_split_the_joins():
    shares = [Load(ChatAppWire(), ("127.0.0.1", 9), clients=21, senders=10, rate=1000,
                   duration=1, stalled=1, part=part, parts=2) for part in range(2)]
    assert [c.index for c in shares[0].sender_clients] == [0, 2, 4, 6, 8]
    assert [c.index for c in shares[1].sender_clients] == [1, 3, 5, 7, 9]
    assert [c.name for c in shares[0].clients if c.stalled] == ["u20"]
    assert sum(len(load.clients) for load in shares) == 21
    assert joins_in_flight(2) == [4, 4] and joins_in_flight(3) == [3, 3, 2]


@pytest.mark.system
def test_run_with_two_generator_processes_against_chat_app(tmp_path):
    out = tmp_path / "smoke.json"
    result = run_bench("smoke", "--servers", "chat_app", "--processes", "2", "--json", str(out))
    assert "load generator in 2 processes" in result.stdout
    (row,) = json.loads(out.read_text())["rows"]
    assert row["loadgen_processes"] == 2 and len(row["loadgen_cpu_each"]) == 2
    assert row["sent"] >= 40 and row["deliveries"] == row["expected"] == row["sent"] * 4
    assert (row["lost"], row["duplicated"], row["reordered"], row["errors"]) == (0, 0, 0, [])


@pytest.mark.system
def test_a_generator_process_that_hangs_or_dies_is_named_and_ended(tmp_path):
    silent = socket.socket()  # accepts (in its backlog) and never answers: joining hangs
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    settings = dict(clients=4, senders=1, rate=10, duration=1)
    try:
        for wire, word in (("chat_app", "sent no 'joined' within 0 s"),
                           ("no such wire", "ended before 'joined' (exit code 1)")):
            workers = Workers(2, wire, silent.getsockname(), settings)
            try:
                workers.gather("joined", 0.3 if wire == "chat_app" else 10)
            except RuntimeError as error:
                assert word in str(error) and "(PID %d)" % workers.members[0][0].pid in str(error)
            else:
                raise AssertionError("a worker that never joined must stop the run")
            finally:
                workers.end(0.0)
            assert not any(process.is_alive() for process, _ in workers.members)
    finally:
        silent.close()


def test_before_runs_chat_app_from_another_tree(tmp_path):
    from servers import chat_app_from
    missing = chat_app_from(str(tmp_path))
    assert missing.name == "before" and "no chat_app package" in missing.missing()
    (tmp_path / "chat_app").mkdir()
    (tmp_path / "chat_app" / "__main__.py").write_text("")
    before = chat_app_from(str(tmp_path))
    assert before.missing() is None
    server = before()
    try:
        assert server.environment()["PYTHONPATH"] == str(tmp_path)
    finally:
        os.rmdir(server.dir)  # made for the server's files; never started


def test_markdown_table_shows_what_the_run_printed():
    from markdown import markdown_table
    rows = [dict(server="chat_app", p99_ms=value, lost=0) for value in (2.0, 3.0, 9.0)]
    table = markdown_table({"rows": rows, "summary": {"chat_app": {}}, "repeat": 3})
    lines = table.splitlines()
    assert lines[0] == "| figure | chat_app |" and "| runs | 3 of 3 |" in lines
    assert "| p99 ms | 3.00 [2.00–9.00] |" in lines and "| lost | 0 |" in lines
