#!/usr/bin/env python3
"""Make docs/screenshots/*.png from the real program on a virtual screen.

Needs Debian's xvfb, xdotool and imagemagick.  Builds chat.pyz, starts a
server on 127.0.0.1, fills the room with a few scripted people, opens the
window client, types into it with real X input, and captures the join
window and a busy chat window.  Everything it starts, it stops.

    python3 docs/make_screenshots.py
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "screenshots")
LOOPBACK = "127.0.0.1"


def run(*args):
    return subprocess.run(list(args), check=True, capture_output=True, text=True,
                          timeout=30).stdout


class Person:
    """A scripted member of the room, speaking the JSON protocol."""

    def __init__(self, port, name):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=5)
        self.say_frame({"type": "join", "name": name})

    def say_frame(self, frame):
        self.sock.sendall((json.dumps(frame) + "\n").encode("utf-8"))

    def say(self, text, to=None):
        frame = {"type": "say", "text": text}
        if to:
            frame["to"] = to
        self.say_frame(frame)
        time.sleep(0.15)


def start_xvfb():
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = ":" + xvfb.stdout.readline().decode().strip()
    return xvfb


def window_of(process):
    for _ in range(100):
        found = subprocess.run(["xdotool", "search", "--classname", "chat_app"],
                               capture_output=True, text=True).stdout.split()
        if found:
            return found[-1]
        time.sleep(0.1)
    raise SystemExit("the client window never appeared")


def main():
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="chat_shots_")
    pyz = os.path.join(work, "chat.pyz")
    run(sys.executable, os.path.join(ROOT, "build_pyz.py"), "-o", pyz)
    xvfb = start_xvfb()
    started = [xvfb]
    try:
        with open(os.path.join(work, "server.out"), "w") as out:
            server = subprocess.Popen([sys.executable, pyz, "server", "--host", LOOPBACK,
                                       "--port", "0"], stdout=out, stderr=subprocess.STDOUT)
        started.append(server)
        port = None
        for _ in range(100):
            found = re.search(r"port (\d+)", open(os.path.join(work, "server.out")).read())
            if found:
                port = int(found.group(1))
                break
            time.sleep(0.05)
        people = {name: Person(port, name) for name in ("Ben", "Chloé", "Dmitri", "Fatima")}
        people["Ben"].say("Morning all! Is the lab sheet for today online?")
        people["Chloé"].say("Yes, it's on the course page under week 7.")
        client = subprocess.Popen(
            [sys.executable, pyz, "client", "--host", LOOPBACK, "--port", str(port),
             "--name", "Amy"], env=dict(os.environ, HOME=work))
        started.append(client)
        window = window_of(client)
        time.sleep(1.0)
        run("import", "-window", window, os.path.join(OUT, "join.png"))
        run("xdotool", "windowfocus", "--sync", window)
        run("xdotool", "key", "--window", window, "Return")
        time.sleep(1.0)
        people["Dmitri"].say("Question 3 asks for the loop invariant. Amy, did you get it?")
        run("xdotool", "type", "--delay", "15", "I think it's: sum == total of a[0..i)")
        run("xdotool", "key", "Return")
        time.sleep(0.3)
        people["Fatima"].say("/me is still compiling \U0001F605")
        people["Ben"].say("Thanks Amy \U0001F44D that fixed my off-by-one")
        people["Chloé"].say("Can you check my answer after class?", to="Amy")
        run("xdotool", "type", "--delay", "15", "/msg Chloé sure, 3pm in room 204")
        run("xdotool", "key", "Return")
        time.sleep(0.3)
        people["Dmitri"].sock.close()
        time.sleep(0.5)
        run("xdotool", "type", "--delay", "15", "See you all on Friday")
        time.sleep(0.8)
        run("import", "-window", window, os.path.join(OUT, "chat.png"))
        run("xdotool", "key", "ctrl+q")
        client.wait(5)
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.terminate()
                process.wait(5)
    print("wrote %s and %s" % (os.path.join(OUT, "join.png"), os.path.join(OUT, "chat.png")))


if __name__ == "__main__":
    main()
