"""Test helpers: an in-process server, raw clients, chat.pyz subprocesses, a lab network.

Everything talks to 127.0.0.1 only, or inside the network namespaces a
Lab makes (addresses from 198.18.0.0/15 only) and removes.  Every wait
is bounded.
"""

import contextlib
import ctypes
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# The test certificates and the lab's client script, for every test folder.
DATA = os.path.join(ROOT, "tests", "data")
CERT, KEY = os.path.join(DATA, "server.crt"), os.path.join(DATA, "server.key")
LAB_CLIENTS = os.path.join(ROOT, "tests", "lab_clients.py")

from chat_app.cli import build_parser  # noqa: E402
from chat_app.relay.listener import start_server  # noqa: E402
from chat_app.terminal.console import Console  # noqa: E402

import pytest  # noqa: E402

LOOPBACK = "127.0.0.1"
IN_CI = os.environ.get("CI", "").lower() == "true"
WAIT = 5.0  # seconds any single expected event may take before a test fails


def wait_until(condition, timeout=WAIT, what=None, interval=0.01):
    """Return condition()'s first true value, checking until `timeout` seconds pass.

    The one way tests wait for something observable; on time-out the test
    fails with `what` (a string, or a callable giving one) in the message.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError("waited %gs for %s" % (timeout, described or condition))
        time.sleep(interval)


# Where the clients look for a teacher token when a test runs them as a
# student: an empty directory.  The tests' servers write their token files in
# the tests' home, where a client run by the same user finds them and joins
# as the teacher (teacher_id.join_fields), as the teacher's own laptop does.
STUDENTS_HOME = tempfile.mkdtemp(prefix="chat_app-student-")


def as_student(env=None):
    """Return the environment of a client run on a student's computer (no teacher token)."""
    return dict(env or os.environ, CHAT_APP_HOME=STUDENTS_HOME)


def require(condition, why):
    """Skip on a developer's machine, but fail in CI, when a prerequisite is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail("missing in CI: " + why)
    pytest.skip(why)


def screen(raw):
    """Return the rows a terminal shows after printing `raw` (CR, LF, BS and text)."""
    rows, row, column = [[]], 0, 0
    for char in raw:
        if char == "\r":
            column = 0
        elif char == "\n":
            row += 1
            if row == len(rows):
                rows.append([])
        elif char == "\b":
            column = max(0, column - 1)
        else:
            line = rows[row]
            line.extend(" " * (column - len(line)))
            line[column:column + 1] = [char]
            column += 1
    return ["".join(line).rstrip() for line in rows]


def wait_rows(rows, patterns, timeout=WAIT):
    """Wait until the last of rows() (a terminal's screen) match these patterns, in order."""
    def matches():
        last = rows()[-len(patterns):]
        return len(last) == len(patterns) and all(
            re.fullmatch(pattern, row) for pattern, row in zip(patterns, last))
    wait_until(matches, timeout, lambda: "the last rows to be %r; the screen:\n%s"
               % (patterns, "\n".join(rows())))


def server_options(*args):
    """Parse `chat.pyz server` options, bound to a free loopback port."""
    return build_parser().parse_args(["server", "--host", LOOPBACK, "--port", "0"] + list(args))


class Lines(io.TextIOBase):
    """A thread-safe text sink that remembers what the server printed."""

    def __init__(self):
        self._lock = threading.Lock()
        self._text = []

    def write(self, text):
        with self._lock:
            self._text.append(text)
        return len(text)

    def flush(self):
        pass

    @property
    def text(self):
        with self._lock:
            return "".join(self._text)

    def wait_for(self, pattern, timeout=WAIT):
        return wait_until(lambda: re.search(pattern, self.text), timeout,
                          lambda: "%r to be printed; output was:\n%s" % (pattern, self.text))


class FailsOnce:
    """A method of a class, whose first call raises: a bug in a round."""

    def __init__(self, monkeypatch, cls, name):
        self.failed = False
        self.method = getattr(cls, name)
        monkeypatch.setattr(cls, name, self)

    def __get__(self, instance, owner):
        return lambda *args: self.call(instance, *args)

    def call(self, instance, *args):
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug in a round")
        return self.method(instance, *args)


class RunningServer:
    """A ChatServer serving in a background thread of the test process."""

    def __init__(self, *args):
        self.out, self.err = Lines(), Lines()
        self.options = server_options(*args)
        self.server = start_server(self.options, Console(self.out, self.err))
        self.port = self.server.server_address[1]
        self.room = self.server.room
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def client(self, **kwargs):
        return Client(self.port, **kwargs)

    def wait_connections(self, count, timeout=WAIT):
        wait_until(lambda: self.room.connection_count() == count, timeout,
                   lambda: "%d connections (there are %d)"
                   % (count, self.room.connection_count()))

    def close(self):
        self.server.shutdown()
        self.server.stop()
        self._thread.join(WAIT)


class Client:
    """A raw protocol client over a real socket."""

    def __init__(self, port, host=LOOPBACK, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(WAIT)
        self.sock.connect((host, port))
        self._buffer = b""

    def send(self, frame):
        self.send_raw((json.dumps(frame) + "\n").encode("utf-8"))

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self, timeout=WAIT):
        """Return the next line (bytes, no newline), or None at end of stream."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no complete line within %gs; have %r"
                                     % (timeout, self._buffer[:200]))
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                if self._buffer:
                    rest, self._buffer = self._buffer, b""
                    return rest
                return None
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def read_text(self, timeout=WAIT):
        line = self.read_line(timeout)
        return None if line is None else line.decode("utf-8")

    def frame(self, timeout=WAIT):
        """Return the next JSON frame, or None at end of stream."""
        line = self.read_line(timeout)
        return None if line is None else json.loads(line.decode("utf-8"))

    def expect(self, kind, timeout=WAIT, **fields):
        """Skip frames until one of `kind` (with these fields) arrives; return it."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            frame = self.frame(max(0.01, deadline - time.monotonic()))
            if frame is None:
                raise AssertionError("connection closed waiting for %s; saw %r" % (kind, seen))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame
            seen.append(frame)

    def expect_error(self, code, timeout=WAIT):
        frame = self.expect("error", timeout)
        assert frame["code"] == code, frame
        assert frame["message"], frame
        return frame

    def join(self, name, **extra):
        frame = {"type": "join", "name": name}
        frame.update(extra)
        self.send(frame)
        return self.expect("welcome")

    def assert_closed(self, timeout=WAIT):
        """Read until the server closes; return what came before."""
        rest = []
        while True:
            line = self.read_line(timeout)
            if line is None:
                return rest
            rest.append(line)

    def reset(self):
        """Vanish abruptly: close with an RST instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        self.sock.close()

    def close(self):
        self.sock.close()


# --- chat.pyz in a subprocess ---------------------------------------------

def build_pyz(directory):
    """Build chat.pyz into `directory` with build_pyz.py; return its path."""
    path = os.path.join(directory, "chat.pyz")
    subprocess.run([sys.executable, os.path.join(ROOT, "build_pyz.py"), "-o", path],
                   check=True, stdout=subprocess.DEVNULL, timeout=60)
    return path


class ServerProcess:
    """`python chat.pyz server ...` run as a person would, output in files."""

    def __init__(self, python, pyz, *args, cwd=None, stdin=subprocess.DEVNULL, preexec_fn=None,
                 host=LOOPBACK, prefix=()):
        """`prefix` goes before the command (a Lab's command() runs it in a namespace)."""
        self.cwd = cwd or os.path.dirname(pyz)
        self.out_path = os.path.join(self.cwd, "server.out")
        self.err_path = os.path.join(self.cwd, "server.err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.process = subprocess.Popen(
                list(prefix) + [python, pyz, "server", "--host", host, "--port", "0"]
                + list(args),
                cwd=self.cwd, stdout=out, stderr=err, stdin=stdin, preexec_fn=preexec_fn)
        found = self.wait_for(r"listening on port (\d+)")
        self.port = int(found.group(1))

    @property
    def out(self):
        with open(self.out_path, encoding="utf-8") as handle:
            return handle.read()

    @property
    def err(self):
        with open(self.err_path, encoding="utf-8") as handle:
            return handle.read()

    def wait_for(self, pattern, timeout=WAIT * 2):
        found = wait_until(
            lambda: re.search(pattern, self.out) or self.process.poll() is not None, timeout,
            lambda: "the server to print %r\nstdout:\n%s\nstderr:\n%s"
            % (pattern, self.out, self.err), interval=0.02)
        if found is True:
            raise AssertionError("the server exited (status %s) before printing %r\n"
                                 "stdout:\n%s\nstderr:\n%s"
                                 % (self.process.returncode, pattern, self.out, self.err))
        return found

    def stop(self, sig=signal.SIGINT, timeout=WAIT):
        """Send a signal; return (exit status, seconds it took to exit)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        status = self.process.wait(timeout)
        return status, time.monotonic() - started

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(WAIT)


# Found before the tests point HOME at a scratch directory (see conftest.py).
PYENV_VERSIONS = os.path.expanduser("~/.pyenv/versions")


def pyenv_python(version):
    """Return the pyenv interpreter for 'X.Y', or None if it is not installed."""
    base = PYENV_VERSIONS
    if not os.path.isdir(base):
        return None
    for name in sorted(os.listdir(base)):
        if name == version or name.startswith(version + "."):
            path = os.path.join(base, name, "bin", "python")
            if os.path.exists(path):
                return path
    return shutil.which("python" + version)


# --- a lab network: Linux network namespaces on one bridge -------------------

# The benchmarking block (RFC 2544): the only addresses a lab uses.
LAB_PREFIX = "198.18.0."
LAB_PREFIX_LENGTH = 24

# setns(2)'s flag for a network namespace, and where `ip netns` keeps them.
CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"


class Lab:
    """Hosts, each a Linux network namespace, joined by a bridge; removed on exit.

        with Lab("server", "attacker", "student") as lab:
            lab.address("server")                      # "198.18.0.1"
            lab.popen("attacker", [sys.executable, ...])

    The bridge lives in a namespace of its own and every host has one veth
    link to it (eth0, 198.18.0.N/24, N from 1 in the order given), so
    nothing is added to this machine's own network.  Everything made is
    removed when the block ends, also when a test fails.  Needs root and
    iproute2's `ip` (helpers.require: skipped on a developer's machine
    without them, a failure in CI).
    """

    def __init__(self, *hosts):
        self.hosts = list(hosts)
        stem = "chatlab%d-%d" % (os.getpid(), id(self) % 100000)
        self._hub = stem + "-hub"
        self._namespaces = {host: "%s-%s" % (stem, host) for host in self.hosts}
        self._made = []

    def __enter__(self):
        require(shutil.which("ip") is not None, "iproute2's 'ip' for the network lab")
        require(hasattr(os, "geteuid") and os.geteuid() == 0, "root for the network lab")
        try:
            self._make()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *unused):
        self.remove()

    def _make(self):
        self._namespace(self._hub)
        _ip("-n", self._hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", self._hub, "link", "set", "br0", "up")
        for number, host in enumerate(self.hosts, 1):
            namespace = self._namespaces[host]
            self._namespace(namespace)
            port = "port%d" % number
            _ip("-n", self._hub, "link", "add", port, "type", "veth",
                "peer", "name", "eth0", "netns", namespace)
            _ip("-n", self._hub, "link", "set", port, "master", "br0", "up")
            _ip("-n", namespace, "addr", "add",  # brd +: the broadcast address, as DHCP sets it
                "%s/%d" % (self.address(host), LAB_PREFIX_LENGTH), "brd", "+", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")

    def _namespace(self, name):
        _ip("netns", "add", name)
        self._made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def add_dead_end(self, host, address, default_route=False):
        """Give a host a second adapter, dead0 with address/24, that leads nowhere.

        Its other end stays, unconnected, in the bridge's namespace: what
        leaves by it is lost, as on a VPN or a second Wi-Fi that does not
        reach the room.  With default_route, the host's default route (and
        so any broadcast not tied to an address) goes that way.
        """
        namespace = self._namespaces[host]
        end = "dead%d" % (self.hosts.index(host) + 1)
        _ip("-n", self._hub, "link", "add", end, "type", "veth",
            "peer", "name", "dead0", "netns", namespace)
        _ip("-n", self._hub, "link", "set", end, "up")
        _ip("-n", namespace, "addr", "add", address + "/24", "brd", "+", "dev", "dead0")
        _ip("-n", namespace, "link", "set", "dead0", "up")
        if default_route:
            _ip("-n", namespace, "route", "add", "default", "dev", "dead0")

    def address(self, host):
        """Return a host's address (198.18.0.N)."""
        return LAB_PREFIX + str(self.hosts.index(host) + 1)

    def command(self, host):
        """Return the prefix that runs a command on a host (as the same process: same PID)."""
        return ["ip", "netns", "exec", self._namespaces[host]]

    @contextlib.contextmanager
    def inside(self, host):
        """Run the block on a host: this thread alone enters its namespace meanwhile.

        A socket made in the block belongs to that host for good, whichever
        thread uses it later, so one test can hold a server and clients on
        different hosts:

            with lab.inside("server"):
                server = RunningServer("--host", "")      # listens on the lab
            with lab.inside("student"):
                amy = server.client(host=lab.address("server"))
        """
        libc = ctypes.CDLL(None, use_errno=True)
        here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            there = os.open(os.path.join(NETNS_DIR, self._namespaces[host]), os.O_RDONLY)
            try:
                _setns(libc, there)
                try:
                    yield
                finally:
                    _setns(libc, here)
            finally:
                os.close(there)
        finally:
            os.close(here)

    def popen(self, host, argv, **kwargs):
        """Start a command on a host; return its subprocess.Popen."""
        return subprocess.Popen(self.command(host) + list(argv), **kwargs)

    def run(self, host, argv, timeout=WAIT * 4, **kwargs):
        """Run a command on a host to its end; return its subprocess.CompletedProcess."""
        return subprocess.run(self.command(host) + list(argv), timeout=timeout, **kwargs)

    def remove(self):
        """Remove every namespace made (their links go with them)."""
        while self._made:
            subprocess.run(["ip", "netns", "del", self._made.pop()],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=WAIT)


def _setns(libc, descriptor):
    """Move this thread into the network namespace open at `descriptor`."""
    if libc.setns(descriptor, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, "setns: %s" % os.strerror(error))


def _ip(*args):
    subprocess.run(("ip",) + args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=WAIT)


def take_unsaved_file(log_name):
    """Return (path, lines) of the file where a stopping server saved what its log could
    not take, and remove it (the tests share one home folder: conftest.scratch_home)."""
    home = os.path.expanduser("~")
    found = [name for name in os.listdir(home) if name.startswith(log_name + ".unsaved-")]
    assert len(found) == 1, found
    path = os.path.join(home, found[0])
    with open(path, "rb") as handle:
        lines = handle.readlines()
    os.remove(path)
    return path, lines
