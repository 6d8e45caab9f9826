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
    python lab_clients.py session HOST PORT NAME [--password PW] [--teacher-password PW]
                          [--pin FINGERPRINT]
        Join as the window does (client_session.Session, its network side),
        with the passwords the person typed in the join form (and the
        fingerprint pinned), and print each event as a JSON line until the
        join is decided: joined, refused, password, failed or changed.
    python lab_clients.py ask ADDRESS PORT
        Send one query from an unbound socket (what a naive finder does)
        and print, as JSON, how many answers came within a second and the
        error name sending gave, if any ({"answers": N, "error": null}).

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
from chat_app import discovery  # noqa: E402

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


# The events after which a window's join is decided.
DECIDED = ("joined", "refused", "password", "failed", "changed")


def session(options):
    from chat_app import teacher_id
    from chat_app.client_session import Session
    from chat_app.tls import ClientTls
    events = queue.Queue()
    joining = Session(options.host, options.port, options.name, options.password, events,
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
    for command in (holding, joining, querying):
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
    asking = commands.add_parser("ask")
    asking.add_argument("host")
    asking.add_argument("port", type=int)
    sessions = commands.add_parser("session")
    sessions.add_argument("host")
    sessions.add_argument("port", type=int)
    sessions.add_argument("name")
    sessions.add_argument("--password")
    sessions.add_argument("--teacher-password")
    sessions.add_argument("--pin")
    options = parser.parse_args()
    {"hold": hold, "join": join, "query": query, "ask": ask,
     "session": session}[options.command](options)


if __name__ == "__main__":
    main()
