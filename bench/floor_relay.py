"""The least a relay does in chat_app's fixed design: the floor for the bench.

    python3 bench/floor_relay.py PORT

A `socketserver.ThreadingTCPServer` with a thread per connection, as the
owner fixed for chat_app, and nothing else: each thread waits in poll(),
reads, splits lines, decodes each `say` with json, and sends the numbered
`message` line to every member (the sender too, as chat_app does), one
non-blocking send() each, under one lock.  No checks, no limits, no
timers, no history: it is not a chat server.  `bench/run.py --servers
floor,chat_app,miniircd` puts it beside the others, to tell what a thread
per connection costs by itself from what chat_app adds to it
(docs/benchmarks.md, "Why W1's CPU is not met").  Loopback only.
"""

import json
import select
import socket
import socketserver
import sys
import threading
import time

LOCK = threading.Lock()
MEMBERS = []  # the joined connections' sockets
LAST_ID = [0]


class Relay(socketserver.StreamRequestHandler):
    def handle(self):
        sock = self.connection
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name = json.dumps(json.loads(self.rfile.readline())["name"])
        sock.sendall(b'{"type":"welcome","name":%s}\n' % name.encode())
        sock.setblocking(False)
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        with LOCK:
            MEMBERS.append(sock)
        try:
            self.relay(sock, poller, name)
        finally:
            with LOCK:
                MEMBERS.remove(sock)

    def relay(self, sock, poller, name):
        rest = b""
        while True:
            poller.poll()
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                return
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            for line in lines:
                text = json.dumps(json.loads(line)["text"])
                with LOCK:
                    LAST_ID[0] += 1
                    out = ('{"type":"message","id":%d,"from":%s,"text":%s,"time":%r}\n'
                           % (LAST_ID[0], name, text, time.time())).encode()
                    for member in MEMBERS:
                        try:
                            member.send(out)
                        except OSError:
                            pass  # full or gone: the floor loses it (chat_app never does)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Relay).serve_forever()
