"""chat_app/client/connection.py without a server: what it reads and what it says.

Its sockets are tested against real servers: tests/wire/test_tls.py,
tests/relay/test_password_wait.py, tests/client/test_text_client.py.
"""

import socket

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.client.connection import (
    CONNECT_TIMEOUT,
    describe_connect_error,
    password_wait_seconds,
)


def test_a_password_wait_names_its_seconds_within_reason():
    assert password_wait_seconds({"seconds": 8}) == 8
    assert password_wait_seconds({"seconds": 2.5}) == 2.5
    assert password_wait_seconds({"seconds": 10 ** 9}) == 900
    for broken in ({}, {"seconds": "8"}, {"seconds": True}, {"seconds": -3},
                   {"seconds": float("nan")}):
        assert password_wait_seconds(broken) == 0


def test_a_failed_connection_is_explained_in_a_students_words():
    refused = describe_connect_error("192.0.2.9", 1234, ConnectionRefusedError())
    assert refused.startswith("Nothing is listening at 192.0.2.9 port 1234.")
    late = describe_connect_error("192.0.2.9", 1234, socket.timeout())
    assert "did not answer within %g seconds" % CONNECT_TIMEOUT in late
    assert "firewall allows port 1234" in late
    unknown = describe_connect_error("lab-pc", 1234, socket.gaierror(-2, "Name unknown"))
    assert unknown == "Cannot find the computer 'lab-pc'. Check the address the server printed."
    other = describe_connect_error("192.0.2.9", 1234, OSError(113, "No route to host"))
    assert other == "Cannot connect to 192.0.2.9 port 1234: No route to host."
