"""The servers under test: how to start each on 127.0.0.1 and read its costs.

Each server runs as its own process on a free loopback port, started fresh
for every workload so that its peak RSS belongs to that workload alone.
CPU time and peak RSS come from /proc/PID/stat and /proc/PID/status.
A peer that is not installed is reported as missing; nothing is installed
from here.
"""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = "127.0.0.1"
START_SECONDS = 10.0

NGIRCD_CONFIG = """\
[Global]
Name = bench.invalid
Info = chat_app benchmark
Listen = {host}
Ports = {port}
PidFile = {dir}/ngircd.pid
MotdPhrase = bench
ServerUID = {uid}
ServerGID = {gid}

[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 16
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600

[Options]
DNS = no
Ident = no
PAM = no
"""


def free_port():
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class Server:
    """One server process under test."""

    wire = "irc"

    def __init__(self, python=None):
        self.python = python or sys.executable
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="chat-bench-")
        self.process = None

    @classmethod
    def missing(cls):
        """Return why this server cannot run here, or None if it can."""
        return None

    def command(self):
        raise NotImplementedError

    def start(self):
        out = open(os.path.join(self.dir, "server.out"), "wb")
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.dir,
                                        env=self.environment())
        out.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("%s exited at start: %s" % (self.name, self.output()))
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("%s did not listen within %g s" % (self.name, START_SECONDS))

    def environment(self):
        return dict(os.environ)

    def output(self):
        with open(os.path.join(self.dir, "server.out"), "rb") as out:
            return out.read()[-2000:].decode("utf-8", "replace")

    def cpu_seconds(self):
        """Return the process's user+system CPU seconds so far."""
        with open("/proc/%d/stat" % self.process.pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def context_switches(self):
        """Return how often the process's threads have left a CPU so far.

        Voluntary (it waited: for input, a lock, the interpreter lock) and
        not (the scheduler preferred another), summed over the threads
        alive now: a thread that has ended is no longer counted.
        """
        total = 0
        task_dir = "/proc/%d/task" % self.process.pid
        for task in os.listdir(task_dir):
            try:
                with open(os.path.join(task_dir, task, "status")) as status:
                    for line in status:
                        if line.startswith(("voluntary_ctxt_switches:",
                                            "nonvoluntary_ctxt_switches:")):
                            total += int(line.split()[1])
            except (OSError, ValueError):
                pass  # the thread ended meanwhile
        return total

    def peak_rss_mib(self):
        """Return the process's peak resident memory (VmHWM) in MiB."""
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        return None

    def threads(self):
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return None

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


class ChatApp(Server):
    name = "chat_app"
    wire = "chat_app"
    repo = REPO  # the tree whose chat_app package runs

    def command(self):
        return [self.python, "-m", "chat_app", "server", "--host", LOOPBACK,
                "--port", str(self.port), "--rate-limit", "0", "--max-clients", "10000",
                "--quiet"]  # printing every message would be measured too

    def environment(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = self.repo
        return env


def chat_app_from(directory):
    """Return a server class for chat_app's server from another tree, named "before".

    For a change's before and after in the same run, alternating like the
    peers: the tree of the commit before it, e.g. from `git worktree add`.
    """
    directory = os.path.abspath(directory)

    class Before(ChatApp):
        name = "before"
        repo = directory

        @classmethod
        def missing(cls):
            if os.path.isfile(os.path.join(directory, "chat_app", "__main__.py")):
                return None
            return "%s holds no chat_app package" % directory

    return Before


class Ngircd(Server):
    name = "ngircd"

    @classmethod
    def missing(cls):
        if shutil.which("ngircd") or os.path.exists("/usr/sbin/ngircd"):
            return None
        return "ngircd is not installed (Debian: apt-get install ngircd)"

    def command(self):
        config = os.path.join(self.dir, "ngircd.conf")
        with open(config, "w") as out:
            out.write(NGIRCD_CONFIG.format(host=LOOPBACK, port=self.port, dir=self.dir,
                                           uid=os.getuid(), gid=os.getgid()))
        binary = shutil.which("ngircd") or "/usr/sbin/ngircd"
        return [binary, "--nodaemon", "--config", config]


class Miniircd(Server):
    name = "miniircd"

    @classmethod
    def missing(cls):
        if importlib.util.find_spec("miniircd") or shutil.which("miniircd"):
            return None
        return "miniircd is not installed (pip install miniircd)"

    def command(self):
        if importlib.util.find_spec("miniircd"):
            command = [sys.executable, "-m", "miniircd"]
        else:
            command = [shutil.which("miniircd")]
        command += ["--listen", LOOPBACK, "--ports", str(self.port)]
        if os.getuid() == 0:
            command += ["--setuid", "root"]  # miniircd refuses to run as root otherwise
        return command


class FloorRelay(ChatApp):
    """bench/floor_relay.py: a thread per connection and nothing else (a reference, not a peer)."""

    name = "floor"

    def command(self):
        return [self.python, os.path.join(REPO, "bench", "floor_relay.py"), str(self.port)]


SERVERS = {"chat_app": ChatApp, "ngircd": Ngircd, "miniircd": Miniircd}

# Run only when named in --servers: what the peers are measured against, not a peer.
REFERENCES = {"floor": FloorRelay}
