"""chat_app/wire/commands.py: typed lines read as commands, a student's and a teacher's."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire.commands import (
    HELP_TEXT,
    KINDS,
    CommandError,
    control_frame,
    parse_line,
    run_line,
    teacher_help,
)


# --- commands ------------------------------------------------------------------

@pytest.mark.parametrize("line, kind, target, text", [
    ("hello", "say", "", "hello"),
    ("/me waves", "say", "", "/me waves"),
    ("/msg bob see you", "msg", "bob", "see you"),
    ("/MSG bob hi", "msg", "bob", "hi"),
    ("/who", "who", "", ""),
    ("/help", "help", "", ""),
    ("/quit", "quit", "", ""),
    ("//not a command", "say", "", "/not a command"),
])
def test_parse_line(line, kind, target, text):
    command = parse_line(line)
    assert (command.kind, command.target, command.text) == (kind, target, text)


@pytest.mark.parametrize("line, why", [("/msg", "Usage: /msg"), ("/msg bob", "Usage: /msg"),
                                       ("/me", "Usage: /me"), ("/dance", "Unknown command")])
def test_bad_commands_explain(line, why):
    with pytest.raises(CommandError) as caught:
        parse_line(line)
    assert why in str(caught.value)


def test_run_line_hands_each_kind_to_its_handler():
    seen = []
    handlers = {kind: (lambda kind: lambda command: seen.append((kind, command.text)))(kind)
                for kind in KINDS}
    for line in ("hi", "/msg bob psst", "/who", "/help", "/quit", "/me waves"):
        run_line(line, handlers)
    assert seen == [("say", "hi"), ("msg", "psst"), ("who", ""), ("help", ""), ("quit", ""),
                    ("say", "/me waves")]
    with pytest.raises(CommandError):
        run_line("/dance", handlers)


# --- the teacher's typed commands (commands.py) -----------------------------------

@pytest.mark.parametrize("line, frame", [
    ("/mute amy", {"action": "mute", "name": "amy"}),
    ("/UNMUTE amy", {"action": "unmute", "name": "amy"}),
    ("/lock", {"action": "lock"}),
    ("/unlock", {"action": "unlock"}),
    ("/slow 30", {"action": "slow", "seconds": 30}),
    ("/slow off", {"action": "slow", "seconds": 0}),
    ("/private off", {"action": "private", "allowed": False}),
    ("/private On", {"action": "private", "allowed": True}),
    ("/clear", {"action": "clear"}),
    ("/lower amy", {"action": "lower", "name": "amy"}),
    ("/kick bob", {"action": "kick", "name": "bob"}),
    ("/kick bob  shouting in class ", {"action": "kick", "name": "bob",
                                       "reason": "shouting in class"}),
    ("/say Pens down in 5 minutes", {"action": "announce", "text": "Pens down in 5 minutes"}),
    ("/hands down", {"action": "lower_all"}),
    ("/HANDS Down", {"action": "lower_all"}),
])
def test_a_teachers_typed_command_is_its_control_frame(line, frame):
    sent = []
    run_line(line, {"control": lambda command: sent.append(control_frame(command))},
             teacher=True)
    assert sent == [dict(frame, type="control")]


@pytest.mark.parametrize("line, why", [
    ("/slow fast", "Usage: /slow SECONDS (0 to 3600) or /slow off"),
    ("/slow 3601", "Usage: /slow SECONDS (0 to 3600) or /slow off"),
    ("/private maybe", "Usage: /private off or /private on"),
    ("/mute", "Usage: /mute NAME"), ("/mute amy bob", "Usage: /mute NAME"),
    ("/lock now", "Usage: /lock"), ("/kick", "Usage: /kick NAME [reason]"),
    ("/say", "Usage: /say TEXT"), ("/lower", "Usage: /lower NAME"),
    ("/hands all", "Usage: /hands to list the raised hands, /hands down to lower them all"),
    ("/delete 12", "right-click the message in the teacher's window"),
])
def test_a_teachers_usage_error_is_said_and_nothing_is_handled(line, why):
    with pytest.raises(CommandError) as caught:
        run_line(line, {}, teacher=True)  # no handler runs: the line is refused first
    assert why in str(caught.value)


def test_a_student_typing_a_teachers_command_is_told_and_sends_nothing():
    for word in ("mute amy", "lock", "slow 5", "hands", "hands down", "say hi", "delete 3",
                 "kick bob"):
        with pytest.raises(CommandError) as caught:
            run_line("/" + word, {"control": pytest.fail, "hands": pytest.fail})
        assert str(caught.value).startswith("Only the teacher can use /%s." % word.split()[0])
    assert parse_line("//lock").text == "/lock"  # said to the room, as the words suggest


def test_a_teachers_help_lists_the_students_commands_that_apply_and_the_teachers():
    words = teacher_help()
    students, teachers = words.split("Teacher commands:\n")
    usages = [row.split()[0] for row in students.splitlines()[1:]]
    assert usages == ["text", "/me", "/msg", "/who", "/help", "/quit", "//text"]  # no /hand
    assert [row.split()[0] for row in teachers.splitlines()[:-1]] == [
        "/kick", "/say", "/mute", "/unmute", "/lock", "/unlock", "/slow", "/private",
        "/clear", "/hands", "/lower"]
    assert "right-click it" in teachers.splitlines()[-1]
    assert "/quit            stop the room" in teacher_help("stop the room for everyone")
    assert "/hand " in HELP_TEXT and "Teacher commands" not in HELP_TEXT  # a student's
