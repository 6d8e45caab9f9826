"""The built chat.pyz under every Python: it runs on 3.8 and newer, and says
clearly that it needs 3.8 on anything older."""

import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT, WAIT, Client, Lab, ServerProcess, as_student, pyenv_python, require
from test_names import LOOK_ALIKES, MIXED, REAL_NAMES

pytestmark = pytest.mark.system

SUPPORTED = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
TOO_OLD = ["2.7", "3.6", "3.7"]


def interpreter(version):
    python = pyenv_python(version)
    require(python is not None, "Python %s (expected under ~/.pyenv/versions)" % version)
    return python


@pytest.mark.parametrize("version", SUPPORTED)
def test_chat_pyz_serves_and_chats(version, pyz):
    python = interpreter(version)
    result = subprocess.run([python, pyz, "--version"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == "chat_app 0.1"
    window_modules = subprocess.run(
        [python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import chat_app.client_gui, chat_app.client.link", pyz],
        capture_output=True, text=True, timeout=30)
    assert window_modules.returncode == 0, window_modules.stderr
    server = ServerProcess(python, pyz)
    try:
        amy = Client(server.port)
        amy.join("amy")
        person = Client(server.port)
        person.send_raw("bøb\n".encode("utf-8"))
        amy.expect("joined", name="bøb")
        client = subprocess.Popen(
            [python, pyz, "client", "--text", "--host", "127.0.0.1", "--port",
             str(server.port), "--name", "cy"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        amy.expect("joined", name="cy")
        amy.send({"type": "say", "text": "hello 😀"})
        amy.expect("message", text="hello 😀")  # relayed (so cy gets it) before cy leaves
        out, err = client.communicate(b"hi from %s\n" % version.encode(), timeout=WAIT * 2)
        assert client.returncode == 0, err
        assert amy.expect("message", text="hi from %s" % version)["from"] == "cy"
        assert amy.expect("left", name="cy")["reason"] == "quit"
        assert "<amy> hello 😀" in out.decode("utf-8")
        person.send_raw(b"/msg amy private\n")
        assert amy.expect("message", text="private")["to"] == "amy"
        status, took = server.stop()
        assert status == 0 and took < 2
        assert amy.expect("bye")["reason"] == "The server is shutting down."
        assert server.err == ""
    finally:
        server.kill()


# Runs the name rules inside chat.pyz (argv: the archive, the names as JSON) and
# prints, for each name, what check_name made of it and its look_alike_key, or
# the refusal.
NAME_RULES = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from chat_app.wire.names import check_name, look_alike_key
from chat_app.wire.protocol import ProtocolError
answers = []
for name in json.loads(sys.argv[2]):
    try:
        answers.append([check_name(name), look_alike_key(name)])
    except ProtocolError as error:
        answers.append([error.code, error.message])
print(json.dumps(answers))
"""


@pytest.mark.parametrize("version", SUPPORTED)
def test_the_name_rules_are_the_same_on_every_python(version, pyz):
    """Python 3.8's unicodedata is Unicode 12.1, 3.13's 15.1: the tables (Unicode 17) agree."""
    names = REAL_NAMES + [name for name, _ in MIXED] + sum(LOOK_ALIKES, [])
    expected = subprocess.run([sys.executable, "-c", NAME_RULES, pyz, json.dumps(names)],
                              capture_output=True, text=True, timeout=30)
    result = subprocess.run([interpreter(version), "-c", NAME_RULES, pyz, json.dumps(names)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(expected.stdout)


@pytest.mark.parametrize("version", SUPPORTED)
def test_chat_pyz_proves_both_passwords(version, pyz):
    python = interpreter(version)
    server = ServerProcess(python, pyz, "--password", "room-pw-42", "--teacher-password",
                           "T-secret-7", "--no-discovery")
    try:
        result = subprocess.run(
            [python, pyz, "client", "--text", "--host", "127.0.0.1", "--port", str(server.port),
             "--name", "ann", "--password", "room-pw-42", "--teacher-password", "T-secret-7"],
            input="", capture_output=True, text=True, timeout=30, env=as_student())
        assert result.returncode == 0, result.stderr
        assert "You are a teacher in this room." in result.stdout
        server.wait_for(r"ann joined \(127\.0\.0\.1\) as a teacher")
    finally:
        server.kill()


@pytest.mark.parametrize("version", TOO_OLD)
@pytest.mark.parametrize("args", [[], ["server"], ["client", "--text", "127.0.0.1"]])
def test_older_pythons_get_one_clear_line(version, args, pyz):
    python = interpreter(version)
    if args:
        result = subprocess.run([python, pyz] + args, capture_output=True, text=True,
                                timeout=30)
    else:  # what a double-click runs would look for rooms: only ever inside a lab
        with Lab("student") as lab:
            result = lab.run("student", [python, pyz], capture_output=True, text=True,
                             timeout=30)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "needs Python 3.8 or newer, but this is Python %s." % version in result.stderr
    assert "for example: python3.11 %s." % pyz in result.stderr  # how to run a newer one
    assert "python.org" in result.stderr
    assert "Traceback" not in result.stderr and "SyntaxError" not in result.stderr


@pytest.mark.parametrize("version", TOO_OLD)
def test_the_advice_on_windows_uses_the_py_launcher(version, pyz):
    python = interpreter(version)
    main = os.path.join(ROOT, "chat_app", "__main__.py")
    pretend = ("import sys; sys.platform = 'win32'; sys.argv = ['chat.pyz']; "
               "exec(compile(open(%r).read(), 'chat.pyz', 'exec'))" % main)
    result = subprocess.run([python, "-c", pretend], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "for example: py -3.11 chat.pyz." in result.stderr, result.stderr
