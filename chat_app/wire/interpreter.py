"""How people start chat.pyz on their kind of computer: every command the program prints.

Linux lab machines and macOS have `python3`, and often no `python` at all;
on Windows the python.org installer puts the `py` launcher on the PATH,
while `python3` there may only open the Microsoft Store.  A line read on
this computer (the server's advice to the teacher, `find`, the client's
and `teach`'s messages) names this computer's interpreter; a line read on
students' computers of unknown kind (the banner's students' line, the
`tls_required` error any client may get) names both.  The platform is
looked up at each call, so tests can set sys.platform.

Nothing from chat_app is imported here: protocol.py, finder.py, server.py
and the clients all import this module.
"""

import sys

PROGRAM = "chat.pyz"

# The interpreter's command for each kind of computer (sys.platform).
WINDOWS_PYTHON = "py"
POSIX_PYTHON = "python3"

# Platforms to name in a line read on any kind of computer.
POSIX = "linux"
WINDOWS = "win32"


def is_windows(platform=None):
    """Tell whether `platform` (sys.platform by default) is Windows."""
    return (sys.platform if platform is None else platform).startswith("win")


def python(platform=None):
    """Return the interpreter's command on this kind of computer: python3, or py on Windows."""
    return WINDOWS_PYTHON if is_windows(platform) else POSIX_PYTHON


def command(args="", platform=None):
    """Return the command that runs chat.pyz with `args` here: 'python3 chat.pyz client'."""
    return " ".join(part for part in (python(platform), PROGRAM, args) if part)


def for_anyone(args=""):
    """Return the command for any kind of computer: 'python3 chat.pyz ARGS' (Windows: 'py ...')."""
    return "'%s' (on Windows: '%s')" % (command(args, POSIX), command(args, WINDOWS))


def other_kind(platform=None):
    """Return the line that tells students on the other kind of computer what to type instead."""
    other = POSIX if is_windows(platform) else WINDOWS
    kind = "Linux and macOS" if other == POSIX else "Windows"
    return "On %s, students type %s instead of %s." % (kind, python(other), python(platform))
