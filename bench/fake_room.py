"""Figures for docs/security.md: a fake "Lab 3" on the lab network, before and after.

    python3 bench/fake_room.py [SRC] [--runs N]

SRC is a source tree to build chat.pyz from (default: this one); to measure
an older version, export it first, e.g.
    git archive f1f910a | tar -x -C /tmp/main-src && python3 bench/fake_room.py /tmp/main-src
The lab is tests/discovery/test_fake_room_list.py's: a student, the teacher's real room
("Lab 3", password, TLS) and a machine posing as "Lab 3" with 23 people and
a fingerprint sharing the real one's first 8 digits, answering at once, and
as a room named with escape codes.  From the student it runs `chat.pyz
find` N times (default 10) and counts how often the fake comes first and
how many fingerprint digits are shown; then `client --text`, its input
piped, and counts the control characters of the fakes' answers that reach
its output.  Prints one JSON line.  Needs root and `ip` (tests/helpers.Lab:
198.18.0.0/24, removed at the end); every run is bounded by find's 1.5 s.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from helpers import Lab, ServerProcess, as_student  # noqa: E402
from test_fake_room_list import (CERT, KEY, PASSWORD, PORT, ROOM, FakeRooms,  # noqa: E402
                            control_characters)


def measure(pyz, work, runs):
    with Lab("student", "teacher", "fake") as lab:
        server = ServerProcess(sys.executable, pyz, "--port", str(PORT), "--room", ROOM,
                               "--password", PASSWORD, "--tls-cert", CERT, "--tls-key", KEY,
                               host="", cwd=work, prefix=lab.command("teacher"))
        fake = FakeRooms(lab, "fake")
        try:
            real_at = "at %s port %d" % (lab.address("teacher"), PORT)
            fake_at = "at %s port %d" % (lab.address("fake"), PORT)
            fake_first, digits = 0, set()
            for _ in range(runs):
                text = lab.run("student", [sys.executable, pyz, "find", "--timeout", "1.5"],
                               stdout=subprocess.PIPE, check=True).stdout.decode("utf-8")
                fake_first += text.index(fake_at) < text.index(real_at)
                digits.update(len(shown.replace(" ", "")) for shown in
                              re.findall(r"fingerprint begins ([0-9A-F ]+):", text))
            piped = lab.run("student", [sys.executable, pyz, "client", "--text", "--name", "cy"],
                            input=b"", capture_output=True,
                            env=dict(as_student(), HOME=work, USERPROFILE=work))
            shown = piped.stdout.decode("utf-8", "replace")
            return {"runs": runs, "fake_listed_first": fake_first,
                    "digits_shown": sorted(digits),
                    "control_characters_in_client_text": len(control_characters(shown)),
                    "of_them_esc": shown.count("\x1b"), "connections_to_the_fake":
                    len(fake.connections)}
        finally:
            fake.stop()
            server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source", nargs="?", default=os.path.dirname(HERE))
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="fake_room_")
    pyz = os.path.join(work, "chat.pyz")
    subprocess.run([sys.executable, os.path.join(options.source, "build_pyz.py"), "-o", pyz],
                   check=True, stdout=subprocess.DEVNULL, timeout=60)
    print(json.dumps(measure(pyz, work, min(max(options.runs, 1), 50))))


if __name__ == "__main__":
    main()
