"""The benchmark's load generator: a short real run, and its accounting.

No timing is asserted here (docs/benchmarks.md has the figures); these
tests check that the generator runs and counts losses, duplicates and
reordering correctly, so that a clean table means a clean run.
"""

import os
import subprocess
import sys

from helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))

from loadgen import ChatAppWire, IrcWire, Load  # noqa: E402


def test_a_short_run_against_chat_app_loses_and_reorders_nothing(make_server):
    server = make_server("--rate-limit", "0")
    load = Load(ChatAppWire(), ("127.0.0.1", server.port),
                clients=5, senders=2, rate=40, duration=1.0)
    try:
        figures = load.run()
    finally:
        load.close_all()
    assert figures["sent"] >= 30
    assert figures["expected"] == figures["sent"] * 4  # everyone but the sender
    assert figures["deliveries"] == figures["expected"]
    assert (figures["lost"], figures["duplicated"], figures["reordered"]) == (0, 0, 0)
    assert figures["errors"] == []
    assert figures["p50_ms"] is not None and figures["p50_ms"] <= figures["max_ms"]


def test_a_stalled_client_is_reported_as_cut_off(make_server):
    server = make_server("--rate-limit", "0")
    load = Load(ChatAppWire(), ("127.0.0.1", server.port), clients=3, senders=1,
                rate=1000, duration=2.5, size=3900, stalled=1)
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
    load.sender_clients = [load.clients[0]]
    load.sent = load.clients[0].sent = 5
    return load.figures(0.0, 0.0)


def test_the_generator_counts_what_a_faulty_server_would_do():
    clean = counted(1, 2, 3, 4, 5)
    assert (clean["lost"], clean["duplicated"], clean["reordered"]) == (0, 0, 0)
    faulty = counted(1, 3, 2, 2, 5)  # 2 late, 2 twice, 4 never
    assert (faulty["lost"], faulty["duplicated"], faulty["reordered"]) == (1, 1, 1)
    assert faulty["deliveries"] == 5
    assert counted(1, 2)["lost"] == 3  # the last three never came


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


def test_run_prints_a_table_for_chat_app(tmp_path):
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "run.py"), "smoke",
         "--servers", "chat_app", "--json", str(out)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deliv/s" in result.stdout and "chat_app" in result.stdout
    assert '"lost": 0' in out.read_text()
