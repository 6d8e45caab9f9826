"""The token bucket (rate_limit.py) on its own, driven by a hand-held clock: a burst at
once, then the sustained rate, the next token's time, no limit at rate 0, and one
computer's connections sharing one bucket."""

import threading

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire.rate_limit import DEFAULT_BURST, DEFAULT_RATE, RateLimiter, SharedRateLimiter


def test_a_burst_goes_at_once_then_one_token_each_interval():
    bucket = RateLimiter(rate=2.0, burst=3, now=0.0)
    assert [bucket.allow(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.next_due(0.0) == pytest.approx(0.5)
    assert not bucket.allow(0.4)
    assert bucket.allow(0.5) and not bucket.allow(0.5)
    assert bucket.next_due(0.5) == pytest.approx(1.0)


def test_a_token_due_now_by_next_due_counts_as_there():
    bucket = RateLimiter(rate=3.0, burst=1, now=0.0)
    assert bucket.allow(0.0)
    due = bucket.next_due(0.0)
    assert due == pytest.approx(1 / 3.0)
    assert bucket.allow(due)  # no rounding leaves it a hair short


def test_an_idle_bucket_fills_up_to_its_burst_and_no_further():
    bucket = RateLimiter(rate=5.0, burst=4, now=0.0)
    for _ in range(4):
        assert bucket.allow(0.0)
    assert [bucket.allow(3600.0) for _ in range(5)] == [True] * 4 + [False]
    assert bucket.next_due(3600.0) == pytest.approx(3600.2)


def test_a_clock_that_goes_back_gives_no_tokens():
    bucket = RateLimiter(rate=1.0, burst=1, now=10.0)
    assert bucket.allow(10.0)
    assert not bucket.allow(5.0) and not bucket.allow(10.5)
    assert bucket.allow(11.0)


def test_rate_zero_is_no_limit():
    bucket = RateLimiter(rate=0, burst=1, now=0.0)
    assert all(bucket.allow(0.0) for _ in range(1000))
    assert bucket.next_due(7.0) == 7.0 and bucket.rate == 0.0


def test_the_clock_given_is_read_when_no_time_is():
    now = [100.0]
    bucket = RateLimiter(rate=1.0, burst=1, clock=lambda: now[0])
    assert bucket.allow() and not bucket.allow()
    assert bucket.next_due() == pytest.approx(101.0)
    now[0] = 101.0
    assert bucket.allow()


def test_the_defaults_are_five_a_second_and_twenty_at_once():
    bucket = RateLimiter(now=0.0)
    assert (bucket.rate, DEFAULT_RATE, DEFAULT_BURST) == (5.0, 5.0, 20)
    assert sum(bucket.allow(0.0) for _ in range(25)) == 20


def test_a_shared_bucket_gives_its_connections_one_computers_rate_together():
    shared = SharedRateLimiter(rate=10.0, burst=50, now=0.0)
    taken = []

    def connection():
        taken.append(sum(shared.allow(0.0) for _ in range(40)))
    threads = [threading.Thread(target=connection) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(taken) == 50  # the burst, once, however many ask at the same moment
    assert shared.next_due(0.0) == pytest.approx(0.1)


def test_reserve_lets_the_burst_through_then_says_when_each_next_token_is_due():
    bucket = RateLimiter(rate=4, burst=2, now=10.0)
    assert [bucket.reserve(now=10.0) for _ in range(2)] == [0, 0]
    assert bucket.reserve(now=10.0) == pytest.approx(0.25)
    assert bucket.reserve(now=10.0) == pytest.approx(0.5)  # behind the one reserved before
    assert bucket.reserve(now=10.5) == pytest.approx(0.25)
    assert bucket.reserve(now=20.0) == 0  # the burst is back, no more


def test_a_reserved_token_is_not_there_for_allow_until_it_is_paid_back():
    bucket = RateLimiter(rate=2, burst=1, now=0.0)
    assert bucket.reserve(now=0.0) == 0
    assert bucket.reserve(now=0.0) == pytest.approx(0.5)
    assert not bucket.allow(now=0.5)  # the token due at 0.5 was reserved
    assert bucket.next_due(now=0.5) == pytest.approx(1.0)
    assert bucket.allow(now=1.0)


def test_reserve_without_a_limit_never_waits():
    bucket = RateLimiter(rate=0, burst=1, now=0.0)
    assert [bucket.reserve(now=0.0) for _ in range(100)] == [0] * 100
