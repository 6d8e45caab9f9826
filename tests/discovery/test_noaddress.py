"""Clients started without an address, for real, in a lab of network namespaces.

A client with no address broadcasts discovery queries, so every test here
runs the real chat.pyz only inside a helpers.Lab (198.18.0.0/15, removed at
the end): a teacher host running the server, a student host running the
client.  They need root, iproute2, the finder (chat_app/discovery/finder.py) and the
server's responder (chat_app/discovery/responder.py): helpers.require skips them on
a developer's machine without these and fails them in CI.  The same paths
with an injected search and no network are in test_join_form.py and
test_text_client.py.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers import WAIT, Lab, ServerProcess, require, wait_until

pytestmark = pytest.mark.system

# The port find asks first (discovery.SEARCH_PORTS), where the lab's room listens.
ROOM_PORT = "1234"


def require_discovery():
    for module in ("finder", "responder"):
        require(importlib.util.find_spec("chat_app.discovery." + module) is not None,
                "chat_app/discovery/%s.py (issue 12) for the no-address lab tests" % module)


@pytest.fixture
def lab():
    require_discovery()
    with Lab("teacher", "student") as made:
        yield made


def start_room(lab, pyz, directory, name="Lab 3", *args):
    """Run `chat.pyz server --room NAME` on the teacher's host, on port 1234."""
    return ServerProcess(sys.executable, pyz, "--room", name, "--port", ROOM_PORT, *args,
                         cwd=str(directory), host=lab.address("teacher"),
                         prefix=lab.command("teacher"))


def student_home(tmp_path, **remembered):
    """Return an environment whose home holds the student's remembered settings."""
    home = tmp_path / "student"
    home.mkdir()
    (home / ".chat_app.json").write_text(json.dumps(remembered))
    return dict(os.environ, HOME=str(home), USERPROFILE=str(home))


def test_text_client_without_an_address_joins_the_only_room(lab, pyz, tmp_path):
    server = start_room(lab, pyz, tmp_path)
    try:
        result = lab.run("student", [sys.executable, pyz, "client", "--text", "--name", "cy"],
                         input=b"hello from the lab\n", capture_output=True,
                         env=student_home(tmp_path))
        assert result.returncode == 0, result.stderr
        assert ("Found one room: Lab 3 (%s:%s); joining it." % (lab.address("teacher"), ROOM_PORT)
                in result.stdout.decode()), result.stdout
        server.wait_for(r"<cy> hello from the lab")
    finally:
        server.kill()


def test_text_client_with_no_room_says_what_find_says(lab, pyz, tmp_path):
    from chat_app.discovery.room_search import nothing_found
    result = lab.run("student", [sys.executable, pyz, "client", "--text", "--name", "cy"],
                     stdin=subprocess.DEVNULL, capture_output=True, env=student_home(tmp_path))
    assert result.returncode == 1
    said = result.stderr.decode()
    assert nothing_found().strip() in said
    assert "No chat room answered within 1.5 seconds (asked: ports 1234 to 1243)." in said


def xdotool(*args):
    return subprocess.run(["xdotool"] + list(args), capture_output=True, text=True,
                          timeout=WAIT).stdout.split()


def test_a_double_click_opens_the_window_and_enter_joins_the_only_room(
        lab, pyz, tmp_path, display):
    require(shutil.which("xdotool") is not None, "xdotool to press Enter in the window")
    server = start_room(lab, pyz, tmp_path)
    env = dict(student_home(tmp_path, name="cy"), DISPLAY=display)
    window = lab.popen("student", [sys.executable, pyz], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        found = wait_until(lambda: xdotool("search", "--name", "^chat_app$"), WAIT * 2,
                           "the client window to open")

        def joined():  # Enter joins once the search has listed (and preselected) the room
            if "cy joined" in server.out:
                return True
            xdotool("windowfocus", "--sync", found[0])
            xdotool("key", "--window", found[0], "Return")
            return False

        wait_until(joined, WAIT * 3, "the room found to be joined with Enter", interval=0.5)
        wait_until(lambda: xdotool("search", "--name", "cy in Lab 3"), WAIT,
                   "the room's name in the window title")
    finally:
        window.kill()
        window.wait(WAIT)
        server.kill()
