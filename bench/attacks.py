"""Figures for docs/security.md: connection floods, before and after a change.

    python3 bench/attacks.py tls [SRC]     # 400 half-done TLS handshakes from one lab address
    python3 bench/attacks.py ulimit [SRC]  # ulimit -n 128; 1000 loopback connections for 10 s
    python3 bench/attacks.py short [SRC]   # descriptors taken at run time; 1000 connections

SRC is a source tree to build chat.pyz from (default: this one); to compare
with an older version, export it first, e.g.
    git archive main | tar -x -C /tmp/main-src && python3 bench/attacks.py tls /tmp/main-src
Each scenario runs three times and prints one JSON line per run, then the
median of its main figure.  `tls` needs root and `ip` (tests/helpers.Lab
makes network namespaces numbered from 198.18.0.0/15 and removes them);
all else talks to 127.0.0.1.  Linux only (/proc).  Every flood is bounded
in count and time.
"""

import json
import os
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")
sys.path.insert(0, TESTS)

from helpers import Client, Lab, ServerProcess  # noqa: E402

LAB_CLIENTS = os.path.join(TESTS, "lab_clients.py")
CERT, KEY = os.path.join(TESTS, "data", "server.crt"), os.path.join(TESTS, "data", "server.key")
RUNS = 3
FLOOD = 1000          # connections in a descriptor flood
FLOOD_SECONDS = 10.0  # how long they are held
HANDSHAKES = 400      # half-done TLS handshakes from one address
PARTIAL_HELLO = "160301"  # the start of a TLS ClientHello, then nothing


def held(pid):
    """Return (threads, open descriptors) of a process."""
    return len(os.listdir("/proc/%d/task" % pid)), len(os.listdir("/proc/%d/fd" % pid))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tls(pyz, work):
    """400 half-done handshakes from one address; a student joins from another."""
    with Lab("server", "attacker", "student") as lab:
        host = lab.address("server")
        server = ServerProcess(sys.executable, pyz, "--tls-cert", CERT, "--tls-key", KEY,
                               "--max-clients", "300", "--join-timeout", "30", cwd=work,
                               host=host, prefix=lab.command("server"))
        pid = server.process.pid
        baseline, peak, stop = held(pid), [0, 0], threading.Event()

        def sample():
            while not stop.wait(0.005):
                peak[:] = [max(pair) for pair in zip(peak, held(pid))]

        sampler = threading.Thread(target=sample)
        sampler.start()
        attacker = lab.popen("attacker", [sys.executable, LAB_CLIENTS, "hold", host,
                                          str(server.port), str(HANDSHAKES), "--send",
                                          PARTIAL_HELLO, "--seconds", "30"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             universal_newlines=True)
        try:
            ready = attacker.stdout.readline().strip()
            joined = lab.run("student", [sys.executable, LAB_CLIENTS, "join", host,
                                         str(server.port), "amy", "--tls"],
                             stdout=subprocess.PIPE, universal_newlines=True)
            seconds = json.loads(joined.stdout)["seconds"] if joined.stdout else None
            time.sleep(3.0)  # the goodbyes and the handshakes' time-outs are over
            after = held(pid)
        finally:
            stop.set()
            sampler.join()
            attacker.kill()
            attacker.wait()
            lines = server.out.count("198.18.0.2")
            server.kill()
        return {"attacker": ready, "baseline": baseline, "peak": peak, "after_3s": after,
                "join_seconds": seconds, "console_lines": lines}


def flood(pyz, work, short):
    """Hold FLOOD loopback connections for FLOOD_SECONDS; a join during and after."""
    if short:  # plenty at start; taken away once two members are in
        server = ServerProcess(sys.executable, pyz, "--rate-limit", "0", "--max-clients",
                               "200", cwd=work)
    else:
        server = ServerProcess(sys.executable, pyz, "--rate-limit", "0", cwd=work,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                                     (128, 128)))
    pid = server.process.pid
    sockets = []
    try:
        amy, bob = Client(server.port), Client(server.port)
        amy.join("amy")
        bob.join("bob")
        if short:
            _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (held(pid)[1] + 10, hard))
        cpu, started = cpu_seconds(pid), time.monotonic()
        for _ in range(FLOOD):
            try:
                sockets.append(socket.create_connection(("127.0.0.1", server.port), 5))
            except OSError:
                pass
        during = try_join(server.port, "during", 5.0)
        amy.send({"type": "say", "text": "hi"})
        heard = bob.expect("message", timeout=5)["text"] == "hi"
        time.sleep(max(0.0, FLOOD_SECONDS - (time.monotonic() - started)))
        unanswered = sum(not select.select([sock], [], [], 0)[0] for sock in sockets)
        used, wall = cpu_seconds(pid) - cpu, time.monotonic() - started
        for sock in sockets:
            sock.close()
        closed, after = time.monotonic(), None
        while after is None and time.monotonic() - closed < 10:
            if try_join(server.port, "after", 1.0) == "welcome":
                after = round(time.monotonic() - closed, 3)
        return {"connected": len(sockets), "cpu_seconds": round(used, 2),
                "wall_seconds": round(wall, 2), "unanswered": unanswered, "join_during": during,
                "member_heard": heard, "join_after_seconds": after,
                "said_short": server.err.count("cannot take new connections")}
    finally:
        for sock in sockets:
            sock.close()
        server.kill()


def try_join(port, name, timeout):
    """Join once; return "welcome", an error code, "closed" or "timed out"."""
    try:
        client = Client(port)
        client.send({"type": "join", "name": name})
        frame = client.frame(timeout=timeout)
        client.close()
    except AssertionError:
        return "timed out"
    except OSError:
        return "closed"
    if frame is None:
        return "closed"
    return frame["type"] if frame["type"] != "error" else frame["code"]


SCENARIOS = {
    "tls": (lambda pyz, work: tls(pyz, work), "join_seconds"),
    "ulimit": (lambda pyz, work: flood(pyz, work, short=False), "cpu_seconds"),
    "short": (lambda pyz, work: flood(pyz, work, short=True), "cpu_seconds"),
}


def main():
    scenario, key = SCENARIOS[sys.argv[1]]
    source = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.dirname(HERE)
    work = tempfile.mkdtemp()
    pyz = os.path.join(work, "chat.pyz")
    subprocess.run([sys.executable, os.path.join(source, "build_pyz.py"), "-o", pyz],
                   check=True, stdout=subprocess.DEVNULL)
    runs = [scenario(pyz, work) for _ in range(RUNS)]
    for run in runs:
        print(json.dumps(run))
    print("median %s: %s" % (key, statistics.median(run[key] for run in runs)))


if __name__ == "__main__":
    main()
