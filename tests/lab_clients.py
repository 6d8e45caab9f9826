"""Clients the attack tests run inside a lab namespace (helpers.Lab), as programs.

    python lab_clients.py hold HOST PORT COUNT [--send HEX] [--seconds S]
        Open COUNT connections; send the bytes HEX on each (a partial TLS
        ClientHello, say), or nothing without --send; print "ready N"
        (N: connections made) and hold them until standard input closes or
        S seconds pass, whichever is first.
    python lab_clients.py join HOST PORT NAME [--tls]
        Join as NAME (over TLS without checking the certificate: the test
        runs the server) and print, as JSON, the seconds from connect() to
        the welcome.
    python lab_clients.py query HOST PORT [--bind ADDR] [--send HEX] [--count N]
                          [--seconds S] [--wait S] [--expect K]
        Send the discovery query (or the bytes HEX) N times, spread over S
        seconds, to HOST:PORT (a broadcast address too) from a UDP socket
        bound to ADDR; collect answers until WAIT seconds after the last
        send, or until K have come; print, as JSON, what was sent and what
        came back.
    python lab_clients.py attend HOST PORT NAME [--teacher-token TOKEN]
        Join as NAME (as the teacher, with the server's token) and print the
        answer, as JSON: {"type": "welcome", "name": ..., "role": ...}, or
        the error frame.  Once joined, stay until standard input closes.
    python lab_clients.py names HOST PORT NAME [NAME ...]
        Try to join under each name in turn, each on a connection of its
        own, leaving at once when welcomed; print the answers, as JSON, a
        list in the order of the names.
    python lab_clients.py session HOST PORT NAME [--password PW] [--teacher-password PW]
                          [--pin FINGERPRINT]
        Join as the window does (client.link.Link, its network side),
        with the passwords the person typed in the join form (and the
        fingerprint pinned), and print each event as a JSON line until the
        join is decided: joined, refused, password, failed or changed.
    python lab_clients.py ask ADDRESS PORT
        Send one query from an unbound socket (what a naive finder does)
        and print, as JSON, how many answers came within a second and the
        error name sending gave, if any ({"answers": N, "error": null}).
    python lab_clients.py fake-room ANSWERS [--seconds S]
        Pose as rooms, as a student's machine could: ANSWERS is a JSON
        object {"PORT": answer}; each discovery query received on UDP port
        PORT gets that answer (a JSON object sent as it is, so it may claim
        anything), at once.  TCP port PORT is listened on too, and each
        connection to it prints "connected PORT" and is closed.  Prints
        "ready" once every port is bound; runs until standard input closes
        or S seconds pass.
    python lab_clients.py say HOST PORT NAME
        Join as NAME and say each text of the JSON list on standard input,
        one after another, each once the room has relayed the one before;
        leave, and print "said N".
    python lab_clients.py person HOST PORT NAME UNTIL
        Join as a person at nc does (the name, then a line), read the lines
        the server sends until one holds UNTIL, and print them as JSON.

    python lab_clients.py throwaway HOST PORT COUNT [--keep K] [--batch B]
                          [--toggles T] [--says S] [--chars C]
        One machine under many names: first K names join, raise a hand and
        stay; then COUNT throwaway names join B at a time, each raising a
        hand, lowering and raising it T times, saying S messages of C
        characters, and dropping its connection with the hand up.  Prints
        "joined N" after each batch; stops early once standard input
        closes.  Then, until standard input closes, the K stay; it prints,
        as JSON, how many joined, were refused, and of the K how many were
        told their hand went down.
    python lab_clients.py talk HOST PORT NAME COUNT [--interval S] [--teacher]
        Join (as the teacher, with this computer's teacher token), say
        "NAME 0" ... "NAME COUNT-1" one every S seconds, wait until each
        came back from the room, and print, as JSON, how many did.
    python lab_clients.py teacher HOST PORT NAME [--lower-all]
        Join as the teacher, reading the welcome as the shipped clients do
        (protocol.LineSplitter, MAX_SERVER_FRAME_BYTES); with --lower-all,
        lower every hand and collect the frames up to hands_lowered.
        Prints, as JSON, the welcome's size and counts.

Every count and wait is bounded; nothing here talks outside the lab.
"""

import argparse
import errno
import json
import os
import queue
import select
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chat_app.discovery import datagrams as discovery
from chat_app.wire import teacher_id
from chat_app.wire.protocol import MAX_SERVER_FRAME_BYTES, LineSplitter

WAIT = 10.0  # seconds any one step may take


def hold(options):
    extra = bytes.fromhex(options.send) if options.send else b""
    held = []
    for _ in range(options.count):
        try:
            sock = socket.create_connection((options.host, options.port), timeout=WAIT)
        except OSError:
            continue  # refused or reset: the server chose; the test counts what held
        if extra:
            try:
                sock.sendall(extra)
            except OSError:
                pass
        held.append(sock)
    print("ready %d" % len(held), flush=True)
    select.select([sys.stdin], [], [], options.seconds)  # until stdin closes, or time is up
    for sock in held:
        sock.close()


def join(options):
    started = time.monotonic()
    sock = socket.create_connection((options.host, options.port), timeout=WAIT)
    if options.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock)
    sock.sendall((json.dumps({"type": "join", "name": options.name}) + "\n").encode())
    buffer = b""
    while True:
        data = sock.recv(65536)
        if not data:
            raise SystemExit("closed before the welcome: %r" % buffer[:300])
        buffer += data
        while b"\n" in buffer:
            line, _, buffer = buffer.partition(b"\n")
            if json.loads(line.decode()).get("type") == "welcome":
                print(json.dumps({"seconds": time.monotonic() - started}), flush=True)
                sock.close()
                return


def answer_to_join(host, port, name, **fields):
    """Connect and join as name; return (socket, the welcome's fields or the error frame)."""
    sock = socket.create_connection((host, port), timeout=WAIT)
    fields.update(type="join", name=name)
    sock.sendall((json.dumps(fields) + "\n").encode())
    reader = sock.makefile("rb")
    while True:
        line = reader.readline()
        if not line:
            raise SystemExit("closed before answering the join of %r" % name)
        frame = json.loads(line.decode())
        if frame.get("type") == "welcome":
            return sock, {key: frame.get(key) for key in ("type", "name", "role")}
        if frame.get("type") == "error":
            return sock, frame


def attend(options):
    fields = {"teacher_token": options.teacher_token} if options.teacher_token else {}
    sock, answer = answer_to_join(options.host, options.port, options.name, **fields)
    print(json.dumps(answer), flush=True)
    if answer["type"] == "welcome":
        sys.stdin.read()  # until standard input closes
        sock.sendall(b'{"type":"leave"}\n')
    sock.close()


def names(options):
    answers = []
    for name in options.names:
        sock, answer = answer_to_join(options.host, options.port, name)
        if answer["type"] == "welcome":
            sock.sendall(b'{"type":"leave"}\n')
        sock.close()
        answers.append(answer)
    print(json.dumps(answers), flush=True)


QUERY = b'{"type":"discover"}'  # as chat_app.discovery.QUERY_BYTES, spelled by a third party


def query(options):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.bind((options.bind, 0))
    data = bytes.fromhex(options.send) if options.send else QUERY
    answers, received, refused = [], [0, 0], 0

    def collect(until):
        nonlocal refused
        while not options.expect or received[0] < options.expect:
            left = until - time.monotonic()
            if not select.select([sock], [], [], max(0.0, left))[0]:
                if left <= 0:
                    return
                continue
            try:
                answer, source = sock.recvfrom(65536)
            except ConnectionRefusedError:  # nothing listens on that UDP port
                refused += 1
                continue
            received[0] += 1
            received[1] += len(answer)
            if len(answers) < 20:
                answers.append([source[0], source[1], answer.decode("utf-8", "replace")])

    started = time.monotonic()
    for number in range(options.count):
        sock.sendto(data, (options.host, options.port))
        collect(started + options.seconds * (number + 1) / options.count)
    collect(time.monotonic() + options.wait)
    print(json.dumps({"sent": options.count, "sent_bytes": options.count * len(data),
                      "seconds": time.monotonic() - started, "answers": answers,
                      "count": received[0], "bytes": received[1], "refused": refused}),
          flush=True)


def ask(options):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    answers, error = 0, None
    try:
        sock.sendto(discovery.QUERY_BYTES, (options.host, options.port))
    except OSError as exc:
        error = errno.errorcode.get(exc.errno, str(exc))
    deadline = time.monotonic() + 1.0
    while error is None and time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], deadline - time.monotonic())
        if ready and discovery.parse_answer(sock.recv(discovery.MAX_ANSWER_BYTES + 1)):
            answers += 1
    sock.close()
    print(json.dumps({"answers": answers, "error": error}), flush=True)


def fake_room(options):
    answers = {int(port): json.dumps(answer).encode("utf-8")
               for port, answer in json.loads(options.answers).items()}
    listening = {}
    for port in answers:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("", port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("", port))
        tcp.listen(16)
        listening[udp], listening[tcp] = port, port
    print("ready", flush=True)
    deadline = time.monotonic() + options.seconds
    while time.monotonic() < deadline:
        ready = select.select([sys.stdin] + list(listening), [], [],
                              max(0.0, deadline - time.monotonic()))[0]
        if sys.stdin in ready:
            return  # standard input closed: the test is over
        for sock in ready:
            port = listening[sock]
            if sock.type == socket.SOCK_STREAM:
                connection, _ = sock.accept()
                connection.close()
                print("connected %d" % port, flush=True)
                continue
            data, source = sock.recvfrom(65536)
            try:
                query = json.loads(data.decode("utf-8"))
            except ValueError:
                continue
            if isinstance(query, dict) and query.get("type") == "discover":
                sock.sendto(answers[port], source)


def say(options):
    texts = json.load(sys.stdin)
    sock = socket.create_connection((options.host, options.port), timeout=WAIT)
    lines = sock.makefile("rb")
    sock.sendall((json.dumps({"type": "join", "name": options.name}) + "\n").encode())
    while json.loads(lines.readline().decode()).get("type") != "welcome":
        pass
    for text in texts:
        sock.sendall((json.dumps({"type": "say", "text": text}) + "\n").encode())
        while True:
            frame = json.loads(lines.readline().decode())
            if frame.get("type") == "message" and frame.get("from") == options.name:
                break
            if frame.get("type") == "error":
                raise SystemExit("refused: %r" % frame)
    sock.sendall(b'{"type": "leave"}\n')  # the others read "left", not "connection lost"
    print("said %d" % len(texts), flush=True)
    sock.close()


def person(options):
    sock = socket.create_connection((options.host, options.port), timeout=WAIT)
    sock.sendall(options.name.encode() + b"\n")
    received = []
    for raw in sock.makefile("rb"):
        received.append(raw.decode("utf-8").rstrip("\n"))
        if options.until in received[-1]:
            break
    print(json.dumps(received), flush=True)
    sock.close()


class Joined:
    """A JSON connection to the room, read a line at a time as the shipped clients do."""

    def __init__(self, host, port, name, **fields):
        self.sock = socket.create_connection((host, port), timeout=WAIT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.splitter = LineSplitter(MAX_SERVER_FRAME_BYTES)
        self.lines = []
        self.send(dict(fields, type="join", name=name))

    def send(self, *frames):
        self.sock.sendall(b"".join((json.dumps(frame) + "\n").encode("utf-8")
                                   for frame in frames))

    def until(self, wanted):
        """Return the first line `wanted(line)` takes, skipping others; None at the end."""
        while True:
            while self.lines:
                line = self.lines.pop(0)
                if wanted(line):
                    return line
            data = self.sock.recv(self.splitter.wanted())
            if not data:
                return None
            self.lines = self.splitter.feed(data)

    def welcome(self):
        """Return the welcome line, or None when the join was refused."""
        line = self.until(lambda line: line.startswith((b'{"type":"welcome"',
                                                        b'{"type":"error"')))
        return line if line is not None and line.startswith(b'{"type":"welcome"') else None

    def close(self):
        self.sock.close()


def kind(name):
    """Return a test of a line: is it a frame of this type?"""
    start = ('{"type":"%s"' % name).encode()
    return lambda line: line.startswith(start)


def stdin_closed():
    return bool(select.select([sys.stdin], [], [], 0)[0]) and not sys.stdin.readline()


def throwaway(options):
    started = time.monotonic()
    refused, joined = 0, 0
    kept = []
    for number in range(options.keep):
        conn = Joined(options.host, options.port, "stay%d" % number)
        if conn.welcome() is None:
            refused += 1
            continue
        conn.send({"type": "hand", "up": True})
        conn.until(kind("hand"))
        kept.append(conn)
    text = "x" * options.chars
    number = 0
    while number < options.count and not stdin_closed():
        batch = []
        for _ in range(min(options.batch, options.count - number)):
            try:
                batch.append(Joined(options.host, options.port, "gone%d" % number))
            except OSError:
                refused += 1
            number += 1
        alive = [conn for conn in batch if conn.welcome() is not None]
        refused += len(batch) - len(alive)
        frames = ([{"type": "hand", "up": True}]
                  + [{"type": "hand", "up": up} for _ in range(options.toggles)
                     for up in (False, True)]
                  + [{"type": "say", "text": text}] * options.says
                  + [{"type": "ping", "token": "done"}])
        for conn in alive:
            conn.send(*frames)
        for conn in alive:  # the room has taken every frame before the pong
            conn.until(kind("pong"))
        for conn in batch:
            conn.close()  # with the hand up
        joined += len(alive)
        print("joined %d" % joined, flush=True)
    print("holding %d" % len(kept), flush=True)
    select.select([sys.stdin], [], [], WAIT * 6)  # until standard input closes
    lowered = 0
    deadline = time.monotonic() + 2.0  # lowered hands were told before the input closed
    for conn in kept:
        conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            lowered += conn.until(lambda line: line.startswith(b'{"type":"hand"')
                                  and b'"up":false' in line) is not None
        except OSError:
            pass
        conn.close()
    print(json.dumps({"joined": joined, "refused": refused, "kept": len(kept),
                      "lowered": lowered, "seconds": time.monotonic() - started}), flush=True)


def talk(options):
    fields = {"teacher_token": teacher_id.read_token(options.port)} if options.teacher else {}
    conn = Joined(options.host, options.port, options.name, **fields)
    if conn.welcome() is None:
        raise SystemExit("%s was refused" % options.name)
    texts = ["%s %d" % (options.name, number) for number in range(options.count)]
    for text in texts:
        conn.send({"type": "say", "text": text})
        time.sleep(options.interval)
    left = set(texts)
    own = ('{"type":"message","id":').encode()
    while left:
        line = conn.until(lambda line: line.startswith(own))
        if line is None:
            break
        frame = json.loads(line.decode("utf-8"))
        if frame["from"] == options.name:
            left.discard(frame["text"])
    conn.send({"type": "leave"})
    conn.close()
    print(json.dumps({"sent": len(texts), "echoed": len(texts) - len(left)}), flush=True)


def teacher(options):
    conn = Joined(options.host, options.port, options.name,
                  teacher_token=teacher_id.read_token(options.port))
    line = conn.welcome()
    if line is None:
        raise SystemExit("the teacher was refused")
    welcome = json.loads(line.decode("utf-8"))
    answer = {"welcome_bytes": len(line) + 1, "hands": len(welcome.get("hands", [])),
              "users": len(welcome["users"]), "role": welcome.get("role")}
    if options.lower_all:
        conn.send({"type": "control", "action": "lower_all"})
        seen = []
        line = conn.until(lambda line: seen.append(line) or line.startswith(
            (b'{"type":"hands_lowered"', b'{"type":"error"')))
        answer["answer"] = json.loads(line.decode("utf-8"))
        answer["hand_frames"] = sum(line.startswith(b'{"type":"hand"') for line in seen)
    conn.close()
    print(json.dumps(answer), flush=True)


# The events after which a window's join is decided.
DECIDED = ("joined", "refused", "password", "failed", "changed")


def session(options):
    from chat_app.client.link import Link
    from chat_app.wire.tls import ClientTls
    events = queue.Queue()
    joining = Link(options.host, options.port, options.name, options.password, events,
                      tls=ClientTls(pin=options.pin) if options.pin else None,
                      join_fields=teacher_id.proof(options.teacher_password))
    joining.start()
    try:
        while True:
            kind, value = events.get(timeout=WAIT)
            print(json.dumps([kind, value]), flush=True)
            if kind in DECIDED:
                return
    finally:
        joining.close()


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    holding = commands.add_parser("hold")
    joining = commands.add_parser("join")
    querying = commands.add_parser("query")
    asking = commands.add_parser("ask")
    throwing = commands.add_parser("throwaway")
    talking = commands.add_parser("talk")
    teaching = commands.add_parser("teacher")
    for command in (holding, joining, querying, asking, throwing, talking, teaching):
        command.add_argument("host")
        command.add_argument("port", type=int)
    holding.add_argument("count", type=int)
    holding.add_argument("--send", default="")
    holding.add_argument("--seconds", type=float, default=60.0)
    joining.add_argument("name")
    joining.add_argument("--tls", action="store_true")
    querying.add_argument("--bind", default="")
    querying.add_argument("--send", default="")
    querying.add_argument("--count", type=int, default=1)
    querying.add_argument("--seconds", type=float, default=0.0)
    querying.add_argument("--wait", type=float, default=1.0)
    querying.add_argument("--expect", type=int, default=0)
    throwing.add_argument("count", type=int)
    throwing.add_argument("--keep", type=int, default=0)
    throwing.add_argument("--batch", type=int, default=20)
    throwing.add_argument("--toggles", type=int, default=0)
    throwing.add_argument("--says", type=int, default=0)
    throwing.add_argument("--chars", type=int, default=100)
    talking.add_argument("name")
    talking.add_argument("count", type=int)
    talking.add_argument("--interval", type=float, default=0.0)
    talking.add_argument("--teacher", action="store_true")
    teaching.add_argument("name")
    teaching.add_argument("--lower-all", action="store_true")
    attending = commands.add_parser("attend")
    naming = commands.add_parser("names")
    for command in (attending, naming):
        command.add_argument("host")
        command.add_argument("port", type=int)
    attending.add_argument("name")
    attending.add_argument("--teacher-token", default="")
    naming.add_argument("names", nargs="+")
    faking = commands.add_parser("fake-room")
    faking.add_argument("answers")
    faking.add_argument("--seconds", type=float, default=120.0)
    saying = commands.add_parser("say")
    at_nc = commands.add_parser("person")
    for command in (saying, at_nc):
        command.add_argument("host")
        command.add_argument("port", type=int)
        command.add_argument("name")
    at_nc.add_argument("until")
    sessions = commands.add_parser("session")
    sessions.add_argument("host")
    sessions.add_argument("port", type=int)
    sessions.add_argument("name")
    sessions.add_argument("--password")
    sessions.add_argument("--teacher-password")
    sessions.add_argument("--pin")
    options = parser.parse_args()
    {"hold": hold, "join": join, "query": query, "ask": ask, "attend": attend, "names": names,
     "fake-room": fake_room, "say": say, "person": person, "throwaway": throwaway,
     "talk": talk, "teacher": teacher, "session": session}[options.command](options)


if __name__ == "__main__":
    main()
