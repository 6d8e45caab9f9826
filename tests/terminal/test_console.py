"""The server's console (console.py): what each method prints, and where."""

import re

from helpers import Lines
from chat_app.terminal.console import QUIET, Console, can_stall


def test_a_console_to_memory_prints_at_once_and_one_to_a_file_through_its_thread(tmp_path):
    out = Lines()
    Console(out, out).info("at once")
    assert "at once" in out.text  # a test's sink cannot stall
    with open(str(tmp_path / "out"), "w") as handle:
        console = Console(handle, handle)
        console.info("later")
        console.close()
    with open(str(tmp_path / "out")) as handle:
        assert "later" in handle.read()


def test_news_goes_to_out_and_errors_to_err_each_with_the_time():
    out, err = Lines(), Lines()
    console = Console(out, err)
    console.info("amy joined (127.0.0.1)")
    console.error("warning: the disk is full")
    assert re.fullmatch(r"\d\d:\d\d:\d\d  amy joined \(127\.0\.0\.1\)\n", out.text)
    assert re.fullmatch(r"\d\d:\d\d:\d\d  warning: the disk is full\n", err.text)


def test_a_message_is_shown_as_at_a_terminal_after_its_label_and_text_as_it_is():
    out = Lines()
    console = Console(out, out)
    console.write("the banner")
    console.show({"type": "message", "id": 7, "from": "amy", "text": "hello", "time": 0.0}, "#7 ")
    console.show({"type": "no such frame"})  # not shown at a terminal: nothing printed
    lines = out.text.splitlines()
    assert lines[0] == "the banner"
    assert lines[1].startswith("#7 ") and "amy" in lines[1] and lines[1].endswith("hello")
    assert len(lines) == 2


def test_only_an_os_file_can_stall(tmp_path):
    assert not can_stall(Lines())
    with open(str(tmp_path / "out"), "w") as handle:
        assert can_stall(handle)


def test_the_quiet_console_drops_news_and_tells_errors_on_stderr(capsys):
    QUIET.info("amy joined")
    QUIET.show({"type": "message", "id": 1, "from": "amy", "text": "hi", "time": 0.0})
    QUIET.error("a fault")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "a fault\n"
