"""A fake room, as a hostile student would run it: the attack tests run it inside a lab host.

    python fake_room.py fake HOST RECORD [--tls CERT KEY] [--asks-nothing] [--seconds S]
        Listen on HOST (a free port), print "ready PORT", and accept any
        join: a join with a nonce (a client that proves its passwords) is
        sent a challenge for both passwords, and its proof a welcome with a
        made-up server_proof; a join without one is welcomed at once (every
        join, with --asks-nothing: a fake lesson, not a password trap).
        Every byte received (decrypted, under TLS) is appended to RECORD.
    python fake_room.py relay HOST RECORD TARGET_HOST TARGET_PORT [--tls CERT KEY]
                        [--target-tls] [--seconds S]
        The same, but each connection is passed on, both ways and as it
        comes, to the real room at TARGET (over TLS with --target-tls,
        checking nothing), while what the client sends is recorded.
    python fake_room.py replay RECORD HOST PORT [--tls]
        Play a recorded join (and, after the real room's challenge, the
        recorded proof, its binding changed to the real room's, so that
        only the proof is tested) to the real room; print, as JSON, the
        frames it answered.

Every wait is bounded (S seconds, 20 by default); nothing here talks
outside the lab.  It uses nothing of chat_app: a fake is written from
docs/protocol.md, as anyone could.
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import threading
import time

WAIT = 10.0  # seconds one step may take

# What a fake asks for, as a third party reads docs/protocol.md: the fewest
# rounds a client takes (fewer would be refused at once).
ITERATIONS = 200000


def listen(options):
    listener = socket.create_server((options.host, 0))
    listener.settimeout(options.seconds)
    context = None
    if options.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*options.tls)
    print("ready %d" % listener.getsockname()[1], flush=True)
    return listener, context


def accepted(listener, context, seconds):
    """Yield each connection (TLS done, if asked) until `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock, _ = listener.accept()
        except socket.timeout:
            return
        sock.settimeout(WAIT)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                continue
        yield sock


class Recorder:
    """Appends what clients send to one file, from any thread."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def add(self, data):
        with self.lock, open(self.path, "ab") as handle:
            handle.write(data)


def send(sock, frame):
    sock.sendall(json.dumps(frame).encode("utf-8") + b"\n")


def random64(count):
    return base64.b64encode(os.urandom(count)).decode("ascii")


def fake_answer(frame, asks_nothing=False):
    """Return what the fake room answers a client's frame with (None: nothing)."""
    if frame.get("type") == "join" and "nonce" in frame and not asks_nothing:
        return {"type": "challenge", "nonce": frame["nonce"] + random64(18),
                "iterations": ITERATIONS,
                "salt": {"password": random64(16), "teacher_password": random64(16)}}
    if frame.get("type") in ("join", "proof"):
        return {"type": "welcome", "name": "amy", "users": ["amy"], "role": "teacher",
                "teachers": ["amy"], "server_proof": {"password": random64(32),
                                                      "teacher_password": random64(32)},
                "history": []}
    return None


def serve_fake(sock, recorder, deadline, asks_nothing):
    buffer = b""
    with sock:
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except (socket.timeout, OSError):
                return
            if not data:
                return
            recorder.add(data)
            buffer += data
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                try:
                    answer = fake_answer(json.loads(line.decode("utf-8")), asks_nothing)
                except ValueError:
                    continue
                if answer is not None:
                    send(sock, answer)


def fake(options):
    listener, context = listen(options)
    recorder = Recorder(options.record)
    deadline = time.monotonic() + options.seconds
    for sock in accepted(listener, context, options.seconds):
        threading.Thread(target=serve_fake, args=(sock, recorder, deadline, options.asks_nothing),
                         daemon=True).start()


def pipe(source, target, recorder=None):
    """Pass bytes on until either end closes (TLS sockets are used by one thread each way)."""
    while True:
        try:
            data = source.recv(65536)
        except (socket.timeout, OSError):
            data = b""
        if not data:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
        if recorder is not None:
            recorder.add(data)
        try:
            target.sendall(data)
        except OSError:
            return


def unchecked_tls(sock):
    """Encrypt a connection to the real room, checking nothing (a fake has nothing to check)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock)


def relay(options):
    listener, context = listen(options)
    recorder = Recorder(options.record)
    for client in accepted(listener, context, options.seconds):
        server = socket.create_connection((options.target_host, options.target_port), WAIT)
        if options.target_tls:
            server = unchecked_tls(server)
        for sock in (client, server):
            sock.settimeout(options.seconds)
        threading.Thread(target=pipe, args=(server, client), daemon=True).start()
        threading.Thread(target=pipe, args=(client, server, recorder), daemon=True).start()


def replay(options):
    with open(options.record, "rb") as handle:
        recorded = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    join = next(frame for frame in recorded if frame.get("type") == "join")
    proof = next((frame for frame in recorded if frame.get("type") == "proof"), None)
    sock = socket.create_connection((options.host, options.port), WAIT)
    if options.tls:
        sock = unchecked_tls(sock)
        binding = "tls-server-end-point:" + hashlib.sha256(sock.getpeercert(True)).hexdigest()
    else:
        binding = "tcp:%s:%d" % (options.host, options.port)
    sock.settimeout(WAIT)
    reader = sock.makefile("rb")
    send(sock, join)
    answers = []
    while True:
        line = reader.readline()
        if not line:
            break
        frame = json.loads(line)
        answers.append(frame)
        if frame.get("type") == "challenge" and proof is not None:
            send(sock, dict(proof, binding=binding))
        elif frame.get("type") in ("welcome", "error"):
            break
    print(json.dumps(answers), flush=True)


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    faking = commands.add_parser("fake")
    relaying = commands.add_parser("relay")
    for command in (faking, relaying):
        command.add_argument("host")
        command.add_argument("record")
        command.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
        command.add_argument("--seconds", type=float, default=20.0)
    faking.add_argument("--asks-nothing", action="store_true")
    relaying.add_argument("target_host")
    relaying.add_argument("target_port", type=int)
    relaying.add_argument("--target-tls", action="store_true")
    replaying = commands.add_parser("replay")
    replaying.add_argument("record")
    replaying.add_argument("host")
    replaying.add_argument("port", type=int)
    replaying.add_argument("--tls", action="store_true")
    options = parser.parse_args()
    {"fake": fake, "relay": relay, "replay": replay}[options.command](options)


if __name__ == "__main__":
    main()
