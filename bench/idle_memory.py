"""An idle server's memory, plain and with a password (which loads OpenSSL).

    python3 bench/idle_memory.py             # 3 runs, alternating; median [min-max]
    python3 bench/idle_memory.py --runs 5

Each run starts chat_app's server fresh on 127.0.0.1 (bench/servers.py),
once as it is and once with --password (hashlib's PBKDF2 and HMAC come
from OpenSSL, through _hashlib), waits until it takes a connection, closes
that connection, and reads the process's resident memory (VmRSS) from
/proc.  wire/nonblocking.py loads ssl only when encryption is used, and
wire/scram.py its hashes only when a password is: this shows what a room
without either keeps.  Linux only.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from servers import ChatApp  # noqa: E402


class WithPassword(ChatApp):
    name = "chat_app --password"

    def command(self):
        return super().command() + ["--password", "owl"]


def rss_mib(server):
    """Return the process's resident memory now (VmRSS), in MiB."""
    with open("/proc/%d/status" % server.process.pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS for %s" % server.name)


def run_once(kind):
    server = kind()
    try:
        server.start()
        return rss_mib(server)
    finally:
        server.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    figures = {ChatApp: [], WithPassword: []}
    for unused in range(options.runs):  # the two take turns in every run
        for kind, values in figures.items():
            values.append(run_once(kind))
    print("idle server, VmRSS MiB, %d runs: median [min-max]" % options.runs)
    for kind, values in figures.items():
        print("  %-20s %.1f [%.1f-%.1f]" % (kind.name, statistics.median(values),
                                           min(values), max(values)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
