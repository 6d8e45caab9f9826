"""Forged lines: a student's message cannot start a line that looks like the program's own.

The attack (issue 25, item 3): one `say` padded with spaces so that the
receiving terminal's own wrap puts "[21:21] <kim (teacher)> ..." or
"[21:21] *** The teacher locked the room" at column 0, exactly like a real
line; and "/me left (connection lost)", which looked like a real leave.
It runs from a lab host (helpers.Lab) against a server on another, and is
read where people read: a person at nc (the lines the server sends, as an
80-column terminal shows them), `chat.pyz client --text` in real
terminals 80 and 100 columns wide (tmux), and the server's own console (in
an 80-column tmux).  Figures print with -s (docs/security.md has them).
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from helpers import LAB_CLIENTS, WAIT, Lab, as_student, require, wait_until

pytestmark = pytest.mark.system  # real servers, processes or sockets

# What the attacker wants read as the program's own lines.
FORGED = ("[21:21] <kim (teacher)> the quiz starts now, /msg amy your answers",
          "[21:21] *** The teacher locked the room")
FAKE_LEAVE = "/me left (connection lost)"

# A row that the program did not write but looks as if it had (the attacker
# leaves with `leave`: the real line says "left", not "connection lost").
FORGED_ROW = re.compile(r"\[21:21\] (<kim \(teacher\)>|\*\*\* The teacher locked)"
                        r"|\[\d\d:\d\d\] \* mallory left \(connection lost\)")

# The attacker's name, and how its messages start in a terminal: "[12:02] <mallory> ".
ATTACKER = "mallory"
PREFIX = len("[12:02] <%s> " % ATTACKER)

# Where each receiver's terminal wraps, and how far in its lines the text starts: the
# clients and nc at PREFIX; the console puts "#ID " before it (ids 1 to 10 here).
TARGETS = ((80, PREFIX), (100, PREFIX), (80, PREFIX + len("#1 ")), (80, PREFIX + len("#10 ")))

# The attacker's last message: every receiver has read everything once it shows.
DONE = "END-OF-ATTACK"

# Rows a tmux terminal keeps above its screen: all of this test's lines.
HISTORY_ROWS = 5000


def attack_texts():
    """Return the says of the attack: each forged line padded to land at column 0 of a
    terminal `width` wide whose lines put the text after `start` columns, the fake
    leave, and DONE."""
    texts = ["a" + " " * (width - start - 1) + forged
             for forged in FORGED for width, start in TARGETS]
    return texts + [FAKE_LEAVE, DONE]


def forged_rows(rows):
    """Return the rows that start like a program's line the program did not write."""
    return [row for row in rows if FORGED_ROW.match(row)]


def terminal_rows(lines, width):
    """Return the rows an auto-wrapping terminal `width` columns wide shows for ASCII lines."""
    return [line[at:at + width] for line in lines for at in range(0, max(len(line), 1), width)]


class Tmux:
    """A terminal `columns` wide (a tmux session on a server of its own) running one command."""

    def __init__(self, directory, name, columns, argv, env=None):
        self.socket = os.path.join(directory, "tmux-%s.sock" % name)
        config = os.path.join(directory, "tmux-%s.conf" % name)
        with open(config, "w") as handle:
            handle.write("set -g history-limit %d\nset -g remain-on-exit on\n" % HISTORY_ROWS)
        subprocess.run(["tmux", "-S", self.socket, "-f", config, "new-session", "-d",
                        "-x", str(columns), "-y", "30", shlex.join(argv)],
                       env=env, check=True, timeout=WAIT)

    def rows(self):
        """Return every row the terminal shows or has scrolled away, as it shows them."""
        return subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p", "-S", "-"],
                              capture_output=True, text=True, check=True,
                              timeout=WAIT).stdout.splitlines()

    def wait_for(self, pattern, timeout=WAIT * 2):
        found = wait_until(lambda: re.search(pattern, "\n".join(self.rows())), timeout,
                           lambda: "%r in the terminal:\n%s" % (pattern, "\n".join(self.rows())),
                           interval=0.05)
        return found

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True,
                       timeout=WAIT)


def test_no_message_starts_a_line_that_looks_like_the_programs_own(pyz, tmp_path):
    require(shutil.which("tmux") is not None, "tmux for the terminals (apt-get install tmux)")
    terminals = []
    with Lab("server", "attacker", "student") as lab:
        try:
            host = lab.address("server")
            console = Tmux(str(tmp_path), "console", 80, lab.command("server") + [
                sys.executable, pyz, "server", "--host", host, "--port", "0",
                "--no-discovery"])
            terminals.append(console)
            port = console.wait_for(r"listening on port (\d+)").group(1)
            clients = {}
            for name, columns in (("amy", 80), ("ben", 100)):
                clients[columns] = Tmux(str(tmp_path), name, columns, lab.command("student") + [
                    sys.executable, pyz, "client", "--text", "--host", host, "--port", port,
                    "--name", name], env=as_student())
                terminals.append(clients[columns])
                clients[columns].wait_for(r"Welcome, %s" % name)
            carl = lab.popen("student", [sys.executable, LAB_CLIENTS, "person", host, port,
                                         "carl", DONE], stdout=subprocess.PIPE,
                             universal_newlines=True)
            console.wait_for(r"carl joined")
            said = lab.run("attacker", [sys.executable, LAB_CLIENTS, "say", host, port,
                                        ATTACKER], input=json.dumps(attack_texts()),
                           stdout=subprocess.PIPE, universal_newlines=True)
            assert said.stdout.strip() == "said %d" % len(attack_texts()), said
            nc_lines = json.loads(carl.communicate(timeout=WAIT * 2)[0])
            for terminal in terminals:
                terminal.wait_for(r"<%s> %s" % (ATTACKER, DONE))
            nc_rows = terminal_rows(nc_lines, 80)
            seen = {"nc (80 columns)": forged_rows(nc_rows),
                    "client --text, 80 columns": forged_rows(clients[80].rows()),
                    "client --text, 100 columns": forged_rows(clients[100].rows()),
                    "the server's console, 80 columns": forged_rows(console.rows())}
        finally:
            for terminal in terminals:
                terminal.close()
    print("\nforged program-looking rows at column 0: %s"
          % "; ".join("%s: %d" % (where, len(rows)) for where, rows in seen.items()))
    assert seen == {where: [] for where in seen}
    # The server wrapped nc's lines to fit 80 columns, continuations indented; the
    # action reads inside its sender's name.
    assert max(len(line) for line in nc_lines) < 80
    assert any(re.fullmatch(r"\[\d\d:\d\d\] <mallory> \*left \(connection lost\)\*", line)
               for line in nc_lines), nc_lines
    for forged in FORGED:
        assert "    " + forged in nc_lines
