"""The slash commands (commands.py) on their own: a typed line becomes a Command, each
kind goes to its handler, and a teacher's commands become control frames."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire.commands import (
    DELETE_IN_WINDOW,
    HAND_USAGE,
    HELP_TEXT,
    KINDS,
    ONLY_TEACHER,
    STUDENT_COMMANDS,
    TEACHER_COMMANDS,
    TEACHER_KINDS,
    Command,
    CommandError,
    control_frame,
    hand_command_frame,
    hands_text,
    parse_client_line,
    parse_line,
    run_line,
    say_frame,
    teacher_help,
)
from chat_app.wire.protocol import MAX_SLOW_SECONDS, decode_client_frame, encode


def sent(frame):
    """Return a client frame as the server decodes it: what it would receive."""
    return decode_client_frame(encode(frame).rstrip(b"\n"))


# --- a student's line ---------------------------------------------------------

@pytest.mark.parametrize("line, command", [
    ("hello", Command("say", "", "hello")),
    ("//etc/hosts is a file", Command("say", "", "/etc/hosts is a file")),
    ("/me waves", Command("say", "", "/me waves")),
    ("/ME  waves twice ", Command("say", "", "/me waves twice")),
    ("/msg bob see you at 3", Command("msg", "bob", "see you at 3")),
    ("/who", Command("who", "", "")),
    ("/HELP", Command("help", "", "")),
    ("/quit", Command("quit", "", "")),
    ("/hand", Command("hand", "", "up")),
    ("/hand UP", Command("hand", "", "up")),
    ("/hand down", Command("hand", "", "down")),
])
def test_a_typed_line_becomes_its_command(line, command):
    assert parse_line(line) == command
    assert command.kind in KINDS


@pytest.mark.parametrize("line, words", [
    ("/msg bob", "Usage: /msg NAME text"),
    ("/msg", "Usage: /msg NAME text"),
    ("/me", "Usage: /me action"),
    ("/hand sideways", HAND_USAGE),
    ("/dance now", "Unknown command /dance. Type /help"),
    ("/" + "x" * 100, "Unknown command /" + "x" * 39 + ". Type"),  # named, cut short
])
def test_a_line_that_is_no_command_says_why(line, words):
    with pytest.raises(CommandError) as refused:
        parse_line(line)
    assert str(refused.value).startswith(words)


def test_say_msg_and_hand_become_the_frames_the_server_takes():
    assert sent(say_frame(parse_line("hi all"))) == {"type": "say", "text": "hi all"}
    assert sent(say_frame(parse_line("/msg bob hi"))) == {"type": "say", "text": "hi",
                                                          "to": "bob"}
    assert sent(hand_command_frame(parse_line("/hand"))) == {"type": "hand", "up": True}
    assert sent(hand_command_frame(parse_line("/hand down"))) == {"type": "hand", "up": False}


# --- run_line: each kind to its handler ------------------------------------------

def test_run_line_hands_each_command_to_the_handler_for_its_kind():
    seen = []
    handlers = {kind: (lambda command, kind=kind: seen.append((kind, command)) or kind)
                for kind in KINDS}
    assert run_line("/who", handlers) == "who"
    assert run_line("hello", handlers) == "say"
    assert run_line("/hand down", handlers) == "hand"
    assert seen == [("who", Command("who", "", "")), ("say", Command("say", "", "hello")),
                    ("hand", Command("hand", "", "down"))]


def test_a_kind_the_client_has_no_handler_for_is_said_not_dropped():
    with pytest.raises(CommandError, match=r"This program cannot do /hand"):
        run_line("/hand", {"say": print})


def test_a_teachers_command_from_a_student_is_refused_and_nothing_is_sent():
    with pytest.raises(CommandError) as refused:
        run_line("/lock", {"control": pytest.fail, "say": pytest.fail})
    assert str(refused.value) == ONLY_TEACHER % "lock"
    assert parse_client_line("//lock") == Command("say", "", "/lock")  # the way to say it


# --- the teacher's commands ----------------------------------------------------

@pytest.mark.parametrize("line, frame", [
    ("/kick bob", {"action": "kick", "name": "bob"}),
    ("/kick bob stop spamming ", {"action": "kick", "name": "bob", "reason": "stop spamming"}),
    ("/say Quiz at ten", {"action": "announce", "text": "Quiz at ten"}),
    ("/mute bob", {"action": "mute", "name": "bob"}),
    ("/unmute bob", {"action": "unmute", "name": "bob"}),
    ("/lock", {"action": "lock"}),
    ("/unlock", {"action": "unlock"}),
    ("/slow 30", {"action": "slow", "seconds": 30}),
    ("/slow off", {"action": "slow", "seconds": 0}),
    ("/private OFF", {"action": "private", "allowed": False}),
    ("/private on", {"action": "private", "allowed": True}),
    ("/clear", {"action": "clear"}),
    ("/hands down", {"action": "lower_all"}),
    ("/lower amy", {"action": "lower", "name": "amy"}),
])
def test_a_teachers_line_becomes_the_control_frame_the_server_takes(line, frame):
    command = parse_client_line(line, teacher=True)
    assert command.kind == "control" and command.kind in TEACHER_KINDS
    expected = {"type": "control"}
    expected.update(frame)
    assert control_frame(command) == expected
    assert sent(control_frame(command)) == expected


@pytest.mark.parametrize("line, usage", [
    ("/kick", "Usage: /kick NAME [reason]"),
    ("/mute two names", "Usage: /mute NAME"),
    ("/lock now", "Usage: /lock"),
    ("/slow soon", "Usage: /slow SECONDS (0 to %d) or /slow off" % MAX_SLOW_SECONDS),
    ("/slow %d" % (MAX_SLOW_SECONDS + 1), "Usage: /slow SECONDS"),
    ("/slow -1", "Usage: /slow SECONDS"),
    ("/private maybe", "Usage: /private off or /private on"),
    ("/hands up", "Usage: /hands to list the raised hands, /hands down"),
    ("/say", "Usage: /say TEXT"),
])
def test_a_teachers_command_typed_wrong_shows_its_usage_at_once(line, usage):
    with pytest.raises(CommandError) as refused:
        parse_client_line(line, teacher=True)
    assert str(refused.value).startswith(usage)


def test_hands_alone_lists_and_delete_points_to_the_window():
    assert parse_client_line("/hands", teacher=True) == Command("hands", "", "")
    with pytest.raises(CommandError) as refused:
        parse_client_line("/delete 7", teacher=True)
    assert str(refused.value) == DELETE_IN_WINDOW


def test_the_raised_hands_in_words():
    assert hands_text([]) == "No hand is up."
    assert hands_text([("amy", "09:01"), ("bob", "09:03")]).split("\n") == [
        "2 hands up, first raised first:", "  1. amy  since 09:01", "  2. bob  since 09:03",
        "Type /lower NAME once you have helped them, or /hands down to lower them all."]
    assert hands_text([("amy", "09:01")], after="").startswith("1 hand up,")


# --- help ------------------------------------------------------------------------

def test_help_lists_every_command_in_aligned_columns():
    rows = HELP_TEXT.split("\n")
    assert rows[0] == "Commands:" and len(rows) == 1 + len(STUDENT_COMMANDS)
    starts = {row.index(meaning) for row, (_, meaning) in zip(rows[1:], STUDENT_COMMANDS)}
    assert len(starts) == 1  # every meaning in one column


def test_a_teachers_help_has_no_hand_and_no_delete_and_names_what_quit_does():
    text = teacher_help("leave and stop the server")
    assert "/hand " not in text and "/delete" not in text.split("To delete")[0]
    assert "/quit" in text and "leave and stop the server" in text
    assert all(usage in text for name, usage, _ in TEACHER_COMMANDS if name != "delete")
    assert "Teacher commands:" in text and "right-click it" in text


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
