"""The real chat.pyz server answering discovery across machines, in a lab (helpers.Lab).

Every datagram here, broadcasts included, stays inside network namespaces
the tests make and remove (198.18.0.0/24): a teacher host and students.
The flood test prints the figures docs/security.md states.
"""

import json
import ssl
import subprocess
import sys

import pytest

from helpers import CERT, KEY, LAB_CLIENTS, WAIT, Lab, ServerProcess, wait_until
from test_abuse import require_proc
from chat_app import __version__
from chat_app.discovery import datagrams as discovery
from chat_app.discovery.responder import ANSWER_BURST, ANSWER_RATE
from chat_app.wire.tls import fingerprint

pytestmark = pytest.mark.system

# How long a query waits for answers that must not come (silence is
# only seen by waiting); an answer on the lab's bridge takes microseconds.
SILENCE_SECONDS = 0.7

JOIN = '{"type":"join","name":"amy"}\n'.encode().hex()


def query(lab, host, to, port, *args, wait=SILENCE_SECONDS, bind=None):
    """Run lab_clients' query on a lab host (from its lab address); return what it printed.

    An answer is awaited with answered(); silence takes SILENCE_SECONDS to see.
    """
    done = lab.run(host, [sys.executable, LAB_CLIENTS, "query", to, str(port),
                          "--bind", bind or lab.address(host), "--wait", str(wait)] + list(args),
                   stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return json.loads(done.stdout)


def answered(lab, host, to, port, bind=None):
    """Query until the one answer comes (WAIT at most); return what the query printed."""
    return query(lab, host, to, port, "--expect", "1", wait=WAIT, bind=bind)


def start(lab, pyz, tmp_path, name, *args, host=""):
    directory = tmp_path / name
    directory.mkdir()
    return ServerProcess(sys.executable, pyz, *args, cwd=str(directory), host=host,
                         prefix=lab.command("teacher"))


def joins(lab, student, address, port):
    done = lab.run(student, [sys.executable, LAB_CLIENTS, "join", address, str(port), "bea"],
                   stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return json.loads(done.stdout)["seconds"]


def test_a_student_finds_the_room_by_unicast_and_both_broadcasts_and_only_when_it_should(
        pyz, tmp_path):
    with open(CERT) as handle:
        expected_print = fingerprint(ssl.PEM_cert_to_DER_cert(handle.read()))
    with Lab("teacher", "student") as lab:
        teacher = lab.address("teacher")
        found = start(lab, pyz, tmp_path, "found", "--room", "Lab 3", "--password", "pw",
                      "--tls-cert", CERT, "--tls-key", KEY)
        quiet = start(lab, pyz, tmp_path, "quiet", "--no-discovery")
        local = start(lab, pyz, tmp_path, "local", host="127.0.0.1")
        chosen = start(lab, pyz, tmp_path, "chosen", host=teacher)
        try:
            assert "\nRoom: Lab 3 (listed in students' windows" in found.out
            for to in (teacher, "198.18.0.255", "255.255.255.255"):
                got = answered(lab, "student", to, found.port)
                assert got["count"] == 1, (to, got)
                source, port, text = got["answers"][0]
                assert (source, port) == (teacher, found.port)  # unicast, from the room's host
                assert discovery.parse_answer(text.encode()) == {
                    "room": "Lab 3", "port": found.port, "tls": True,
                    "fingerprint": expected_print, "password": True, "users": 0,
                    "version": __version__, "logged": False}
            # --no-discovery: silence, and the room is there all the same.
            assert query(lab, "student", teacher, quiet.port)["count"] == 0
            assert query(lab, "student", "198.18.0.255", quiet.port)["count"] == 0
            assert "not listed in students' windows: --no-discovery" in quiet.out
            nothing = lab.run("student", [sys.executable, pyz, "find", "--timeout", "1",
                                          "--port", str(quiet.port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
            assert nothing.returncode == 1  # and find says what to check, that among it
            assert "--no-discovery" in nothing.stdout + nothing.stderr
            assert joins(lab, "student", teacher, quiet.port) < WAIT
            # --host 127.0.0.1: this computer only.
            assert query(lab, "student", "198.18.0.255", local.port)["count"] == 0
            assert answered(lab, "teacher", "127.0.0.1", local.port,
                            bind="127.0.0.1")["count"] == 1
            # --host one address: its /24 finds it, broadcast and all.
            got = answered(lab, "student", "255.255.255.255", chosen.port)
            assert got["answers"][0][:2] == [teacher, chosen.port]
        finally:
            for server in (found, quiet, local, chosen):
                server.kill()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in USER_HZ ticks


def test_garbage_is_ignored_and_a_flood_gets_about_20_answers_a_second(pyz, tmp_path):
    require_proc()
    with Lab("teacher", "flooder", "student") as lab:
        teacher = lab.address("teacher")
        server = start(lab, pyz, tmp_path, "room", "--room", "Lab 3")
        holder = None
        try:
            holder = lab.popen("student", [sys.executable, LAB_CLIENTS, "hold", teacher,
                                           str(server.port), "1", "--send", JOIN],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            server.wait_for(r"amy joined")
            for junk in (b"\xff\xfe" * 20, b"not json", b'{"type": "room"}', b"[" * 1000,
                         b'{"type": "discover", "pad": "' + b"x" * 2000 + b'"}'):
                got = query(lab, "flooder", teacher, server.port, "--send", junk.hex())
                assert got["count"] == 0, junk
            answer = answered(lab, "flooder", teacher, server.port)
            assert json.loads(answer["answers"][0][2])["users"] == 1
            assert joins(lab, "flooder", teacher, server.port) < WAIT  # still serving

            # 5000 queries in 2 s from one address, while a student joins.
            pid = server.process.pid
            before = cpu_seconds(pid)
            flood = lab.popen("flooder", [
                sys.executable, LAB_CLIENTS, "query", teacher, str(server.port), "--bind",
                lab.address("flooder"), "--count", "5000", "--seconds", "2", "--wait", "0.5"],
                stdout=subprocess.PIPE, universal_newlines=True)
            join_seconds = joins(lab, "student", teacher, server.port)
            out, _ = flood.communicate(timeout=WAIT * 2)
            cpu = cpu_seconds(pid) - before
            got = json.loads(out)
            allowed = ANSWER_BURST + ANSWER_RATE * got["seconds"]
            print("\nflood: %d queries (%d bytes) in %.2f s got %d answers (%d bytes, %.0f "
                  "bytes/s, %.1f answers/s); one answer %d bytes for a %d-byte query; server "
                  "CPU %.2f s; a student joined in %.3f s meanwhile"
                  % (got["sent"], got["sent_bytes"], got["seconds"], got["count"], got["bytes"],
                     got["bytes"] / got["seconds"], got["count"] / got["seconds"],
                     got["bytes"] // max(1, got["count"]), len(discovery.QUERY_BYTES), cpu,
                     join_seconds))
            assert 0 < got["count"] <= allowed + 2
            assert got["bytes"] <= got["count"] * discovery.MAX_ANSWER_BYTES
            assert join_seconds < 1.0
            wait_until(lambda: server.process.poll() is None, WAIT, "the server to live on")
        finally:
            if holder is not None:
                holder.kill()
                holder.wait(WAIT)
            server.kill()

