"""chat_app/client/link.py: the pacing of says and the count of a paced run, without I/O."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.client.link import Progress, pacing_bucket
from chat_app.wire.rate_limit import RateLimiter


# --- pacing ---------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_pacer_lets_a_burst_through_then_paces_inside_the_servers_rate():
    clock = FakeClock()
    pacer = pacing_bucket(rate=10, burst=5, clock=clock)
    delays = [pacer.reserve() for _ in range(3)]  # the burst, less a margin of two
    assert delays == [0, 0, 0]
    wait = pacer.reserve()
    assert wait == pytest.approx(1 / 9.0)  # 10 a second, less the margin
    clock.now += wait
    assert pacer.reserve() == pytest.approx(1 / 9.0)
    clock.now += 60
    assert pacer.reserve() == 0
    assert pacing_bucket(rate=0, burst=5, clock=clock).reserve() == 0  # no limit


def test_a_sender_waiting_the_pacers_delays_never_exceeds_the_server_bucket():
    clock = FakeClock()
    server = RateLimiter(5, 20, clock=clock)
    pacer = pacing_bucket(5, 20, clock=clock)
    for _ in range(200):
        clock.now += pacer.reserve()
        assert server.allow()


# --- a paced run ----------------------------------------------------------------

def test_a_paced_run_counts_on_across_a_reconnect():
    progress = Progress()
    for _ in range(61):
        progress.added()
    assert progress.pacing() == (True, (0, 61))
    events = [progress.written() for _ in range(22)]
    assert events[-1] == ("sending", (22, 61))
    progress.sending_again(29)  # the rejoin: 32 reached the room, 29 go again
    assert progress.waiting() == 29
    assert progress.written() == ("sending", (33, 61))
    events = [progress.written() for _ in range(28)]
    assert events[-1] == ("sent", 61) and progress.waiting() == 0


def test_a_run_that_nothing_continues_after_a_reconnect_ends():
    progress = Progress()
    for _ in range(30):
        progress.added()
    progress.pacing()
    progress.written()
    progress.dropped()  # the line dropped; the rejoin had nothing to send again
    progress.added()
    assert progress.waiting() == 1 and progress.written() is None  # a new, unpaced run
