"""The slash commands people type, parsed the same way by every client.

`parse_line` turns one typed line into a Command; the caller decides what
each command does (the server's text sessions use it).  The two clients
share `run_line`, which hands each Command to the client's handler for its
kind, so neither client has a chain of ifs on command kinds.  A client
joined as a teacher also takes the teacher's commands (TEACHER_COMMANDS,
the words the server's console shows too): most become the `control`
frames of docs/protocol.md ("The teacher's room"), built by control_frame.
Nothing here does I/O.
"""

from collections import namedtuple

from .protocol import MAX_SLOW_SECONDS, counted

# kind is one of KINDS; text and target may be empty (a hand's text is "up" or "down").
Command = namedtuple("Command", "kind target text")
KINDS = ("say", "msg", "who", "help", "quit", "hand")

# What a person can type in a client, as /help lists it: (usage, meaning).
STUDENT_COMMANDS = (
    ("text", "send text to everyone in the room"),
    ("/me waves", "send an action, shown as: * yourname waves"),
    ("/msg NAME text", "send a private message that only NAME sees"),
    ("/who", "list who is in the room"),
    ("/hand", "raise your hand: the teacher sees it (/hand down lowers it)"),
    ("/help", "show this help"),
    ("/quit", "leave the room"),
    ("//text", "send a line that starts with '/'"),
)

# The student's commands that are no teacher's (a teacher raises no hand).
STUDENTS_ONLY = ("/hand",)


def help_text(title, rows):
    """Return a title and (usage, meaning) rows as aligned columns."""
    width = max(len(usage) for usage, _ in rows) + 3
    return "\n".join([title] + ["  %-*s%s" % (width, usage, meaning) for usage, meaning in rows])


HELP_TEXT = help_text("Commands:", STUDENT_COMMANDS)


class CommandError(ValueError):
    """A typed line could not be understood; str(error) says why."""


def _msg(rest):
    target, _, text = rest.strip().partition(" ")
    if not target or not text.strip():
        raise CommandError("Usage: /msg NAME text  (for example: /msg bob see you at 3)")
    return Command("msg", target, text.strip())


def _action(rest):
    if not rest.strip():
        raise CommandError("Usage: /me action  (for example: /me waves)")
    return Command("say", "", "/me " + rest.strip())


HAND_USAGE = "Usage: /hand to raise your hand, /hand down to lower it"

# What may follow /hand, and the hand's position it asks for.
HAND_WORDS = {"": "up", "up": "up", "down": "down"}


def _hand(rest):
    position = HAND_WORDS.get(rest.strip().lower())
    if position is None:
        raise CommandError(HAND_USAGE)
    return Command("hand", "", position)


def hand_command_frame(command):
    """Return the hand frame a /hand Command sends: the sender's own hand up or down.

    (protocol.hand_frame is the server's: whose hand moved, and when.)
    """
    return {"type": "hand", "up": command.text == "up"}


def _no_argument(kind):
    return lambda rest: Command(kind, "", "")


COMMANDS = {
    "/msg": _msg,
    "/me": _action,
    "/who": _no_argument("who"),
    "/help": _no_argument("help"),
    "/quit": _no_argument("quit"),
    "/hand": _hand,
}


def say_frame(command):
    """Return the say frame for a say or msg Command."""
    frame = {"type": "say", "text": command.text}
    if command.kind == "msg":
        frame["to"] = command.target
    return frame


def parse_line(line):
    """Return the Command for one typed line; raise CommandError if unknown."""
    if line.startswith("//"):
        return Command("say", "", line[1:])
    if not line.startswith("/"):
        return Command("say", "", line)
    word, _, rest = line.partition(" ")
    handler = COMMANDS.get(word.lower())
    if handler is None:
        raise CommandError(
            "Unknown command %s. Type /help for the list of commands." % word[:40]
        )
    return handler(rest)


def run_line(line, handlers, teacher=False):
    """Parse a typed line and call handlers[kind](command); return what it returns.

    `handlers` maps the kinds in KINDS (and, for a `teacher`, TEACHER_KINDS)
    to functions of the Command.  A line that cannot be understood, or a
    kind the client has no handler for, raises CommandError.
    """
    command = parse_client_line(line, teacher)
    handler = handlers.get(command.kind)
    if handler is None:  # a client older than the command
        raise CommandError("This program cannot do /%s; type /help for what it can do."
                           % command.kind)
    return handler(command)


def parse_client_line(line, teacher=False):
    """Return the Command for a line typed in a client: parse_line's, or a teacher's.

    A teacher's command typed by a student is refused with words saying
    so, and nothing is sent.
    """
    if line.startswith("/") and not line.startswith("//"):
        word, _, rest = line[1:].partition(" ")
        parse = TEACHER_TYPED.get(word.lower())
        if parse is not None:
            if not teacher:
                raise CommandError(ONLY_TEACHER % word.lower())
            return parse(rest.strip())
    return parse_line(line)


# --- the teacher's commands -------------------------------------------------------

# The teacher's commands that the server's console and a teacher's client
# both take, in the order /help lists them: (name, usage, meaning).  The
# console adds its own (/who, /quit, /help: teacher_console.COMMANDS).
TEACHER_COMMANDS = (
    ("kick", "/kick NAME [reason]", "remove someone from the room (they may join again)"),
    ("say", "/say TEXT", "an announcement, shown prominently to everyone and kept in history"),
    ("mute", "/mute NAME", "refuse NAME's messages to the room (not to a teacher)"),
    ("unmute", "/unmute NAME", "let NAME write to the room again"),
    ("lock", "/lock", "only teachers write to the room, until /unlock"),
    ("unlock", "/unlock", "everyone may write to the room again"),
    ("slow", "/slow SECONDS|off", "one room message per student per SECONDS"),
    ("private", "/private off|on", "private messages between students off or on"),
    ("delete", "/delete ID", "remove message #ID from every window and history"),
    ("clear", "/clear", "empty the conversation for everyone"),
    ("hands", "/hands [down]", "the raised hands, in order, with the time; /hands down "
                               "lowers them all"),
    ("lower", "/lower NAME", "lower NAME's raised hand"),
)

# What "Usage:" says for each teacher's command.
USAGES = {name: usage for name, usage, _ in TEACHER_COMMANDS}
USAGES["slow"] = "/slow SECONDS (0 to %d) or /slow off" % MAX_SLOW_SECONDS
USAGES["private"] = "/private off or /private on"
USAGES["hands"] = "/hands to list the raised hands, /hands down to lower them all"

# What follows /hands to lower every raised hand at once (control lower_all):
# /hands takes no name, so no student's name can be mistaken for it.
HANDS_DOWN = "down"

# What /slow and /private take besides a number: the control's value.
SWITCH_WORDS = {"off": False, "on": True}

# The kinds of Command only a teacher's line gives: a control frame to send,
# and the raised hands to show.
TEACHER_KINDS = ("control", "hands")

# Said to a student who types a teacher's command (nothing is sent).
ONLY_TEACHER = ("Only the teacher can use /%s. To send a line that starts with '/', "
                "type '//' first; /help lists your commands.")

# The teacher's commands a client does not send: a client shows no message ids.
NOT_TYPED = ("delete",)

# Said when a teacher types /delete in a client: a client shows no message ids.
DELETE_IN_WINDOW = ("Messages are not deleted by typing here, since the conversation shows "
                    "no message numbers: right-click the message in the teacher's window "
                    "and choose Delete (or type /delete ID at the server's console, which "
                    "shows the numbers).")

# What /hands says, in the console and in a teacher's client.
HANDS_WORDS = {
    "none": "No hand is up.",
    "title": "%s up, first raised first:",
    "row": "  %d. %s  since %s",
    "after": "Type /lower NAME once you have helped them, or /hands down to lower them all.",
}


def hands_text(rows, after=HANDS_WORDS["after"]):
    """Return the raised hands in words: rows of (name, since when), first raised first."""
    if not rows:
        return HANDS_WORDS["none"]
    lines = [HANDS_WORDS["title"] % counted(len(rows), "hand")]
    lines += [HANDS_WORDS["row"] % (number, name, since)
              for number, (name, since) in enumerate(rows, 1)]
    return "\n".join(lines + [after])


def teacher_help(quit_meaning=None):
    """Return /help for a teacher's client: the students' commands that apply, then the
    teacher's.  `quit_meaning`: what /quit does there, when it does more than leave."""
    rows = [(usage, quit_meaning if usage == "/quit" and quit_meaning else meaning)
            for usage, meaning in STUDENT_COMMANDS if usage not in STUDENTS_ONLY]
    teachers = [(usage, meaning) for name, usage, meaning in TEACHER_COMMANDS
                if name not in NOT_TYPED]
    return "\n".join([help_text("Commands:", rows),
                      help_text("Teacher commands:", teachers),
                      "To delete a message, right-click it in the teacher's window and "
                      "choose Delete."])


# The fields of a rule command's control frame, from what follows the command
# (the server's console sends the same frames); ValueError: the usage is shown.

def _name(rest):
    if not rest or " " in rest:
        raise ValueError(rest)
    return {"name": rest}


def _nothing(rest):
    if rest:
        raise ValueError(rest)
    return {}


def _seconds(rest):
    seconds = 0 if rest.lower() == "off" else int(rest)  # ValueError: the usage is shown
    return {"seconds": seconds}


def _switch(rest):
    if rest.lower() not in SWITCH_WORDS:
        raise ValueError(rest)
    return {"allowed": SWITCH_WORDS[rest.lower()]}


def _message_id(rest):
    return {"id": int(rest.lstrip("#"))}


def _hands_down(rest):
    if rest.lower() != HANDS_DOWN:
        raise ValueError(rest)
    return {}


# The rule commands: what each typed rest becomes in a control frame (the
# action is the command's name).
CONTROL_FIELDS = {
    "mute": _name, "unmute": _name, "lock": _nothing, "unlock": _nothing,
    "slow": _seconds, "private": _switch, "delete": _message_id, "clear": _nothing,
    "lower": _name,
}


def _slow_in_range(rest):
    """A client checks the range too, so that the typed line is kept when it is out."""
    fields = _seconds(rest)
    if not 0 <= fields["seconds"] <= MAX_SLOW_SECONDS:
        raise ValueError(rest)
    return fields


def _kick(rest):
    name, _, reason = rest.partition(" ")
    if not name:
        raise ValueError(rest)
    return {"name": name, "reason": reason.strip()} if reason.strip() else {"name": name}


def _announcement(rest):
    if not rest:
        raise ValueError(rest)
    return {"text": rest}


# The teacher's commands a client sends as control frames: command -> (the
# control's action, the fields from what follows the command).  /delete is
# not one: a client shows no message ids (DELETE_IN_WINDOW).
TYPED_CONTROLS = {name: (name, fields) for name, fields in CONTROL_FIELDS.items()
                  if name not in NOT_TYPED}
TYPED_CONTROLS.update(slow=("slow", _slow_in_range), kick=("kick", _kick),
                      say=("announce", _announcement), hands=("lower_all", _hands_down))


def control_frame(command):
    """Return the control frame for a control Command; CommandError shows its usage."""
    action, fields = TYPED_CONTROLS[command.target]
    try:
        values = fields(command.text)
    except ValueError:
        raise CommandError("Usage: " + USAGES[command.target]) from None
    frame = {"type": "control", "action": action}
    frame.update(values)
    return frame


def _control(name):
    def parse(rest):
        command = Command("control", name, rest)
        control_frame(command)  # a usage error is said now, before anything is done
        return command
    return parse


def _delete(rest):
    raise CommandError(DELETE_IN_WINDOW)


def _hands(rest):
    """/hands lists the raised hands; /hands down lowers them all (a control)."""
    return _control("hands")(rest) if rest else Command("hands", "", "")


# The teacher's commands a client takes: command -> its parser (rest -> Command).
TEACHER_TYPED = {name: _control(name) for name in TYPED_CONTROLS}
TEACHER_TYPED.update(hands=_hands, delete=_delete)
