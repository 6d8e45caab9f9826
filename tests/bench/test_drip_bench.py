"""bench/drip.py, the drip attack's bench: a short real run against an in-process server.

No timing is asserted (docs/benchmarks.md has the figures); this checks
that the bench drips what it says and counts the chat it times.
"""

import os
import sys
import time

import pytest

from helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))

import drip  # noqa: E402
from chat_app.wire.protocol import MAX_FRAME_BYTES, LineSplitter


class InProcess:
    """What drip.py reads of a server: its port and CPU seconds (this process's)."""

    def __init__(self, server):
        self.port = server.port

    @staticmethod
    def cpu_seconds():
        return time.process_time()


def test_the_dripped_line_is_the_longest_the_server_takes():
    line = drip.say_line()
    assert drip.LINE_BYTES == MAX_FRAME_BYTES
    assert LineSplitter().feed(line) == [line[:-1]] and len(line) == MAX_FRAME_BYTES + 1


@pytest.mark.system
def test_a_short_drip_is_answered_and_the_chat_is_timed(make_server):
    server = make_server("--rate-limit", "0")
    cpu, wall = drip.one_line(InProcess(server), size=5000)  # over --max-text: text_too_long
    assert cpu >= 0 and wall > 0
    figures = drip.room(InProcess(server), senders=2, quiet_seconds=0.5, drip_seconds=1.0)
    assert figures["lost"] == 0
    assert figures["quiet_p50_ms"] > 0 and figures["drip_p50_ms"] > 0
    server.wait_connections(0)
