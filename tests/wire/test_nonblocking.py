"""Waiting for input on a socket, with poll() and with select() (Windows has no poll)."""

import select
import socket
import types

import pytest

from chat_app.wire import nonblocking


@pytest.fixture(params=["poll", "select"])
def wait_readable(request, monkeypatch):
    if request.param == "select":  # as on Windows
        monkeypatch.setattr(nonblocking, "select",
                            types.SimpleNamespace(select=select.select))
    elif not hasattr(select, "poll"):
        pytest.skip("this system has no poll()")
    return nonblocking.wait_readable


def test_it_tells_input_from_none_and_a_deadline_just_passed_is_a_look(wait_readable):
    ours, theirs = socket.socketpair()
    try:
        assert not wait_readable(ours, 0)
        assert not wait_readable(ours, -0.001)  # the deadline passed between check and call
        theirs.sendall(b"x")
        assert wait_readable(ours, -0.001)
        assert wait_readable(ours, None)
    finally:
        ours.close()
        theirs.close()
