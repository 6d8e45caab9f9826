"""SIGHUP (the teacher's terminal closed) and SIGBREAK end the server as SIGTERM does."""

import signal
import sys
import threading

import pytest

from helpers import WAIT, Client, ServerProcess, require, wait_until
from chat_app.terminal import console_close
from chat_app.relay import listener as server_module

# The figure: clients connected when the hang-up comes.
CLIENTS = 50


@pytest.mark.system
def test_sighup_says_bye_to_every_client_and_exits_as_sigterm_does(pyz):
    require(hasattr(signal, "SIGHUP"), "SIGHUP (Unix)")
    server = ServerProcess(sys.executable, pyz)
    try:
        clients = [Client(server.port) for _ in range(CLIENTS)]
        for number, client in enumerate(clients):
            client.join("s%d" % number)
        server.wait_for(r"s%d joined" % (CLIENTS - 1))
        status, _ = server.stop(signal.SIGHUP)
        assert status == 0  # as for SIGTERM (test_cli)
        for client in clients:
            assert client.expect("bye")["reason"] == "The server is shutting down."
        assert "server stopped (%d connection(s) closed)" % CLIENTS in server.out
        assert server.err == ""
    finally:
        server.kill()


def caught_stop_signals():
    """Run catch_stop_signals; return {signal: handler now}, every handler then put back."""
    saved = {getattr(signal, name): signal.getsignal(getattr(signal, name))
             for name in server_module.STOP_SIGNALS if hasattr(signal, name)}
    try:
        server_module.catch_stop_signals(server_module._raise_terminate)
        return {signum: signal.getsignal(signum) for signum in saved}
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_every_stop_signal_the_system_has_is_caught():
    # SIGBREAK (Windows: the console window closed) is looked up the same
    # way; this machine has only the ones it has.
    caught = caught_stop_signals()
    assert signal.SIGTERM in caught
    assert set(caught) == {getattr(signal, name) for name in server_module.STOP_SIGNALS
                           if hasattr(signal, name)}
    assert set(caught.values()) == {server_module._raise_terminate}


def test_a_hang_up_ignored_at_start_stays_ignored():
    require(hasattr(signal, "SIGHUP"), "SIGHUP (Unix)")
    saved = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as 'nohup' starts a program
    try:
        caught = caught_stop_signals()
    finally:
        signal.signal(signal.SIGHUP, saved)
    assert caught[signal.SIGHUP] is signal.SIG_IGN
    assert caught[signal.SIGTERM] is server_module._raise_terminate


def test_a_closing_windows_console_stops_the_server_and_waits_for_the_goodbyes():
    # Windows calls the handler on a thread of its own; here the test is that thread.
    stopping = []
    closing = console_close.ConsoleClose(stop=lambda: stopping.append(True))
    answer = []
    thread = threading.Thread(
        target=lambda: answer.append(closing.handle(console_close.CTRL_CLOSE_EVENT)))
    thread.start()
    wait_until(lambda: stopping, WAIT, "the server to be asked to stop")
    assert thread.is_alive()  # Windows would end the process once the handler returns
    closing.stopped()
    thread.join(WAIT)
    assert answer == [True]


def test_ctrl_c_and_ctrl_break_are_left_to_their_signals():
    closing = console_close.ConsoleClose(stop=lambda: pytest.fail("stopped on Ctrl+C"))
    assert closing.handle(0) is False and closing.handle(1) is False


def test_no_console_handler_is_installed_outside_windows():
    require(sys.platform != "win32", "a system other than Windows")
    assert console_close.ConsoleClose(stop=lambda: None).install() is False
