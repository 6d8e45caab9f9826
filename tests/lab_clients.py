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

Every count and wait is bounded; nothing here talks outside the lab.
"""

import argparse
import json
import select
import socket
import ssl
import sys
import time

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


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    holding = commands.add_parser("hold")
    joining = commands.add_parser("join")
    for command in (holding, joining):
        command.add_argument("host")
        command.add_argument("port", type=int)
    holding.add_argument("count", type=int)
    holding.add_argument("--send", default="")
    holding.add_argument("--seconds", type=float, default=60.0)
    joining.add_argument("name")
    joining.add_argument("--tls", action="store_true")
    options = parser.parse_args()
    {"hold": hold, "join": join}[options.command](options)


if __name__ == "__main__":
    main()
