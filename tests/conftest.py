import os
import selectors
import shutil
import socket
import subprocess
import sys

import pytest

# Tests sit in folders that mirror chat_app's packages; the shared helpers
# (helpers.py, lab_clients.py ...) sit here, and some tests borrow fixtures
# from a test module in another folder, so every folder is on the path.
TESTS = os.path.dirname(os.path.abspath(__file__))
for _entry in sorted(os.listdir(TESTS)):
    if os.path.isdir(os.path.join(TESTS, _entry)) and _entry not in ("data", "__pycache__"):
        sys.path.insert(0, os.path.join(TESTS, _entry))
sys.path.insert(0, TESTS)

from helpers import IN_CI, WAIT, RunningServer, build_pyz, require


def pytest_configure(config):
    if IN_CI and not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError("CI needs pytest-timeout: pip install pytest-timeout")


SYSTEM_HINT = ("starts %s: mark the test module system (pytestmark = pytest.mark.system), so "
               "that python3 -m pytest -m 'not system' stays the fast layer")


@pytest.fixture(autouse=True)
def fast_layer_starts_nothing(request, monkeypatch):
    """Fail a test not marked system that starts a process, a listening server or a Tk window."""
    if request.node.get_closest_marker("system"):
        return

    def refuse(what):
        def refused(*args, **kwargs):
            raise AssertionError(SYSTEM_HINT % what)
        return refused

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("a process"))
    monkeypatch.setattr(socket.socket, "listen", refuse("a server"))
    try:
        import tkinter
    except ImportError:
        return
    monkeypatch.setattr(tkinter.Tk, "__init__", refuse("a Tk window"))


@pytest.fixture(autouse=True, scope="session")
def scratch_home(tmp_path_factory):
    """Keep the clients' settings file out of the real home directory."""
    home = str(tmp_path_factory.mktemp("home"))
    saved = {key: os.environ.get(key) for key in ("HOME", "USERPROFILE")}
    os.environ["HOME"] = os.environ["USERPROFILE"] = home
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def make_server():
    servers = []

    def make(*args):
        server = RunningServer(*args)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture(scope="session")
def pyz(tmp_path_factory):
    """chat.pyz built by build_pyz.py, alone in an empty directory."""
    return build_pyz(str(tmp_path_factory.mktemp("lab")))


@pytest.fixture(scope="session")
def display():
    """An X display for the GUI tests: the one in use, or an Xvfb of our own."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    require(xvfb is not None, "Xvfb for the GUI tests (apt-get install xvfb)")
    process = subprocess.Popen(
        [xvfb, "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ready = selectors.DefaultSelector()
    ready.register(process.stdout, selectors.EVENT_READ)
    if not ready.select(WAIT * 2):
        process.kill()
        pytest.fail("Xvfb did not start within %g s" % (WAIT * 2))
    number = process.stdout.readline().decode().strip()
    os.environ["DISPLAY"] = ":" + number
    yield os.environ["DISPLAY"]
    del os.environ["DISPLAY"]
    process.terminate()
    process.wait(WAIT)
