"""No student machine can erase or bury the lesson's record, nor swamp the teacher with hands.

Each attack comes from one lab host (helpers.Lab, 198.18.0.0/24), where
per-address limits and the log's per-source share apply (this computer's
own connections are exempt); the teacher joins on loopback inside the
server's namespace, as on the teacher's own computer.  The clients are
tests/lab_clients.py.  Figures print with -s (docs/security.md has them).
"""

import glob
import json
import os
import subprocess
import sys

import pytest

from helpers import LAB_CLIENTS, WAIT, Lab, ServerProcess
from chat_app.relay.history_log import MIN_MAX_SIZE, ROTATED_LOGS_KEPT
from chat_app.wire.protocol import MAX_SERVER_FRAME_BYTES

pytestmark = pytest.mark.system  # real servers, processes or sockets


# How long an attack client may run: generous for a busy 2-core machine.
ATTACK_SECONDS = 120


def lab_server(lab, pyz, tmp_path, *args):
    """Start chat.pyz server on the lab's server host, on every address it has.

    With --rate-limit 0: one computer's rate (tests/relay/test_sanctions.py) would
    stretch these attacks to many minutes (every hand and message spends a
    token); off, what is tested here is the log's share and the hands alone,
    as a teacher who turned the rate off would have them.
    """
    return ServerProcess(sys.executable, pyz, "--no-discovery", "--rate-limit", "0", *args,
                         cwd=str(tmp_path), host="0.0.0.0", prefix=lab.command("server"))


def client(lab, host, *args, **kwargs):
    """Start a lab client on `host`, its output read line by line."""
    return lab.popen(host, [sys.executable, LAB_CLIENTS] + [str(arg) for arg in args],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True,
                     **kwargs)


def finish(process):
    """Close a lab client's input, and return what it printed last, as JSON."""
    out, _ = process.communicate(timeout=ATTACK_SECONDS)
    assert process.returncode == 0, out
    return json.loads(out.strip().splitlines()[-1])


def read_until(process, prefix, at_least=0):
    """Read a lab client's lines until "PREFIX N" with N >= at_least; return N."""
    while True:
        line = process.stdout.readline()
        assert line, "the lab client ended before printing %r" % prefix
        words = line.split()
        if words[0] == prefix and int(words[1]) >= at_least:
            return int(words[1])


def written_bytes(pid):
    """Return the bytes a process has written with write() so far (files, its console)."""
    with open("/proc/%d/io" % pid) as handle:
        return int(next(line for line in handle if line.startswith("wchar:")).split()[1])


def log_records(path):
    """Return the records of a log and its older files, oldest file first."""
    records = []
    for name in sorted(glob.glob(glob.escape(path) + "*"), reverse=True):
        with open(name, "rb") as handle:
            records += [json.loads(line) for line in handle if line.strip()]
    return records


def test_one_machine_under_many_names_cannot_erase_the_lesson_from_the_log(pyz, tmp_path):
    """The issue's attack 2, scaled: throwaway names with hands up and toggling, and a flood."""
    log = str(tmp_path / "lesson.log")
    with Lab("server", "attacker", "student") as lab:
        server = lab_server(lab, pyz, tmp_path, "--log", log, "--log-max-size", "64K",
                            "--history", "10")
        try:
            host, port = lab.address("server"), server.port
            attacker = client(lab, "attacker", "throwaway", host, port, 2000, "--toggles", 1,
                              "--says", 1, "--chars", 600)
            lesson = []
            try:
                read_until(attacker, "joined", 600)
                lesson = [client(lab, "student", "talk", host, port, "amy", 20,
                                 "--interval", 0.05),
                          client(lab, "server", "talk", "127.0.0.1", port, "ms_lee", 20,
                                 "--interval", 0.05, "--teacher")]
                talked = [finish(talker) for talker in lesson]
                more = read_until(attacker, "joined") + 300  # the attack goes on after the lesson
                read_until(attacker, "joined", more)
                attack = finish(attacker)
                written = written_bytes(server.process.pid) - len(server.out) - len(server.err)
            finally:
                for process in [attacker] + lesson:
                    if process.poll() is None:
                        process.kill()
                        process.wait(WAIT)
            server.stop()
        finally:
            server.kill()  # nothing once it stopped; no orphan server after a failure
    records = log_records(log)
    said = {record["text"] for record in records if record["type"] == "message"}
    lesson_texts = {"%s %d" % (name, number) for name in ("amy", "ms_lee") for number in range(20)}
    files = glob.glob(glob.escape(log) + "*")
    on_disk = sum(os.path.getsize(name) for name in files)
    print("\none machine, %d throwaway names (hands up, toggled, 1 message of 600 each), "
          "--log-max-size 64K: %d bytes written to the log, %d on disk in %d files; "
          "%d of %d lesson messages in the log"
          % (attack["joined"], written, on_disk, len(files), len(lesson_texts & said),
             len(lesson_texts)))
    assert [answer["echoed"] for answer in talked] == [20, 20]
    assert lesson_texts <= said
    assert "the oldest log file" not in server.out  # nothing rotated away
    assert on_disk <= 3 * MIN_MAX_SIZE and len(files) <= ROTATED_LOGS_KEPT
    [cut] = [record for record in records if record["type"] == "log_cut"]
    assert cut["address"] == lab.address("attacker")
    assert records[-2]["type"] == "log_left_out" and records[-2]["records"] > 0
    assert "the log keeps nothing more from %s" % cut["address"] in server.err
    snapshots = [record for record in records if record["type"] == "saved_state"]
    assert max(len(json.dumps(record)) for record in snapshots) < 4096  # no one's hands left


def then_the_teacher(pyz, tmp_path, attack, *teacher):
    """Run an attack from a lab host, then the teacher (loopback) once it holds its names.

    Return (the attack's JSON, the teacher's JSON, the server's console).
    """
    with Lab("server", "attacker") as lab:
        server = lab_server(lab, pyz, tmp_path)
        try:
            attacker = client(lab, "attacker", "throwaway", lab.address("server"), server.port,
                              *attack)
            try:
                read_until(attacker, "holding")
                joined = lab.run("server", [sys.executable, LAB_CLIENTS, "teacher", "127.0.0.1",
                                            str(server.port), "ms_lee"] + list(teacher),
                                 stdout=subprocess.PIPE, universal_newlines=True,
                                 timeout=ATTACK_SECONDS)
                answer = finish(attacker)
            finally:
                if attacker.poll() is None:
                    attacker.kill()
                    attacker.wait(WAIT)
            server.stop()
        finally:
            server.kill()  # nothing once it stopped; no orphan server after a failure
    return answer, json.loads(joined.stdout), server.out


def test_thousands_of_throwaway_hands_leave_the_teachers_welcome_small(pyz, tmp_path):
    """3000 names raise a hand and drop their line: the hands go down with them."""
    attack, joined, _ = then_the_teacher(pyz, tmp_path, (3000, "--keep", 20, "--batch", 20))
    print("\n%d throwaway names raised a hand and left, %d stayed: the teacher's welcome is "
          "%d bytes with %d hands" % (attack["joined"], attack["kept"],
                                      joined["welcome_bytes"], joined["hands"]))
    assert attack["joined"] >= 2500 and attack["kept"] == 20
    assert joined["role"] == "teacher"
    assert joined["hands"] == 20  # those still in the room, and no one else
    assert joined["welcome_bytes"] <= MAX_SERVER_FRAME_BYTES // 100


def test_the_teacher_lowers_a_machines_worth_of_hands_at_once(pyz, tmp_path):
    attack, lowered, console = then_the_teacher(pyz, tmp_path, (0, "--keep", 40),
                                                "--lower-all")
    print("\n%d hands up from one machine: one lower_all answered with %r after %d hand frames; "
          "%d students told" % (lowered["hands"], lowered["answer"], lowered["hand_frames"],
                                attack["lowered"]))
    assert lowered["hands"] == 40
    assert lowered["answer"]["type"] == "hands_lowered" and lowered["answer"]["count"] == 40
    assert lowered["hand_frames"] == 0  # one frame for the teacher, not one per hand
    assert attack["lowered"] == 40  # each student is told their hand is down
    assert "The teacher lowered every raised hand (40 hands)." in console
