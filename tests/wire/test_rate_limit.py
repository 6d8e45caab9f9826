"""chat_app/wire/rate_limit.py: the token bucket, driven by a hand-moved clock.

The server's side (allow, next_due, the shared bucket) is tested with the
connection it holds back: tests/relay/test_session.py.  Here: reserve,
which the client paces its says with (client/link.py, tests/client/test_link.py).
"""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire.rate_limit import RateLimiter


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
