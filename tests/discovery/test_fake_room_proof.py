"""A fake room learns no password, and a relay gets no one in (issue 25, item 1).

The issue's attack: a student runs a fake "Lab 3"; a classmate who picks
it joined it with the room password and the teacher password in the join,
and under TLS the classmate had pinned the fake's own certificate (8
digits of a fingerprint can be matched in seconds).  Here, in a lab of
three hosts (tests/helpers.Lab), the real room runs on one with both
passwords, the fake (tests/fake_room.py, written from docs/protocol.md
alone) on another, recording every byte it receives, and the real clients
on the third are given the fake's address and both passwords: the terminal
client (`chat.pyz client --text`) and the window's network side
(client.link.Link, through tests/lab_clients.py).  The recording
must hold neither password in any form, the client must say "This is not
the room it claims to be", and what was recorded must open nothing at the
real room.  A relay that passes a join on to the real room in real time is
refused by the channel binding.
"""

import base64
import json
import os
import subprocess
import sys

import pytest

from helpers import DATA, LAB_CLIENTS, ROOT, WAIT, Lab, ServerProcess, as_student

pytestmark = pytest.mark.system

ROOM_PASSWORD, TEACHER_PASSWORD = "room-pw-42", "T-secret-7"  # the issue's
REAL_CERT = (os.path.join(DATA, "server.crt"), os.path.join(DATA, "server.key"))
FAKE_CERT = (os.path.join(DATA, "other.crt"), os.path.join(DATA, "other.key"))
FAKE_ROOM = os.path.join(ROOT, "tests", "fake_room.py")

NOT_THE_ROOM = "This is not the room it claims to be"


def fingerprint(cert):
    import hashlib
    import ssl
    with open(cert) as handle:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest()


def forms(secret):
    """Return every spelling of a secret a recording could give it away in."""
    raw = secret.encode("utf-8")
    spelled = {raw, raw.hex().encode(), raw.hex().upper().encode(),
               secret.encode("utf-16-le"), secret.encode("utf-16-be")}
    for offset in range(3):  # base64 at each alignment, the part that is the secret's alone
        encoded = base64.b64encode(bytes(offset) + raw)
        start, end = -(-offset // 3) * 4, (offset + len(raw)) // 3 * 4
        spelled.add(encoded[start:end])
        spelled.add(base64.urlsafe_b64encode(bytes(offset) + raw)[start:end])
    return spelled


def given_away(recording):
    """Return the spellings of either password that a recording holds."""
    return sorted(form for secret in (ROOM_PASSWORD, TEACHER_PASSWORD)
                  for form in forms(secret) if form in recording)


class Rooms:
    """The real room on host "server" and a fake (or relay) on host "fake"."""

    def __init__(self, lab, pyz, tmp_path, tls):
        self.lab, self.tls = lab, tls
        self.record = str(tmp_path / "recording")
        open(self.record, "wb").close()
        args = ["--password", ROOM_PASSWORD, "--teacher-password", TEACHER_PASSWORD,
                "--no-discovery"]
        if tls:
            args += ["--tls-cert", REAL_CERT[0], "--tls-key", REAL_CERT[1]]
        real_dir = tmp_path / "real"
        real_dir.mkdir()
        self.real = ServerProcess(sys.executable, pyz, *args, cwd=str(real_dir),
                                  host=lab.address("server"), prefix=lab.command("server"))
        self.fake = None

    def start_fake(self, mode, *extra):
        command = [sys.executable, FAKE_ROOM, mode, self.lab.address("fake"), self.record]
        if self.tls:
            command += ["--tls"] + list(FAKE_CERT)
        self.fake = self.lab.popen("fake", command + list(extra), stdout=subprocess.PIPE)
        self.fake_port = int(self.fake.stdout.readline().split()[1])

    def start_relay(self):
        extra = [self.lab.address("server"), str(self.real.port)]
        self.start_fake("relay", *(extra + (["--target-tls"] if self.tls else [])))

    def recording(self):
        with open(self.record, "rb") as handle:
            return handle.read()

    def text_client(self):
        """Run `chat.pyz client --text` on the student's host, at the fake; return it ended."""
        command = [sys.executable, self.pyz, "client", "--text", "--host",
                   self.lab.address("fake"), "--port", str(self.fake_port), "--name", "amy",
                   "--password", ROOM_PASSWORD, "--teacher-password", TEACHER_PASSWORD]
        if self.tls:  # the student pinned the fake's certificate, as the did
            command += ["--tls", "--tls-fingerprint", fingerprint(FAKE_CERT[0])]
        return self.lab.run("student", command, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, env=as_student(), timeout=WAIT * 4)

    def window_session(self):
        """Join the fake as the window's network side does; return its events."""
        command = [sys.executable, LAB_CLIENTS, "session", self.lab.address("fake"),
                   str(self.fake_port), "amy", "--password", ROOM_PASSWORD,
                   "--teacher-password", TEACHER_PASSWORD]
        if self.tls:
            command += ["--pin", fingerprint(FAKE_CERT[0])]
        done = self.lab.run("student", command, capture_output=True, text=True,
                            env=as_student(), timeout=WAIT * 4)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    def replay(self):
        """Play what the fake recorded to the real room, from the fake's host; return its answers."""
        command = [sys.executable, FAKE_ROOM, "replay", self.record, self.lab.address("server"),
                   str(self.real.port)] + (["--tls"] if self.tls else [])
        done = self.lab.run("fake", command, capture_output=True, text=True, timeout=WAIT * 4)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def stop(self):
        if self.fake is not None and self.fake.poll() is None:
            self.fake.kill()
            self.fake.wait(WAIT)
        self.real.kill()


@pytest.fixture
def rooms(pyz, tmp_path):
    made = []

    def make(tls):
        lab = Lab("server", "fake", "student")
        lab.__enter__()
        try:
            made.append((lab, Rooms(lab, pyz, tmp_path, tls)))
        except BaseException:
            lab.remove()
            raise
        made[-1][1].pyz = pyz
        return made[-1][1]

    yield make
    for lab, made_rooms in made:
        try:
            made_rooms.stop()
        finally:
            lab.remove()


def assert_replay_opens_nothing(rooms):
    answers = rooms.replay()
    assert answers and answers[-1]["type"] == "error", answers
    assert answers[-1]["code"] in ("bad_password", "bad_teacher"), answers
    assert " joined (" not in rooms.real.out


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_a_fake_room_learns_no_password_from_the_terminal_client(rooms, tls):
    rooms = rooms(tls)
    rooms.start_fake("fake")
    done = rooms.text_client()
    recording = rooms.recording()
    assert b'"type": "join"' in recording or b'"type":"join"' in recording  # it did reach the fake
    assert given_away(recording) == [], recording[:600]
    assert done.returncode == 1, done.stdout + done.stderr
    assert NOT_THE_ROOM in done.stderr, done.stdout + done.stderr
    assert "check the address against the board and tell the teacher" in done.stderr.lower()
    assert "Welcome" not in done.stdout
    assert_replay_opens_nothing(rooms)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_a_fake_room_learns_no_password_from_the_window(rooms, tls):
    rooms = rooms(tls)
    rooms.start_fake("fake")
    events = rooms.window_session()
    assert given_away(rooms.recording()) == [], rooms.recording()[:600]
    kind, value = events[-1]
    assert kind == "refused" and value[1].startswith(NOT_THE_ROOM), events
    assert_replay_opens_nothing(rooms)


def test_a_fake_room_that_asks_for_nothing_is_refused_too(rooms):
    rooms = rooms(False)
    rooms.start_fake("fake", "--asks-nothing")  # a fake lesson, for a student who has the password
    done = rooms.text_client()
    assert given_away(rooms.recording()) == [], rooms.recording()[:600]
    assert done.returncode == 1, done.stdout + done.stderr
    assert NOT_THE_ROOM in done.stderr and "without asking for the room's password" in \
        done.stderr, done.stderr
    assert "Welcome" not in done.stdout


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_a_relay_to_the_real_room_gets_no_one_in(rooms, tls):
    rooms = rooms(tls)
    rooms.start_relay()
    done = rooms.text_client()
    assert given_away(rooms.recording()) == [], rooms.recording()[:600]
    assert done.returncode == 1, done.stdout + done.stderr
    assert "through another computer" in done.stderr and "--tls-cert" in done.stderr, \
        done.stderr
    rooms.real.wait_for(r"refused amy \(198\.18\.0\.2\): its password proof was made for "
                        r"another address")
    assert " joined (" not in rooms.real.out
