"""chat.pyz on the command line, run as a person would run it."""

import re
import signal
import socket
import subprocess
import sys

import pytest

from helpers import LOOPBACK, WAIT, Client, ServerProcess
from chat_app import server as server_module
from chat_app.server import listen_address


def run(pyz, *args):
    return subprocess.run([sys.executable, pyz] + list(args), capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_no_arguments_explains_both_modes(pyz):
    result = run(pyz)
    assert result.returncode == 0
    assert "python chat.pyz server" in result.stdout and "python chat.pyz client" in result.stdout


def test_version(pyz):
    result = run(pyz, "--version")
    assert result.returncode == 0 and result.stdout.strip() == "chat_app 0.1"


def test_server_help_lists_every_option_with_its_default(pyz):
    help_text = run(pyz, "server", "--help").stdout
    text = " ".join(help_text[help_text.index("-h, --help"):].split())
    for option, default in [
        ("--host", "every address"), ("--port", "1234"), ("--password", "none"),
        ("--history", "100"), ("--log", "no file"), ("--max-clients", "1000"),
        ("--max-text", "4000"), ("--rate-limit", "5"), ("--join-timeout", "30"),
        ("--ping-interval", "60"), ("--ping-timeout", "30"),
    ]:
        found = re.search(re.escape(option) + r" \S+ (.*?)\(default: ([^)]*)\)", text)
        assert found, option
        assert default in found.group(2), (option, found.group(2))


def test_client_help_lists_every_option(pyz):
    text = " ".join(run(pyz, "client", "--help").stdout.split())
    for option in ("--host", "--port", "--name", "--password", "--text"):
        assert option in text
    assert "(default: the last one joined, else 127.0.0.1)" in text
    assert "(default: the last one joined, else 1234)" in text


@pytest.mark.parametrize("args, named", [
    (["server", "--port", "abc"], "--port"),
    (["server", "--port", "70000"], "--port"),
    (["server", "--history", "-1"], "--history"),
    (["server", "--max-text", "0"], "--max-text"),
    (["server", "--rate-limit", "fast"], "--rate-limit"),
    (["server", "--bogus"], "--bogus"),
    (["client", "--port", ""], "--port"),
    (["dance"], "dance"),
])
def test_bad_options_are_one_line(pyz, args, named):
    result = run(pyz, *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and named in result.stderr, result.stderr
    assert "--help" in result.stderr and "Traceback" not in result.stderr


def test_port_in_use_is_one_line_naming_the_port(pyz):
    holder = socket.socket()
    holder.bind((LOOPBACK, 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        result = run(pyz, "server", "--host", LOOPBACK, "--port", str(port))
    finally:
        holder.close()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "port %d is already in use" % port in result.stderr
    assert "--port %d" % (port + 1) in result.stderr


@pytest.mark.parametrize("make_path", [
    lambda tmp: str(tmp / "missing" / "room.jsonl"),
    lambda tmp: str(tmp),
])
def test_unusable_log_file_is_one_line(pyz, tmp_path, make_path):
    path = make_path(tmp_path)
    result = run(pyz, "server", "--host", LOOPBACK, "--port", "0", "--log", path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and path in result.stderr, result.stderr
    assert "--log" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_with_clients_connected_is_clean_and_quick(pyz, sig):
    server = ServerProcess(sys.executable, pyz)
    try:
        amy = Client(server.port)
        amy.join("amy")
        person = Client(server.port)
        person.send_raw(b"bob\n")
        amy.expect("joined", name="bob")
        unjoined = Client(server.port)
        assert "Type your name" in unjoined.read_text()  # it is being served
        server.wait_for("bob joined")
        status, took = server.stop(sig)
        assert status == 0 and took < 2, (status, took)
        assert amy.expect("bye")["reason"]
        amy.assert_closed()
        assert any(b"The server closed the connection" in line
                   for line in person.assert_closed())
        assert b'"bye"' in unjoined.assert_closed()[0]
        assert "Traceback" not in server.err and server.err == ""
        assert "server stopped" in server.out
    finally:
        server.kill()


def test_banner_says_how_to_connect(pyz):
    server = ServerProcess(sys.executable, pyz)
    try:
        out = server.out
        assert "chat_app 0.1 server listening on port %d" % server.port in out
        assert "python chat.pyz client --host 127.0.0.1 --port %d" % server.port in out
        assert "nc 127.0.0.1 %d" % server.port in out
        assert "Ctrl+C" in out
    finally:
        server.stop()


def test_banner_says_whether_a_password_is_set_and_the_room_logged(pyz, tmp_path):
    server = ServerProcess(sys.executable, pyz, cwd=str(tmp_path))
    try:
        assert "\nPassword: none\n" in server.out
        assert "\nLog: off (start with --log FILE to keep a transcript)\n" in server.out
    finally:
        server.stop()
    server = ServerProcess(sys.executable, pyz, "--password", "s3cret", "--log", "chat.log",
                           cwd=str(tmp_path))
    try:
        assert "\nPassword: set (students are asked for it)\n" in server.out
        assert "\nLog: chat.log (history reloads after a restart)\n" in server.out
        assert "s3cret" not in server.out  # the board is not the place for it
    finally:
        server.stop()


def test_ipv6_loopback(pyz):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    server = ServerProcess(sys.executable, pyz, "--host", "::1")
    try:
        client = socket.create_connection(("::1", server.port), timeout=WAIT)
        client.sendall(b'{"type":"join","name":"six"}\n')
        assert b'"welcome"' in client.recv(4096)
        client.close()
    finally:
        server.stop()


def test_default_listens_on_ipv4_and_ipv6(make_server, monkeypatch):
    family, address = listen_address("", 0)
    if family != socket.AF_INET6:
        pytest.skip("no dual-stack IPv6 here")
    assert address[0] == "::"
    server = make_server("--host", "")
    for host in ("127.0.0.1", "::1"):
        client = socket.create_connection((host, server.port), timeout=WAIT)
        client.sendall(b'{"type":"ping"}\n')
        assert client.recv(100) == b'{"type":"pong"}\n'
        client.close()


def test_banner_lists_reachable_addresses(monkeypatch):
    monkeypatch.setattr(server_module, "reachable_addresses", lambda: ["192.0.2.7", "2001:db8::7"])

    class Options:
        host, port, password, log = "", 1234, None, None

    class Server:
        server_address = ("::", 1234)
        tls_fingerprint = None

    text = server_module.banner(Server(), Options())
    assert "python chat.pyz client --host 192.0.2.7\n" in text
    assert "or:  python chat.pyz client --host 2001:db8::7" in text
    assert "nc 192.0.2.7 1234" in text
    monkeypatch.setattr(server_module, "reachable_addresses", lambda: [])
    text = server_module.banner(Server(), Options())
    assert "--host ADDRESS" in text and "ipconfig" in text


def test_reachable_addresses_leave_out_loopback(monkeypatch):
    from chat_app import local_addresses
    monkeypatch.setattr(local_addresses, "_host_name_addresses", lambda: [
        "127.0.1.1", "::1", "fe80::1%eth0", "2001:db8::5", "192.0.2.5", "0.0.0.0"])
    monkeypatch.setattr(local_addresses, "_linux_interface_addresses",
                        lambda: ["127.0.0.1", "198.18.0.2", "192.0.2.5"])
    monkeypatch.setattr(local_addresses.sys, "platform", "linux")
    assert local_addresses.reachable_addresses() == ["192.0.2.5", "198.18.0.2", "2001:db8::5"]


def test_ipv4_clients_of_a_dual_stack_server_show_plain_addresses():
    from chat_app.handler import display_address
    assert display_address("::ffff:192.0.2.40") == "192.0.2.40"
    assert display_address("192.0.2.40") == "192.0.2.40"
    assert display_address("2001:db8::1") == "2001:db8::1"
    assert display_address("fe80::1%eth0") == "fe80::1%eth0"
