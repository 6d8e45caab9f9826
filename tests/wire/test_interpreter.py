"""Printed commands name the interpreter that exists on that kind of computer.

Linux lab machines and macOS have `python3` (often no `python`); Windows
has the `py` launcher.  Lines read on this computer name its own; lines
read on students' computers of unknown kind name both.  Each place is
checked with sys.platform set to each kind (interpreter.py looks it up at
every call).
"""

import sys

import pytest

from fake_finder import found
from chat_app.wire import interpreter, protocol
from chat_app.discovery.finder import join_command, report

KINDS = {"linux": "python3", "darwin": "python3", "win32": "py"}


@pytest.fixture(params=sorted(KINDS))
def kind(request, monkeypatch):
    """Run the test as on Linux, macOS and Windows; return that kind's interpreter."""
    monkeypatch.setattr(sys, "platform", request.param)
    return KINDS[request.param]


def test_the_command_names_this_kind_of_computers_interpreter(kind):
    assert interpreter.command("client --text ADDRESS") == kind + " chat.pyz client --text ADDRESS"
    assert interpreter.command() == kind + " chat.pyz"


def test_a_line_read_anywhere_names_both(kind):
    both = interpreter.for_anyone("client ADDRESS")
    assert both == "'python3 chat.pyz client ADDRESS' (on Windows: 'py chat.pyz client ADDRESS')"
    words = protocol.ERROR_MESSAGES["tls_required"]
    assert "'python3 chat.pyz client --tls --tls-fingerprint \"...\" ADDRESS'" in words
    assert "(on Windows: 'py chat.pyz client --tls --tls-fingerprint \"...\" ADDRESS')" in words
    assert "'python chat" not in words


def test_the_banner_names_this_computers_interpreter_and_the_other_kinds(kind, monkeypatch):
    from chat_app.relay import listener as server_module
    from test_cli import banner_of
    monkeypatch.setattr(server_module, "reachable_addresses", lambda: ["192.0.2.7"])
    lines = banner_of().split("\n")
    assert "Students connect with:  %s chat.pyz client 192.0.2.7" % kind in lines
    other = "On Windows, students type py instead of python3." if kind == "python3" else (
        "On Linux and macOS, students type python3 instead of py.")
    assert " " * len("Students connect with:  ") + other in lines
    assert "run '%s chat.pyz client'" % kind in lines[1]
    assert "python chat" not in "\n".join(lines)


def test_find_and_its_advice_name_this_computers_interpreter(kind):
    assert join_command(found("Lab 3", 1234, "10.0.0.5")) == kind + " chat.pyz client 10.0.0.5"
    status, advice = report([], 1.5, [1234])
    assert status == 1
    assert "  %s chat.pyz client ADDRESS\n" % kind in advice
    assert "(%s chat.pyz server)" % kind in advice
    assert "python chat" not in advice


def test_the_command_lines_help_and_errors_name_this_computers_interpreter(kind, capsys):
    from chat_app import cli
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["client", "192.0.2.7", "1235"])
    error = capsys.readouterr().err
    assert "for example %s chat.pyz client ADDRESS:1235" % kind in error
    assert "(see: %s chat.pyz --help)" % kind in error
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    assert "Everyone else runs:   %s chat.pyz client\n" % kind in capsys.readouterr().out


def test_the_clients_and_teachs_advice_name_this_computers_interpreter(kind):
    from chat_app.client import text_client as client_text
    from chat_app import teach
    assert "for example %s chat.pyz client --text ADDRESS:PORT" % kind in (
        client_text.SEVERAL_ROOMS_PIPED % interpreter.command("client --text ADDRESS:PORT"))
    assert "'%s chat.pyz server'" % kind in teach.NO_TK % interpreter.command("server")
