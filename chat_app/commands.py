"""The slash commands people type, parsed the same way by every client.

`parse_line` turns one typed line into a Command; the caller decides what
each command does (the server's text sessions use it).  The two clients
share `run_line`, which hands each Command to the client's handler for its
kind, so neither client has a chain of ifs on command kinds.  Nothing here
does I/O.
"""

from collections import namedtuple

# kind is one of KINDS; text and target may be empty (a hand's text is "up" or "down").
Command = namedtuple("Command", "kind target text")
KINDS = ("say", "msg", "who", "help", "quit", "hand")

HELP_TEXT = """\
Commands:
  text             send text to everyone in the room
  /me waves        send an action, shown as: * yourname waves
  /msg NAME text   send a private message that only NAME sees
  /who             list who is in the room
  /hand            raise your hand: the teacher sees it (/hand down lowers it)
  /help            show this help
  /quit            leave the room
  //text           send a line that starts with '/'"""


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


def hand_frame(command):
    """Return the hand frame for a hand Command."""
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


def run_line(line, handlers):
    """Parse a typed line and call handlers[kind](command); return what it returns.

    `handlers` maps the kinds in KINDS to functions of the Command.  A
    line that cannot be understood, or a kind the client has no handler
    for, raises CommandError.
    """
    command = parse_line(line)
    handler = handlers.get(command.kind)
    if handler is None:  # a client older than the command
        raise CommandError("This program cannot do /%s; type /help for what it can do."
                           % command.kind)
    return handler(command)
