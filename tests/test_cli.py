"""chat.pyz on the command line, run as a person would run it."""

import re
import signal
import socket
import subprocess
import sys

import pytest

from helpers import LOOPBACK, WAIT, Client, ServerProcess, as_student, require
from chat_app.relay import listener as server_module
from chat_app.cli import AddressError, client_address
from chat_app.wire.teacher_id import TeacherKeys
from chat_app.relay.listener import listen_address


def run(pyz, *args):
    return subprocess.run([sys.executable, pyz] + list(args), capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.mark.system
def test_help_explains_the_modes(pyz):
    # With no arguments chat.pyz opens the client window, which looks for rooms
    # on the network: that runs only inside a lab (test_noaddress.py).
    result = run(pyz, "--help")
    assert result.returncode == 0
    assert "python3 chat.pyz server" in result.stdout
    assert "python3 chat.pyz client" in result.stdout
    assert "On Windows, students type py instead of python3." in result.stdout
    assert "as by a double-click, chat.pyz opens the client window" in " ".join(
        result.stdout.split())
    modes = re.search(r"\{([a-z,]+)\}", result.stdout).group(1).split(",")
    assert {"server", "client"} <= set(modes)


@pytest.mark.system
def test_version(pyz):
    result = run(pyz, "--version")
    assert result.returncode == 0 and result.stdout.strip() == "chat_app 0.1"


@pytest.mark.system
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


@pytest.mark.system
def test_client_help_lists_every_option(pyz):
    text = " ".join(run(pyz, "client", "--help").stdout.split())
    for option in ("--host", "--port", "--name", "--password", "--text"):
        assert option in text
    assert "(default: look for the rooms on this network)" in text
    assert "(default: 1234); with no address, rooms are looked for on this port too" in text


@pytest.mark.system
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


@pytest.mark.system
def test_port_in_use_is_one_line_naming_a_port_that_is_free(pyz):
    holders = [socket.socket(), socket.socket()]
    holders[0].bind((LOOPBACK, 0))
    holders[0].listen(1)
    port = holders[0].getsockname()[1]
    try:  # the port after it is taken too (if someone else has it, all the better)
        holders[1].bind((LOOPBACK, port + 1))
        holders[1].listen(1)
    except OSError:
        pass
    try:
        result = run(pyz, "server", "--host", LOOPBACK, "--port", str(port))
    finally:
        for holder in holders:
            holder.close()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "port %d is already in use" % port in result.stderr
    suggested = int(re.search(r"--port (\d+), which is free", result.stderr).group(1))
    assert port + 2 <= suggested <= port + 9
    assert server_module.can_listen(LOOPBACK, suggested)


def test_the_advice_names_the_first_free_port_or_says_to_pick_one(monkeypatch):
    taken = {1235, 1236}
    assert server_module.free_port_after(1234, lambda port: port not in taken) == 1237
    assert server_module.free_port_after(1234, lambda port: False) is None
    assert server_module.free_port_after(65534, lambda port: port == 65535) == 65535

    class Options:
        host, port = LOOPBACK, 1234

    class InUse(OSError):
        errno = server_module.errno.EADDRINUSE

    monkeypatch.setattr(server_module, "can_listen", lambda host, port: False)
    text = server_module._bind_error(Options(), InUse())
    assert "ports 1235 to 1243 are taken too" in text and "any free port above 1024" in text


@pytest.mark.system
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


@pytest.mark.system
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


@pytest.mark.system
def test_banner_says_how_to_connect(pyz):
    server = ServerProcess(sys.executable, pyz)
    try:
        out = server.out
        assert "chat_app 0.1 server listening on port %d" % server.port in out
        # Its room: the computer's name, findable on this computer only (--host 127.0.0.1).
        assert "\nRoom: chat on %s (listed in students' windows" % socket.gethostname() in out
        assert "python3 chat.pyz client 127.0.0.1:%d" % server.port in out
        assert "nc 127.0.0.1 %d" % server.port in out
        # Started without a terminal (as with nohup): how to stop it from elsewhere.
        assert "Stop the server with Ctrl+C where it runs, or with 'kill %d'." % (
            server.process.pid) in out
    finally:
        server.stop()


@pytest.mark.system
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


@pytest.mark.system
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


@pytest.mark.system
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


def banner_of(port=1234):
    """Return the banner of a room "Lab 3" on every address, port `port`, answering discovery."""

    class Options:
        host, password, log = "", None, None

    class Room:
        name = "Lab 3"

    class Server:
        server_address = ("::", port)
        tls_fingerprint = None
        room = Room()
        responder = object()  # answering discovery
        teacher_keys = TeacherKeys()  # no token file: the banner says only the teacher password

    Options.port = port
    return server_module.banner(Server(), Options())


def test_banner_lists_reachable_addresses(monkeypatch):
    monkeypatch.setattr(server_module, "reachable_addresses", lambda: ["192.0.2.7", "2001:db8::7"])
    text = banner_of()
    assert "\nRoom: Lab 3 (listed in students' windows: they double-click" in text
    assert "python3 chat.pyz client 192.0.2.7\n" in text
    assert "or:  python3 chat.pyz client 2001:db8::7\n" in text
    assert "\n                        On Windows, students type py instead of python3.\n" in text
    assert "nc 192.0.2.7 1234" in text
    monkeypatch.setattr(server_module, "reachable_addresses", lambda: [])
    text = banner_of()
    assert "python3 chat.pyz client ADDRESS\n" in text and "ipconfig" in text
    monkeypatch.setattr(server_module, "reachable_addresses", lambda: ["192.0.2.7", "2001:db8::7"])
    text = banner_of(1235)
    assert "python3 chat.pyz client 192.0.2.7:1235\n" in text
    assert "or:  python3 chat.pyz client [2001:db8::7]:1235\n" in text
    assert "nc 192.0.2.7 1235" in text


def test_ipv4_clients_of_a_dual_stack_server_show_plain_addresses():
    from chat_app.relay.handler import display_address
    assert display_address("::ffff:192.0.2.40") == "192.0.2.40"
    assert display_address("192.0.2.40") == "192.0.2.40"
    assert display_address("2001:db8::1") == "2001:db8::1"
    assert display_address("fe80::1%eth0") == "fe80::1%eth0"


def test_the_address_may_come_positionally_or_with_host_but_the_port_only_once():
    here, there = ("10.0.0.5", 1235), ("10.0.0.5", None)
    assert client_address(here, None, None) == here
    assert client_address(None, here, None) == here
    assert client_address(here, here, 1235) == here
    assert client_address(there, None, 1236) == ("10.0.0.5", 1236)
    # A bare host is the default port, not the port remembered from another room.
    assert client_address(("10.0.0.7", None), None, None) == ("10.0.0.7", 1234)
    assert client_address(None, ("10.0.0.7", None), None) == ("10.0.0.7", 1234)
    assert client_address(None, None, 1236) == (None, 1236)
    assert client_address(None, None, None) == (None, None)
    with pytest.raises(AddressError, match=r"port is given twice.*10\.0\.0\.5:1235 and --port 1236"):
        client_address(None, here, 1236)
    with pytest.raises(AddressError, match=r"\[::1\]:1235 and --port 1236"):
        client_address(("::1", 1235), None, 1236)
    with pytest.raises(AddressError, match="address is given twice"):
        client_address(here, ("10.0.0.6", None), None)


def ipv6_loopback_works():
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        probe.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def join_from_the_terminal_client(pyz, server, *address):
    """Run `chat.pyz client ADDRESS --text`, say one line, and check the room got it."""
    result = subprocess.run([sys.executable, pyz, "client"] + list(address)
                            + ["--text", "--name", "cy"], input=b"hi by address\n",
                            capture_output=True, timeout=WAIT * 3, env=as_student())
    assert result.returncode == 0, result.stderr
    server.wait_for(r"<cy> hi by address")


@pytest.mark.system
def test_the_client_takes_host_colon_port_positionally_and_ipv6_in_brackets(pyz, tmp_path):
    server = ServerProcess(sys.executable, pyz, cwd=str(tmp_path))
    try:
        join_from_the_terminal_client(pyz, server, "127.0.0.1:%d" % server.port)
        result = run(pyz, "client", "127.0.0.1:%d" % server.port, "--port", "1", "--text")
        assert result.returncode == 2 and "the port is given twice" in result.stderr
        assert result.stderr.count("\n") == 1
    finally:
        server.stop()
    require(ipv6_loopback_works(), "IPv6 on the loopback interface (::1)")
    server = ServerProcess(sys.executable, pyz, "--host", "::1", cwd=str(tmp_path))
    try:
        join_from_the_terminal_client(pyz, server, "[::1]:%d" % server.port)
    finally:
        server.stop()


@pytest.mark.system
def test_a_port_after_a_space_is_explained(pyz):
    result = run(pyz, "client", "127.0.0.1", "1235")
    assert result.returncode == 2
    assert "a port goes after the address with a colon" in result.stderr
    assert "client ADDRESS:1235" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
