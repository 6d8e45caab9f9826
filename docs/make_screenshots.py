#!/usr/bin/env python3
"""Make docs/screenshots/*.png from the real program on a virtual screen.

Needs Debian's xvfb, xdotool and imagemagick.  Builds chat.pyz, starts a
server on 127.0.0.1 (its terminal a pty, so the teacher's commands work),
fills the room with a lesson's worth of scripted people, opens the window
client on an 800x600 screen and drives it with real X input (keys, the
mouse wheel, clicks).  It captures, in docs/screenshots/:

    join.png          the join form
    history.png       just joined a room with a long history: the view is at the end
    chat.png          after sending (a wrapped and a multi-line message hang-indented)
    scrolled.png      scrolled up while new messages came: the "N new messages" marker
    kicked.png        removed by the teacher: the reason and a Rejoin button
    disconnected.png  the server stopped: the user list greyed, reconnecting
    password.png      the server came back with --password: the password bar
    password-wait.png after a classmate's wrong guesses, the password is checked slowly
    chat-1280.png     the busy chat again, on a 1280x800 screen
    rooms.png         `chat.pyz` with no address: the rooms found on the network
    rooms-same-name.png  a student's machine has started a second "Lab 3": both marked
    rooms-check.png   joining the encrypted room from the list: its 16 digits to compare
    teach.png         `chat.pyz teach` just started: how students join, above the chat
    teach-class.png   the teacher's window with a class: two hands up, a student muted
    teach-room-menu.png  the teacher's Room menu open
    teach-user-menu.png  a student's menu in the teacher's window (a right-click)
    encrypted-now.png    the room came back encrypted: the bar asks for the fingerprint
    new-certificate.png  the room came back with another certificate: the same, with the old digits
    not-encrypted.png    the room came back unencrypted: the bar asks before joining it
    not-the-room.png     a fake room at the room's address cannot prove the password

rooms*.png need root and iproute2: a client without an address broadcasts
discovery queries, so that window runs only inside a lab of Linux network
namespaces (tests/helpers.Lab, 198.18.0.0/24, removed at the end), with
the rooms' servers on a teacher host in the same lab.  Without root the
script says so and leaves rooms*.png as they are.

Everything it starts, it stops.

    python3 docs/make_screenshots.py                          # every screen
    python3 docs/make_screenshots.py rooms --out /tmp/shots   # some, elsewhere
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "screenshots")
LOOPBACK = "127.0.0.1"
WAIT = 10.0  # seconds anything may take before the script gives up

# Time for Tk to draw after an event we cannot observe from outside.
SETTLE = 0.8

SMALL_SCREEN, LARGE_SCREEN = "800x600", "1280x800"

LESSON = [
    ("Ben", "Morning all! Is the lab sheet for today online?"),
    ("Chloé", "Yes, it's on the course page under week 7."),
    ("Dmitri", "Do we hand in the answers or just show them in the lab?"),
    ("Fatima", "Show them, I think. The sheet says 'demonstrate to a tutor'."),
    ("Ben", "Question 1 is fine. Question 2: what does 'stable sort' mean again?"),
    ("Chloé", "Equal keys keep their order. Python's sorted() is stable."),
    ("Dmitri", "/me is reading the lecture notes again"),
    ("Fatima", "Question 2 wants the running time too. O(n log n)?"),
    ("Ben", "Yes for merge sort, the worst case as well."),
    ("Chloé", "My insertion sort is O(n²) but fast on the nearly sorted input, "
              "which is exactly what part (c) asks you to explain, so measure it "
              "with a sorted list, a reversed list and a shuffled one and compare."),
]


def run(*args):
    return subprocess.run(list(args), check=True, capture_output=True, text=True,
                          timeout=30).stdout


def wait_for(condition, what):
    deadline = time.monotonic() + WAIT
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit("gave up waiting for " + what)
        time.sleep(0.05)


class Person:
    """A scripted member of the room, speaking the JSON protocol."""

    def __init__(self, port, name):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=5)
        self.reader = self.sock.makefile("rb")
        self.send({"type": "join", "name": name})
        wait_for(lambda: json.loads(self.reader.readline()).get("type") == "welcome",
                 name + "'s welcome")

    def send(self, frame):
        self.sock.sendall((json.dumps(frame) + "\n").encode("utf-8"))

    def say(self, text, to=None):
        frame = {"type": "say", "text": text}
        if to:
            frame["to"] = to
        self.send(frame)

    def close(self):
        self.sock.close()


# Wrong passwords a classmate at the same address tries first: three are
# free, then each waits longer (0.5, 1, 2 s), so Amy's right one waits 4 s.
GUESSES = 6


def guess_wrong(port, count):
    """Try wrong passwords one after another, each until it is answered."""
    for number in range(count):
        with socket.create_connection((LOOPBACK, port), timeout=WAIT) as sock:
            sock.sendall(b'{"type":"join","name":"guess%d","password":"nope"}\n' % number)
            reader = sock.makefile("rb")
            wait_for(lambda: json.loads(reader.readline()).get("type") == "error",
                     "wrong guess %d's answer" % number)


class Server:
    """`chat.pyz server` with a pty for its terminal, so /kick can be typed."""

    def __init__(self, pyz, work, *args):
        self.path = os.path.join(work, "server%d.out" % time.monotonic_ns())
        self.master, slave = os.openpty()
        with open(self.path, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, pyz, "server", "--host", LOOPBACK] + list(args),
                stdin=slave, stdout=out, stderr=subprocess.STDOUT)
        os.close(slave)
        found = wait_for(lambda: re.search(r"listening on port (\d+)", self.output()),
                         "the server to start")
        self.port = int(found.group(1))

    def output(self):
        with open(self.path, encoding="utf-8") as handle:
            return handle.read()

    def type(self, line):
        os.write(self.master, line.encode("utf-8") + b"\n")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        if self.master is not None:
            os.close(self.master)
            self.master = None


def start_xvfb(size):
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", size + "x24",
                             "-nolisten", "tcp"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = ":" + xvfb.stdout.readline().decode().strip()
    return xvfb


def window_title(window):
    return subprocess.run(["xdotool", "getwindowname", window], capture_output=True,
                          text=True).stdout


def open_client(pyz, port, work):
    client = subprocess.Popen(
        [sys.executable, pyz, "client", "--host", LOOPBACK, "--port", str(port),
         "--name", "Amy"], env=dict(os.environ, HOME=work))

    def window():
        found = subprocess.run(["xdotool", "search", "--classname", "chat_app"],
                               capture_output=True, text=True).stdout.split()
        return found[-1] if found else None

    return client, wait_for(window, "the client window")


def shot(window, name):
    time.sleep(SETTLE)
    path = os.path.join(OUT, name)
    run("import", "-window", window, path)
    print("wrote", path)


def shot_with_menus(window, name):
    """Capture `window` with the menus it has open, which are windows of their own."""
    time.sleep(SETTLE)
    where = dict(line.split("=", 1) for line in
                 run("xdotool", "getwindowgeometry", "--shell", window).split())
    path = os.path.join(OUT, name)
    run("import", "-window", "root", "-crop",
        "%(WIDTH)sx%(HEIGHT)s+%(X)s+%(Y)s" % where, "+repage", path)
    print("wrote", path)


def type_line(text):
    run("xdotool", "type", "--delay", "12", text)
    run("xdotool", "key", "Return")


def fill_room(port):
    people = {name: Person(port, name) for name in ("Ben", "Chloé", "Dmitri", "Fatima")}
    for round_ in range(6):  # a long history: the lesson so far, six times over
        for name, text in LESSON:
            people[name].say(text if round_ == 5 else text.replace("?", " (earlier)?"))
            time.sleep(0.01)
    return people


class Stage:
    """A screen of the given size, a server with a lesson in it, and Amy's window."""

    def __init__(self, pyz, work, size):
        self.pyz, self.work = pyz, work
        self.xvfb = start_xvfb(size)
        self.server = Server(pyz, work, "--port", "0", "--rate-limit", "0")
        self.client = None
        self.people = fill_room(self.server.port)
        self.client, self.window = open_client(pyz, self.server.port, work)

    def join(self):
        run("xdotool", "windowfocus", "--sync", self.window)
        run("xdotool", "key", "--window", self.window, "Return")
        wait_for(lambda: "Amy in " in window_title(self.window), "the join")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.client is not None and self.client.poll() is None:
            self.client.terminate()
            self.client.wait(5)
        self.server.stop()
        self.xvfb.terminate()
        self.xvfb.wait(5)


def small_screen(pyz, work):
    with Stage(pyz, work, SMALL_SCREEN) as stage:
        people, window = stage.people, stage.window
        shot(window, "join.png")
        stage.join()
        shot(window, "history.png")

        people["Dmitri"].say("Question 3 asks for the loop invariant. Amy, did you get it?")
        type_line("I think it's: sum == total of a[0..i), and it holds before each "
                  "step because we add a[i] and then move i on by one")
        people["Fatima"].say("/me is still compiling \U0001F605")
        people["Ben"].say("Here is mine:\nfor i in range(n):\n    total += a[i]")
        people["Chloé"].say("Can you check my answer after class?", to="Amy")
        type_line("/msg Chloé sure, 3pm in room 204")
        shot(window, "chat.png")

        size = run("xdotool", "getwindowgeometry", window)
        width, height = map(int, re.search(r"Geometry: (\d+)x(\d+)", size).groups())
        run("xdotool", "mousemove", "--window", window, str(width // 3), str(height // 3))
        run("xdotool", "click", "--repeat", "12", "--delay", "20", "4")  # the wheel, up
        time.sleep(SETTLE)
        for name, text in (("Ben", "Thanks Amy, that fixed my off-by-one"),
                           ("Dmitri", "Same here."), ("Fatima", "Is there a question 4?")):
            people[name].say(text)
            time.sleep(0.1)  # three people, one after the other
        shot(window, "scrolled.png")

        server = stage.server
        server.type("/kick Amy please stay on task, you may rejoin")
        wait_for(lambda: "removed" in server.output() or "kicked" in server.output(),
                 "the kick")
        shot(window, "kicked.png")
        run("xdotool", "key", "--window", window, "Return")  # the Rejoin button has the focus
        wait_for(lambda: server.output().count("Amy joined") >= 2, "the rejoin")
        time.sleep(SETTLE)

        for person in people.values():
            person.close()
        server.stop()
        shot(window, "disconnected.png")

        stage.server = Server(pyz, work, "--port", str(server.port), "--password", "lab7")
        time.sleep(5)  # the client's next try comes within 4 s (its backoff: 1, 2, 4 s)
        shot(window, "password.png")

        guess_wrong(stage.server.port, GUESSES)  # from the same address as Amy's window
        type_line("lab7")
        time.sleep(SETTLE)
        shot(window, "password-wait.png")


def large_screen(pyz, work):
    with Stage(pyz, work, LARGE_SCREEN) as stage:
        stage.join()
        run("xdotool", "windowsize", stage.window, "1280", "800")
        stage.people["Ben"].say("Here is mine:\nfor i in range(n):\n    total += a[i]")
        type_line("/help")
        shot(stage.window, "chat-1280.png")


# The rooms of rooms*.png: host, name, port, people in it, extra server
# options.  Two on the teacher's host, as a teacher may run them; then, for
# rooms-same-name.png, a real server a student starts under the same name.
ROOMS = [
    ("teacher", "Lab 3 \u2014 Algorithms", 1234, ("Ben", "Chloé", "Dmitri", "Fatima"),
     ("--password", "x")),
    ("teacher", "Robotics club", 1240, ("Ines",),
     ("--tls-cert", os.path.join(ROOT, "tests", "data", "server.crt"),
      "--tls-key", os.path.join(ROOT, "tests", "data", "server.key"))),
]
IMPOSTOR = ("impostor", "Lab 3 \u2014 Algorithms", 1234,
            tuple("guest%d" % number for number in range(23)), ("--password", "y"))

# Time for the window's list to show a room that has just started: a
# search (finder.FIND_SECONDS) and the pause between two (REFRESH_SECONDS).
NEXT_SEARCH = 1.5 + 3.0

# Run on the teacher's host: join each name (argv: host port password names...)
# and stay until standard input closes.
HOLD_PEOPLE = """
import json, socket, ssl, sys
host, port, password, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
held = []
for name in names:
    sock = socket.create_connection((host, port), timeout=10)
    if password == "tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock)
    join = {"type": "join", "name": name}
    if password not in ("", "tls"):
        join["password"] = password
    sock.sendall(json.dumps(join).encode() + b"\\n")
    sock.makefile("rb").readline()
    held.append(sock)
sys.stdin.read()
"""


def start_room(lab, pyz, work, room):
    """Start a room's server on its lab host, and its people; return the processes."""
    host, name, port, people, extra = room
    address = lab.address(host)
    log = open(os.path.join(work, "room-%s-%d.out" % (host, port)), "w")
    server = lab.popen(host, [sys.executable, pyz, "server", "--host", address, "--port",
                              str(port), "--room", name] + list(extra),
                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_for(lambda: "listening on port" in open(log.name).read(), name)
    secret = "tls" if "--tls-cert" in extra else dict(zip(extra, extra[1:])).get("--password", "")
    holder = lab.popen(host, [sys.executable, "-c", HOLD_PEOPLE, address, str(port), secret]
                       + list(people), stdin=subprocess.PIPE)
    return [server, holder]


def rooms_screen(pyz, work):
    """rooms*.png: the join form listing the rooms found, inside a lab of namespaces."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("rooms*.png not made: they need root and iproute2's ip, to run the window "
              "inside a network namespace (a client without an address broadcasts)")
        return
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from helpers import Lab
    xvfb = start_xvfb(SMALL_SCREEN)
    started = []
    try:
        with Lab("teacher", "student", "impostor") as lab:
            for room in ROOMS:
                started.extend(start_room(lab, pyz, work, room))
            # What a double-click runs; the name Amy is remembered from the stages
            # before, or from here when this screen is made alone.
            remembered = os.path.join(work, ".chat_app.json")
            if not os.path.exists(remembered):
                with open(remembered, "w") as handle:
                    json.dump({"name": "Amy"}, handle)
            client = lab.popen("student", [sys.executable, pyz], env=dict(os.environ, HOME=work))
            started.append(client)
            window = wait_for(lambda: subprocess.run(
                ["xdotool", "search", "--classname", "chat_app"], capture_output=True,
                text=True).stdout.split(), "the client window")[-1]
            time.sleep(3 * SETTLE + 2 * 1.5)  # two searches (finder.FIND_SECONDS) have ended
            shot(window, "rooms.png")
            started.extend(start_room(lab, pyz, work, IMPOSTOR))
            time.sleep(NEXT_SEARCH + SETTLE)
            shot(window, "rooms-same-name.png")
            for key in ("Down", "Down", "Down", "Return"):  # to Robotics club, and join it
                run("xdotool", "key", "--window", window, key)
            shot(window, "rooms-check.png")
            for process in reversed(started):
                if process.stdin is not None:
                    process.stdin.close()
                process.terminate()
                process.wait(5)
            started = []
    finally:
        for process in started:
            process.kill()
            process.wait(5)
        xvfb.terminate()
        xvfb.wait(5)


# Run as `python -c TEACH_DRIVER PYZ teach OPTIONS...`: `chat.pyz teach` as a
# teacher runs it, which also prints, once the class has joined, where each
# student's row of the user list is on the screen (JSON: name -> [x, y]),
# for the script's right-clicks.
TEACH_DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from chat_app import teach
started = teach.Teach.start
CLASS = ("Ben", "Chlo\u00e9", "Dmitri", "Fatima")
CLICKED = ("Ben", "Chlo\u00e9")  # right-clicked: near the top, so their rows show

def start(self):
    started(self)
    def report():
        chat = self.window.chat
        if self.panel() is None or not all(name in chat.listed for name in CLASS):
            self.root.after(100, report)
            return
        boxes = {name: chat.people.bbox(chat.listed.index(name)) for name in CLICKED}
        if None in boxes.values():  # not drawn yet
            self.root.after(100, report)
            return
        rows = {name: [chat.people.winfo_rootx() + x + 20,
                       chat.people.winfo_rooty() + y + height // 2]
                for name, (x, y, width, height) in boxes.items()}
        print(json.dumps(rows), flush=True)
    self.root.after(100, report)

teach.Teach.start = start
from chat_app.cli import main
sys.exit(main(sys.argv[2:]))
"""

# Where the first entry of a menu posted at the pointer is, from the pointer.
FIRST_ENTRY = (30, 12)


def teacher_screen(pyz, work):
    """teach*.png: the teacher's window from `chat.pyz teach`, driven by real X input.

    On the larger screen: a teacher's computer is often the one at the front.
    """
    xvfb = start_xvfb(LARGE_SCREEN)
    env = dict(os.environ, HOME=work, CHAT_APP_HOME=work)
    teach = subprocess.Popen(
        [sys.executable, "-c", TEACH_DRIVER, pyz, "teach", "--host", LOOPBACK, "--port", "0",
         "--room", "Lab 3 \u2014 Algorithms", "--no-discovery", "--rate-limit", "0", "--quiet"],
        env=env, stdout=subprocess.PIPE, text=True)
    people = {}
    try:
        port = int(re.search(r"listening on port (\d+)", teach.stdout.readline()).group(1))
        window = wait_for(lambda: subprocess.run(
            ["xdotool", "search", "--classname", "chat_app"], capture_output=True,
            text=True).stdout.split(), "the teacher's window")[-1]
        wait_for(lambda: "Teacher in " in window_title(window), "the teacher's join")
        shot(window, "teach.png")

        people = fill_room(port)
        rows = None
        while rows is None:  # the banner and the console's lines come first
            line = teach.stdout.readline()
            if not line:
                raise SystemExit("teach ended before its class had joined")
            rows = json.loads(line) if line.startswith("{") else None
        people["Dmitri"].send({"type": "hand", "up": True})
        time.sleep(0.2)
        people["Fatima"].send({"type": "hand", "up": True})
        run("xdotool", "mousemove", *map(str, rows["Chlo\u00e9"]), "click", "3")
        time.sleep(SETTLE)
        run("xdotool", "mousemove_relative", *map(str, FIRST_ENTRY), "click", "1")  # Mute
        people["Ben"].say("Is question 4 for marks?")
        shot(window, "teach-class.png")

        run("xdotool", "mousemove", "--window", window, "20", "10", "click", "1")  # Room
        shot_with_menus(window, "teach-room-menu.png")
        run("xdotool", "key", "Escape")
        run("xdotool", "mousemove", *map(str, rows["Ben"]), "click", "3")
        shot_with_menus(window, "teach-user-menu.png")
        run("xdotool", "key", "Escape")
    finally:
        for person in people.values():
            person.close()
        teach.terminate()  # SIGTERM: the room stops as when the window is closed
        teach.wait(WAIT)
        xvfb.terminate()
        xvfb.wait(5)


def make_certificate(work, name):
    """Make a certificate as the README says; return (cert, key, its first 16 digits)."""
    cert, key = os.path.join(work, name + ".crt"), os.path.join(work, name + ".key")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj",
        "/CN=" + name, "-keyout", key, "-out", cert)
    with open(cert) as handle:
        digits = hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest().upper()
    return cert, key, " ".join(digits[i:i + 4] for i in range(0, 16, 4))


def made_up(count):
    """Return `count` random bytes as base64: what a fake room puts where proofs go."""
    return base64.b64encode(os.urandom(count)).decode()


def fake_room(port, answered):
    """Answer each join at this port as a fake room does: a challenge, then a made-up proof."""
    listener = socket.create_server((LOOPBACK, port))
    listener.settimeout(WAIT * 3)

    def serve():
        with listener:
            while True:
                try:
                    sock, _ = listener.accept()
                except OSError:
                    return
                with sock:
                    reader = sock.makefile("rb")
                    join = json.loads(reader.readline() or b"{}")
                    sock.sendall(json.dumps({
                        "type": "challenge", "nonce": join.get("nonce", "") + made_up(18),
                        "iterations": 200000, "salt": {"password": made_up(16)}}).encode()
                        + b"\n")
                    if reader.readline():  # the proof; a client without the password closes
                        sock.sendall(json.dumps({
                            "type": "welcome", "name": "Amy", "users": ["Amy"],
                            "server_proof": {"password": made_up(32)},
                            "history": []}).encode() + b"\n")
                        answered.append(True)
                    reader.readline()

    threading.Thread(target=serve, daemon=True).start()
    return listener


def changed_screen(pyz, work):
    """The room changed at a restart (encrypted, a new certificate, unencrypted), then a fake."""
    first, second = make_certificate(work, "lab"), make_certificate(work, "lab-new")
    with Stage(pyz, work, SMALL_SCREEN) as stage:
        stage.join()
        window, port = stage.window, stage.server.port
        for person in stage.people.values():
            person.close()
        steps = ((("--tls-cert", first[0], "--tls-key", first[1]), first[2], "encrypted-now.png"),
                 (("--tls-cert", second[0], "--tls-key", second[1]), second[2],
                  "new-certificate.png"),
                 ((), None, "not-encrypted.png"))
        for args, typed, name in steps:
            stage.server.stop()
            stage.server = Server(pyz, work, "--port", str(port), *args)
            time.sleep(5)  # the client's next try comes within 4 s (its backoff: 1, 2, 4 s)
            shot(window, name)
            if typed is not None:
                type_line(typed)  # the bar's Fingerprint field has the focus
            else:
                run("xdotool", "key", "--window", window, "Return")  # Join unencrypted
            wait_for(lambda: "Amy joined" in stage.server.output(), "the rejoin after " + name)
            time.sleep(SETTLE)
        stage.server.stop()
        answered = []
        fake = fake_room(port, answered)
        try:
            time.sleep(5)  # the bar asks for the password the fake claims
            type_line("lab7")
            wait_for(lambda: answered, "the fake's made-up welcome")
            shot(window, "not-the-room.png")
        finally:
            fake.close()


# What --only may name, in the order they run.
SCREENS = {"small": small_screen, "large": large_screen, "teacher": teacher_screen,
           "rooms": rooms_screen, "changed": changed_screen}


def main():
    global OUT
    parser = argparse.ArgumentParser(description="Make docs/screenshots/*.png.")
    parser.add_argument("screens", nargs="*", metavar="SCREEN",
                        help="the screens to make, of %s (default: all of them)"
                        % ", ".join(SCREENS))
    parser.add_argument("--out", default=OUT, help="where to write (default: %(default)s)")
    options = parser.parse_args()
    unknown = sorted(set(options.screens) - set(SCREENS))
    if unknown:
        parser.error("no screen called %s; the screens: %s" % (", ".join(unknown),
                                                                ", ".join(SCREENS)))
    OUT = options.out
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="chat_shots_")
    pyz = os.path.join(work, "chat.pyz")
    run(sys.executable, os.path.join(ROOT, "build_pyz.py"), "-o", pyz)
    for name, screen in SCREENS.items():
        if not options.screens or name in options.screens:
            screen(pyz, work)


if __name__ == "__main__":
    main()
