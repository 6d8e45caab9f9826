"""A fake room on the lab network (issue 25): the list of rooms cannot be gamed.

The lab (helpers.Lab, 198.18.0.0/24, removed at the end): a student
(198.18.0.1) runs `chat.pyz find` and `chat.pyz client --text`; the
teacher's host (198.18.0.2) runs the real `chat.pyz server --room "Lab 3"`
with a password and TLS; another student's machine (198.18.0.3) poses as
rooms (lab_clients.py fake-room): on port 1234 as "Lab 3" with 23 people, a
password and a TLS fingerprint whose first 8 digits are the real room's,
answering every query at once; on port 1235 as a room whose name carries
escape codes (a title change, an OSC 52 clipboard write, clear-screen).

What must hold: the rooms come in their fixed order (name, address, port),
whatever the fake claims or however fast it answers; both "Lab 3" rooms
are marked, each with its address; 16 fingerprint digits are shown; no
control byte of the fake's name reaches the terminal; and nothing is sent
to an encrypted room found in the list before the student says its digits
match the board.  The words are spelt out here, as a student reads them.
"""

import json
import re
import ssl
import subprocess
import sys
import threading
import unicodedata

import pytest

from helpers import CERT, KEY, LAB_CLIENTS, Lab, ServerProcess, WAIT, as_student, wait_until
from test_text_client import PtyClient
from chat_app.wire import tls

pytestmark = pytest.mark.system


with open(CERT) as _handle:
    REAL = tls.fingerprint(ssl.PEM_cert_to_DER_cert(_handle.read())).replace(":", "")

# The fake's fingerprint: the real room's first 8 digits (a certificate made
# to match them took seconds), every later digit different.
FAKE = REAL[:8] + "".join("%X" % (15 - int(digit, 16)) for digit in REAL[8:])

ROOM, PASSWORD, PORT, ESCAPES_PORT = "Lab 3", "room-pw-42", 1234, 1235
ESCAPE_NAME = ("Lab 3\x1b]0;Lab 3 - pwned\x07\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2J\x1b[H"
               "\x9b2J\u202e")
FAKE_ANSWERS = {
    str(PORT): {"type": "room", "room": ROOM, "port": PORT, "tls": True,
                "fingerprint": ":".join(FAKE[i:i + 2] for i in range(0, 64, 2)),
                "password": True, "users": 23, "version": "0.1"},
    str(ESCAPES_PORT): {"type": "room", "room": ESCAPE_NAME, "port": ESCAPES_PORT,
                        "tls": False, "fingerprint": None, "password": False, "users": 5,
                        "version": "0.1\x1b[2J"},
}

SAME_NAME_MARK = "[same name]"
CHECK_PROMPT = "Do all 16 digits match the board? Type y to join, n if not [y/N]: "


def sixteen(digits):
    return tls.grouped(digits, 16)


def control_characters(text):
    """Return the control characters (C0 but line ends, DEL, C1) in text a terminal got."""
    return [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\r\n"]


class FakeRooms:
    """lab_clients.py fake-room on a lab host; `connections` are the ports connected to."""

    def __init__(self, lab, host):
        self.process = lab.popen(host, [sys.executable, LAB_CLIENTS, "fake-room",
                                        json.dumps(FAKE_ANSWERS)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdout.readline() == b"ready\n"
        self.connections = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.connections.append(int(line.split()[1]))

    def stop(self):
        self.process.stdin.close()
        self.process.wait(WAIT)
        self._reader.join(WAIT)


@pytest.fixture(scope="module")
def lab(pyz, tmp_path_factory):
    with Lab("student", "teacher", "fake") as made:
        server = ServerProcess(sys.executable, pyz, "--port", str(PORT), "--room", ROOM,
                               "--password", PASSWORD, "--tls-cert", CERT, "--tls-key", KEY,
                               host="", cwd=str(tmp_path_factory.mktemp("teacher")),
                               prefix=made.command("teacher"))
        fake = FakeRooms(made, "fake")
        made.server, made.fake = server, fake
        try:
            yield made
        finally:
            fake.stop()
            server.stop()


@pytest.fixture
def student_env(tmp_path):
    """A student's computer: no settings remembered, no teacher token."""
    return dict(as_student(), HOME=str(tmp_path), USERPROFILE=str(tmp_path))


def places(lab):
    return lab.address("teacher") + ":%d" % PORT, lab.address("fake") + ":%d" % PORT


def test_find_lists_both_lab_3_in_order_marked_with_16_digits_and_no_escape_codes(lab, pyz):
    result = lab.run("student", [sys.executable, pyz, "find", "--timeout", "1.5"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    text = result.stdout.decode("utf-8")
    assert result.returncode == 0, text
    assert control_characters(text) == [], text
    real, fake = lab.address("teacher"), lab.address("fake")
    names = [line for line in text.splitlines() if line.startswith(SAME_NAME_MARK)]
    assert names == [SAME_NAME_MARK + " Lab 3  (0 people)",  # 198.18.0.2: first, by address
                     SAME_NAME_MARK + " Lab 3  (23 people)"], text
    assert text.index("at %s port %d" % (real, PORT)) < text.index("at %s port %d" % (fake, PORT))
    assert ('! More than one room is called "Lab 3" (at %s and %s).' % places(lab)
            in " ".join(text.split())), text  # wrapped to the terminal's width
    for digits in (REAL, FAKE):
        assert "fingerprint begins %s: compare it" % sixteen(digits) in text, text


class PtyStudent(PtyClient):
    """`chat.pyz client --text` on the lab's student host, on a pseudo-terminal of its own."""

    def __init__(self, lab, pyz, env, *args):
        self.start(lab.command("student") + [sys.executable, pyz, "client", "--text"]
                   + list(args), env=env)

    def number_of(self, place):
        """Return the number the list gives the room at `place` (address:port)."""
        return re.search(r"(\d+)\. [^\n]*%s" % re.escape(place), self.text()).group(1)


def check_list(student, lab):
    """Check the numbered list the terminal shows: order, marks, 16 digits, clean names."""
    text = student.text()
    real, fake = places(lab)
    assert student.number_of(real) == "1" and student.number_of(fake) == "2", text
    for place, digits in ((real, REAL), (fake, FAKE)):
        row = re.search(r"\d+\. [^\n]*%s" % re.escape(place), text).group(0)
        assert re.match(r"\d+\. %s Lab 3 \u2014 " % re.escape(SAME_NAME_MARK), row), row
        assert "fingerprint begins %s" % sixteen(digits) in row, row
    assert '! More than one room is called "Lab 3" (at %s and %s).' % places(lab) in text, text


def test_client_text_asks_before_the_fake_gets_anything_and_no_escape_reaches_it(
        lab, pyz, student_env):
    student = PtyStudent(lab, pyz, student_env, "--name", "cy")
    try:
        student.wait_for("Which room? Type its number (1-3): ", WAIT * 2)
        check_list(student, lab)
        student.type(student.number_of(places(lab)[1]))  # the fake, with its 23 people
        student.wait_for(CHECK_PROMPT)
        shown = student.text()
        assert shown.index(sixteen(FAKE)) < shown.rindex(CHECK_PROMPT)
        student.type("n")
        student.wait_for("Not joined, and nothing was sent to it.")
        student.wait_for("Choose another room from the list")
        wait_until(lambda: student.text().count("Which room? Type its number (1-3): ") == 2,
                   what=lambda: "the list asked again:\n" + student.text())
        student.keys("\x04")  # Ctrl+D: no room after all
        assert student.process.wait(WAIT) == 1
        assert lab.fake.connections == []  # the fake got not even a connection
        assert control_characters(student.text()) == [], student.text()
    finally:
        student.finish()


def test_client_text_joins_the_real_room_once_its_digits_are_confirmed(lab, pyz, student_env):
    student = PtyStudent(lab, pyz, student_env, "--name", "dee", "--password", PASSWORD)
    try:
        student.wait_for("Which room? Type its number (1-3): ", WAIT * 2)
        student.type(student.number_of(places(lab)[0]))
        student.wait_for(CHECK_PROMPT)
        assert "      %s\r\n" % sixteen(REAL) in student.text()
        student.type("y")
        lab.server.wait_for(r"dee joined")
        student.wait_for("Welcome, dee!", WAIT * 2)
    finally:
        student.finish()


def test_client_text_piped_gives_the_addresses_and_no_escape_codes(lab, pyz, student_env):
    result = lab.run("student", [sys.executable, pyz, "client", "--text", "--name", "cy"],
                     input=b"", capture_output=True, env=student_env)
    out, err = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    assert result.returncode == 1 and "several rooms answered" in err, (out, err)
    assert control_characters(out + err) == [], out
    for place in places(lab):
        assert place in out, out
    assert lab.fake.connections == []
