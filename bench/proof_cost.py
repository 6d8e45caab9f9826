"""What proving a password costs: PBKDF2, the server's check, and a whole join.

    python3 bench/proof_cost.py                 # 5 rounds of each; median [min-max]
    python3 bench/proof_cost.py --joins 20

Measures, in this process and against chat_app's server started from this
checkout on 127.0.0.1 (bench/servers.py) with a room and a teacher password:

1. SaltedPassword at scram.ITERATIONS: what a client pays once per password
   after each server start (reconnects take it from its cache), what the
   server pays once per secret at start, and what a fake room that
   recorded a proof pays per guess, on one core of this machine.
2. the server's check of one proof (HMACs and a SHA-256, no PBKDF2).
3. joins, connect to welcome: proving both passwords the first time (two
   PBKDF2), then with the client's cache (none), and sending them as an
   older client does (no proof at all).

Bounded: a fixed count of each. Everything runs on 127.0.0.1.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chat_app.wire import scram
from chat_app.client.connection import ServerConnection
from servers import LOOPBACK, ChatApp  # noqa: E402

ROOM, TEACHER = "room-pw-42", "T-secret-7"


class PasswordRoom(ChatApp):
    def command(self):
        return ChatApp.command(self) + ["--password", ROOM, "--teacher-password", TEACHER,
                                        "--no-discovery", "--max-per-ip", "0"]


def timed(action, count):
    """Return the seconds each of `count` calls of action() took."""
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def shown(seconds, unit=1000.0):
    values = [value * unit for value in seconds]
    return "%.2f [%.2f-%.2f]" % (statistics.median(values), min(values), max(values))


def join(port, name, fields=None, password=ROOM, proving=True):
    connection = ServerConnection.open(LOOPBACK, port)
    try:
        if proving:
            connection.join(name, password, fields=fields)
        else:  # as an older client: the passwords in the join
            connection.send(dict(fields or {}, type="join", name=name, password=password))
            while connection.receive().get("type") != "welcome":
                pass
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--joins", type=int, default=10)
    options = parser.parse_args()
    salt = os.urandom(scram.SALT_BYTES)
    derive = timed(lambda: scram.salted_password(ROOM, salt, scram.ITERATIONS), options.rounds)
    verifier = scram.Verifier.make(ROOM)
    login = scram.ServerLogin("amy", scram.new_nonce(), {"password": verifier}, "tcp:x:1")
    client = scram.ClientLogin("amy", {"password": ROOM}, lambda: "tcp:x:1")
    login.take_proof(client.proof(scram.ServerLogin(
        "amy", client.nonce, {"password": verifier}, "tcp:x:1").challenge()))
    check = timed(lambda: login.check("password"), 1000)
    print("PBKDF2-HMAC-SHA256, %d rounds: %s ms (one core: %.1f guesses a second)"
          % (scram.ITERATIONS, shown(derive), 1.0 / statistics.median(derive)))
    print("server's check of one proof: %s us" % shown(check, 1e6))
    server = PasswordRoom()
    server.start()
    try:
        teacher = {"teacher_password": TEACHER}
        first = []
        for number in range(options.joins):  # a new salt each time: a fresh server's cost
            scram.SALTED = scram.SaltedCache()
            first.extend(timed(lambda: join(server.port, "a%d" % number, teacher), 1))
        cached = [timed(lambda: join(server.port, "b%d" % number, teacher), 1)[0]
                  for number in range(options.joins)]
        sent = [timed(lambda: join(server.port, "c%d" % number, teacher, proving=False), 1)[0]
                for number in range(options.joins)]
        print("join proving both passwords, first after a server start: %s ms" % shown(first))
        print("join proving both passwords, reconnect (cached): %s ms" % shown(cached))
        print("join sending both passwords (an older client): %s ms" % shown(sent))
        print("server CPU, its start (two verifiers) and the %d joins: %.2f s"
              % (3 * options.joins, server.cpu_seconds()))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
