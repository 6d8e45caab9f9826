"""A stand-in server for the clients' tests of the teacher's room.

ScriptedServer, on 127.0.0.1, sends what the test says and records what the
client sends (joins, info probes, hands, says), so a client meets each frame
of the teacher's room exactly when the test wants.
"""

import json
import queue
import socket
import threading
import time

import pytest

from helpers import LOOPBACK, WAIT


class ScriptedServer:
    """A stand-in server on 127.0.0.1 that speaks the teacher's room as the test says.

    Each connection's first frame decides: an `info` is answered with
    `info` and closed; a `join` is answered with `welcome` (the join is kept
    in `joins`), and the test then sends frames with send() and reads what
    the window sent with expect().  Until the server side of the teacher's
    room is merged, this is how the window meets its frames.
    """

    def __init__(self, welcome, info=None):
        self.welcome = dict({"type": "welcome", "users": [], "history": []}, **welcome)
        self.info = info
        self.joins = []
        self.infos = 0
        self.frames = queue.Queue()
        self.conn = None
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed by stop()
            reader = conn.makefile("rb")
            first = json.loads(reader.readline() or b"{}")
            if first.get("type") == "info":
                self.infos += 1
                if self.info is not None:
                    conn.sendall(json.dumps(self.info).encode() + b"\n")
                conn.close()
                continue
            self.joins.append(first)
            conn.sendall(json.dumps(dict(self.welcome, name=first.get("name"))).encode()
                         + b"\n")
            self.conn = conn
            try:
                for line in reader:
                    self.frames.put(json.loads(line))
            except OSError:
                return  # stop() shut it

    def send(self, *frames):
        for frame in frames:
            self.conn.sendall(json.dumps(frame).encode() + b"\n")

    def expect(self, kind):
        deadline = time.monotonic() + WAIT
        while True:
            frame = self.frames.get(timeout=max(0.01, deadline - time.monotonic()))
            if frame.get("type") == kind:
                return frame

    def stop(self):
        for sock in (self.listener, self.conn):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes accept() and readline()
                except OSError:
                    pass  # the window closed it first
                sock.close()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


@pytest.fixture
def scripted():
    made = []

    def make(**welcome):
        made.append(ScriptedServer(welcome, info=welcome.pop("info", None)))
        return made[-1]

    yield make
    for item in made:
        item.stop()


def said(number, sender, text, **extra):
    return dict({"type": "message", "id": number, "from": sender, "text": text,
                 "time": 1764410000.0 + number}, **extra)
